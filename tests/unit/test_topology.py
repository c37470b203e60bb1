"""topology: quorum, ZooKeeper server lines, zk:// URLs, advertised addresses, role defaults."""

from __future__ import annotations

from typing import Any

import pytest

from pyinfra_mesos.topology import (
    Member,
    advertised_address,
    build_topology,
    marathon_url,
    marathon_urls,
    member_port,
    members,
    mesos_master_url,
    quorum,
    zk_url,
    zookeeper_server_lines,
)


@pytest.mark.parametrize("masters,expected", [(1, 1), (3, 2), (5, 3), (2, 2), (4, 3), (7, 4)])
def test_quorum_is_more_than_half(masters: int, expected: int) -> None:
    assert quorum(masters) == expected
    assert quorum(masters) * 2 > masters  # strictly more than half: never ceil(n/2)


def test_quorum_needs_a_master() -> None:
    with pytest.raises(ValueError):
        quorum(0)


def zk(name: str, ip: str, zid: Any) -> Member:
    return Member(name, ip, {"ip": ip, "zookeeper_id": zid})


def test_server_lines_ordered_by_id_not_inventory_order() -> None:
    nodes = [zk("c", "10.0.0.3", 3), zk("a", "10.0.0.1", 1), zk("b", "10.0.0.2", 2)]
    assert zookeeper_server_lines(nodes, 2888, 3888) == [
        "server.1=10.0.0.1:2888:3888",
        "server.2=10.0.0.2:2888:3888",
        "server.3=10.0.0.3:2888:3888",
    ]


def test_server_lines_sort_numerically_and_use_given_ports() -> None:
    nodes = [zk("x", "10.0.0.10", 10), zk("y", "10.0.0.2", 2)]
    assert zookeeper_server_lines(nodes, 2889, 3889) == [
        "server.2=10.0.0.2:2889:3889", "server.10=10.0.0.10:2889:3889"]


def test_every_member_keeps_its_own_id() -> None:
    """Not every myid = 1 (a standalone-in-disguise ensemble)."""
    lines = zookeeper_server_lines([zk(f"m{i}", f"10.0.0.{i}", i) for i in (1, 2, 3)], 2888, 3888)
    assert len({line.split("=")[0] for line in lines}) == 3


def test_zk_urls() -> None:
    nodes = [zk("a", "10.0.0.1", 1), zk("b", "10.0.0.2", 2), zk("c", "10.0.0.3", 3)]
    assert zk_url(nodes, "/mesos", 2181) == \
        "zk://10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181/mesos"
    assert zk_url(nodes, "marathon/", 2181) == \
        "zk://10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181/marathon"
    assert zk_url(nodes[:1], "/mesos", 2182) == "zk://10.0.0.1:2182/mesos"


def test_advertised_address_prefers_ip() -> None:
    assert advertised_address("m1.example", {"ip": "10.0.0.5"}) == "10.0.0.5"
    assert advertised_address("m1.example", {}) == "m1.example"
    assert advertised_address("m1.example", {"ip": ""}) == "m1.example"


@pytest.mark.parametrize("name", ["m1", "m1.example.internal", "10.1.2.3"])
def test_advertised_address_is_never_loopback(name: str) -> None:
    """Not derived from what the host resolves for itself (Debian: 127.0.1.1)."""
    for data in ({}, {"ip": "10.9.9.9"}):
        address = advertised_address(name, data)
        assert not address.startswith("127.")
        assert address in (name, data.get("ip"))


def test_members_carry_name_address_and_data() -> None:
    [m] = members([("m1", {"ip": "10.0.0.1", "zookeeper_id": 1})])
    assert (m.name, m.ip, m.zookeeper_id) == ("m1", "10.0.0.1", 1)


def test_roles_default_to_colocation() -> None:
    topo = build_topology({"masters": [("m1", {"ip": "10.0.0.1"})],
                           "agents": [("a1", {"ip": "10.0.0.2"})]})
    assert topo.zookeepers == topo.masters == topo.marathons
    assert topo.load_balancers == topo.agents
    assert topo.registries == ()
    assert topo.roles_of("m1") == {"master", "zookeeper", "marathon"}
    assert topo.roles_of("a1") == {"agent", "load_balancer"}


def test_explicit_groups_override_colocation() -> None:
    topo = build_topology({"masters": [("m1", {})], "agents": [("a1", {})],
                           "zookeepers": [("z1", {"zookeeper_id": 1})],
                           "load_balancers": [("lb1", {})], "registry": [("r1", {})]})
    assert [m.name for m in topo.zookeepers] == ["z1"]
    assert [m.name for m in topo.marathons] == ["m1"]
    assert [m.name for m in topo.load_balancers] == ["lb1"]
    assert topo.roles_of("m1") == {"master", "marathon"}
    assert [m.name for m in topo.all_members] == ["m1", "z1", "a1", "lb1", "r1"]


def test_all_members_lists_a_host_once() -> None:
    topo = build_topology({"masters": [("m1", {})], "agents": [("m1", {}), ("a1", {})]})
    assert [m.name for m in topo.all_members] == ["m1", "a1"]


def marathon(name: str, ip: str, port: int) -> Member:
    return Member(name, ip, {"ip": ip, "marathon_http_port": port})


def test_marathon_urls_use_each_members_own_port_in_inventory_order() -> None:
    nodes = [marathon("m1", "10.0.0.1", 8080), marathon("m2", "10.0.0.2", 8081)]
    assert marathon_urls(nodes) == ["http://10.0.0.1:8080", "http://10.0.0.2:8081"]


def test_marathon_urls_put_the_clients_own_host_first_on_loopback() -> None:
    """The apps deploy runs on one Marathon host: its own instance first, on 127.0.0.1, with
    its own port (not the client host's port applied to every instance)."""
    nodes = [marathon("m1", "10.0.0.1", 8080), marathon("m2", "10.0.0.2", 8081),
             marathon("m3", "10.0.0.3", 8082)]
    assert marathon_urls(nodes, local="m2") == [
        "http://127.0.0.1:8081", "http://10.0.0.1:8080", "http://10.0.0.3:8082"]
    assert marathon_url(nodes[0], local=True) == "http://127.0.0.1:8080"


def test_member_port_has_no_default_of_its_own() -> None:
    """Defaults live in group_data/all.py, which the inventory loaders merge; a member
    without the key is a programming error, not a silent 8080."""
    with pytest.raises(KeyError):
        member_port(Member("m1", "10.0.0.1", {}), "marathon_http_port")
    assert member_port(marathon("m1", "10.0.0.1", 8090), "marathon_http_port") == 8090


def test_mesos_master_url_is_the_members_address_and_its_own_port() -> None:
    master = Member("m1", "10.0.0.1", {"mesos_master_port": 5055})
    assert mesos_master_url(master) == "http://10.0.0.1:5055"
    with pytest.raises(KeyError):
        mesos_master_url(Member("m2", "10.0.0.2", {}))
