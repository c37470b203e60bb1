"""registry_push_port: the writable registry instance's port on the registry host's 127.0.0.1.

It is checked like every port (the schema), kept clear of the ports the same host binds
(validation's collision check), reserved from HAProxy (a load balancer's wildcard bind of it would
fail), and opened by no firewall rule (loopback is accepted anyway; members have no business
reaching it).
"""

from __future__ import annotations

from typing import Any

import pytest

from pyinfra_mesos import firewall
from pyinfra_mesos.inventory_data import default_data
from pyinfra_mesos.topology import Topology, build_topology
from pyinfra_mesos.validation import loopback_ports, validate

SOURCE = "inventory/test.py"


def cluster(registry_data: dict[str, Any] | None = None, registry: bool = True) -> Topology:
    """Three masters, two agents; m1 is also the registry host, with `registry_data` on it."""
    extra = registry_data or {}
    masters = [(f"m{i}", {**default_data(), "ip": f"10.0.0.{10 + i}", "zookeeper_id": i,
                          **(extra if i == 1 else {})}) for i in range(1, 4)]
    groups: dict[str, Any] = {
        "masters": masters,
        "agents": [(f"a{i}", {**default_data(), "ip": f"10.0.1.{10 + i}"}) for i in (1, 2)]}
    if registry:
        groups["registry"] = [masters[0]]
    return build_topology(groups)


def problems_for(field: str, topo: Topology) -> list[str]:
    return [p.format() for p in validate(topo, SOURCE) if p.field == field]


def test_default_push_port_is_5001_and_valid() -> None:
    assert default_data()["registry_push_port"] == 5001
    topo = cluster()
    assert problems_for("registry_push_port", topo) == []
    m1 = topo.registries[0]
    assert loopback_ports(m1, topo) == [
        ("registry_push_port", "registry push port (127.0.0.1)", (5001, 5001))]


@pytest.mark.parametrize("value", ["5001", 0, 70000, True, 5001.0])
def test_push_port_must_be_a_port_number(value: Any) -> None:
    found = problems_for("registry_push_port", cluster({"registry_push_port": value}))
    assert len(found) == 1, found
    assert found[0].startswith("error: m1: registry_push_port: ")
    assert "not a port number" in found[0]


@pytest.mark.parametrize(("value", "other"), [
    (5000, "registry port (registry_port)"),
    (5050, "Mesos master port (mesos_master_port)"),
    (2181, "ZooKeeper client port (zookeeper_client_port)"),
    (8080, "Marathon HTTP port (marathon_http_port)"),
])
def test_push_port_collides_with_a_port_of_the_same_host(value: int, other: str) -> None:
    found = problems_for("registry_push_port", cluster({"registry_push_port": value}))
    assert found == [f"error: m1: registry_push_port: {value}: the registry push port "
                     f"(127.0.0.1) collides with the {other} on this host"], found


def test_push_port_only_matters_on_the_registry_host() -> None:
    # Without a registry group nothing binds it: even a clashing value is nobody's problem.
    topo = cluster({"registry_push_port": 5050}, registry=False)
    assert problems_for("registry_push_port", topo) == []
    assert all(loopback_ports(m, topo) == [] for m in topo.all_members)


def test_push_port_is_reserved_from_haproxy_but_not_opened_by_the_firewall() -> None:
    topo = cluster({"registry_push_port": 5123})
    assert firewall.reserved_service_ports(topo).split() == [
        "22", "2181", "2888", "3888", "5000", "5050-5051", "5123", "8080", "31000-32000"]
    ports = firewall.cluster_tcp_ports(topo)
    assert not any(lo <= 5123 <= hi for lo, hi in ports), ports
    assert any(lo <= 5000 <= hi for lo, hi in ports), ports  # the read-only instance is


def test_marathon_service_ports_must_not_cover_the_push_port() -> None:
    topo = cluster({"registry_push_port": 10500})
    found = [p for p in problems_for("marathon_service_port_range", topo) if "10500" in p]
    assert found and "registry push port (127.0.0.1)" in found[0], found
