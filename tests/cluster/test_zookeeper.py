"""ZooKeeper: every member serves, knows its id, and the members form ONE ensemble."""

from __future__ import annotations

import shlex
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


# The CLI Debian's zookeeper package ships; it runs one command and exits when given one.
ZK_CLI = "/usr/share/zookeeper/bin/zkCli.sh"
# An ephemeral child: should a write wrongly succeed, it goes with the CLI's session.
ACL_PROBE_NODE = "pyinfra-mesos-acl-probe"


def acl_protected_paths(member: Member) -> list[str]:
    """The znodes an unauthenticated client must not write under, from the host's data: Mesos'
    (EVERYONE_READ_CREATOR_ALL) and Marathon's (CREATOR_ALL) paths; none with zookeeper_acls
    off, where nothing about ACLs is asserted."""
    if not data_value(member, "zookeeper_acls", True):
        return []
    return [str(data_value(member, "zookeeper_mesos_path", "/mesos")),
            str(data_value(member, "zookeeper_marathon_path", "/marathon"))]


def unauthenticated_create_command(port: int, path: str) -> str:
    """zkCli creating an ephemeral child of `path` with no `addauth`: no secret on the line."""
    child = f"{path.rstrip('/')}/{ACL_PROBE_NODE}"
    return f"{ZK_CLI} -server 127.0.0.1:{port} create -e {shlex.quote(child)} probe 2>&1"


def refusal_problem(name: str, path: str, output: str) -> str | None:
    """None when zkCli reports NoAuth ("Insufficient permission : <node>", ZooKeeper 3.8
    CliWrapperException), else what happened instead."""
    if "Insufficient permission" in output or "NoAuth" in output:
        return None
    if "Node does not exist" in output:
        return f"{name}: {path} does not exist (Mesos/Marathon never wrote their state?)"
    return (f"{name}: an unauthenticated create under {path} was not refused with NoAuth: "
            f"{output.strip()[-300:]!r}")


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


def test_unauthenticated_writes_are_refused(zookeeper: Member,
                                            testinfra_host_for: Callable[[str], Any]) -> None:
    """With zookeeper_acls on, a client without the digest cannot create a child under /mesos
    or /marathon (NoAuth). The attempt carries no credentials, so none reach a command line."""
    host = testinfra_host_for(zookeeper.name)
    for path in acl_protected_paths(zookeeper):
        result = host.run(unauthenticated_create_command(client_port(zookeeper), path))
        problem = refusal_problem(zookeeper.name, path, f"{result.stdout}{result.stderr}")
        assert problem is None, problem
