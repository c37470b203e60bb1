"""ZooKeeper: every member serves, knows its id, and the members form ONE ensemble."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyinfra_mesos.topology import Member, Topology

from .conftest import (
    data_value,
    ensemble_problem,
    parse_srvr,
    probe,
    run_on,
    service_problem,
    wait_for,
    wait_listening,
    zookeeper_srvr,
)


def client_port(member: Member) -> int:
    return int(data_value(member, "zookeeper_client_port", 2181))


def test_zookeeper_service(zookeeper: Member, testinfra_host_for: Callable[[str], Any]) -> None:
    host = testinfra_host_for(zookeeper.name)
    unit = data_value(zookeeper, "zookeeper_service", "zookeeper")
    problem = service_problem(host, zookeeper.name, unit)
    assert problem is None, problem


def test_zookeeper_listens(zookeeper: Member, testinfra_host_for: Callable[[str], Any],
                           converge_timeout: float) -> None:
    problem = wait_listening(testinfra_host_for(zookeeper.name), zookeeper.name,
                             client_port(zookeeper), converge_timeout, what="client port")
    assert problem is None, problem


def test_zookeeper_myid_matches_inventory(zookeeper: Member,
                                          testinfra_host_for: Callable[[str], Any]) -> None:
    # A wrong or duplicated myid is how ensembles end up split or standalone (every myid = 1).
    host = testinfra_host_for(zookeeper.name)
    path = f"{data_value(zookeeper, 'zookeeper_data_dir', '/var/lib/zookeeper')}/myid"
    content = run_on(host, f"cat {path}", f"{zookeeper.name}: read {path}").strip()
    assert content == str(zookeeper.zookeeper_id), (
        f"{zookeeper.name}: {path} says {content!r}, the inventory's zookeeper_id is "
        f"{zookeeper.zookeeper_id!r}")


def test_zookeeper_ensemble_has_one_leader(cluster: Topology,
                                           testinfra_host_for: Callable[[str], Any],
                                           converge_timeout: float) -> None:
    """Exactly one `Mode: leader` and N-1 followers (`standalone` for a 1-node ensemble).

    `ruok` -> `imok` says nothing about the quorum; `srvr`'s Mode does.
    """

    def modes() -> str | None:
        found: dict[str, str | None] = {}
        for member in cluster.zookeepers:
            host = testinfra_host_for(member.name)
            answer = probe(lambda h=host, m=member: zookeeper_srvr(h, m.ip, client_port(m)))
            found[member.name] = (None if isinstance(answer, AssertionError)
                                  else parse_srvr(answer).get("Mode"))
        return ensemble_problem(found)

    problem = wait_for(modes, converge_timeout)
    assert problem is None, problem
