"""validate(): one test per refusal; each asserts the Problem names the host and the field."""

from __future__ import annotations

from typing import Any

import pytest

from pyinfra_mesos.agent_data import parse_ranges
from pyinfra_mesos.inventory_data import default_data
from pyinfra_mesos.problems import Problem, errors
from pyinfra_mesos.topology import Topology, build_topology
from pyinfra_mesos.validation import validate

SOURCE = "inventory/test.py"


def host(name: str, **data: Any) -> tuple[str, dict[str, Any]]:
    """A host as pyinfra would see it: group_data/all.py under the host's own data."""
    return name, {**default_data(), **data}


def masters(n: int = 3, **extra: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """m1..mN with ip and zookeeper_id; `extra={"m1": {...}}` adds data to one host."""
    return [host(f"m{i}", **{"ip": f"10.0.0.{10 + i}", "zookeeper_id": i,
                             **extra.get(f"m{i}", {})})
            for i in range(1, n + 1)]


def agents(n: int = 2, **extra: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [host(f"a{i}", **{"ip": f"10.0.0.{20 + i}", **extra.get(f"a{i}", {})})
            for i in range(1, n + 1)]


def topo(**groups: Any) -> Topology:
    groups.setdefault("masters", masters())
    groups.setdefault("agents", agents())
    return build_topology(groups)


def only(problems: list[Problem], where: str, field: str) -> Problem:
    """The single problem for (where, field), failing with the full list otherwise."""
    found = [p for p in problems if p.where == where and p.field == field]
    assert len(found) == 1, "\n".join(p.format() for p in problems)
    return found[0]


def test_good_cluster_has_no_problems() -> None:
    assert validate(topo(), SOURCE) == []


def test_single_master_is_fine() -> None:
    assert validate(topo(masters=masters(1)), SOURCE) == []


def test_no_masters() -> None:
    p = only(validate(topo(masters=[]), SOURCE), SOURCE, "masters")
    assert p.level == "error" and "no host" in p.message


@pytest.mark.parametrize("count", [2, 4])
def test_even_masters_refused_with_reason(count: int) -> None:
    p = only(validate(topo(masters=masters(count)), SOURCE), SOURCE, "masters")
    assert p.level == "error"
    assert "even" in p.message and "1, 3 or 5" in p.message and "m1" in p.message


def test_even_zookeepers_refused() -> None:
    zks = [host(f"zk{i}", ip=f"10.0.1.{i}", zookeeper_id=i) for i in range(1, 3)]
    p = only(validate(topo(zookeepers=zks), SOURCE), SOURCE, "zookeepers")
    assert p.level == "error" and "zk1, zk2" in p.message


def test_no_agents_is_a_warning() -> None:
    p = only(validate(topo(agents=[]), SOURCE), SOURCE, "agents")
    assert p.level == "warning"


def test_missing_zookeeper_id() -> None:
    ms = masters()
    del ms[1][1]["zookeeper_id"]
    p = only(validate(topo(masters=ms), SOURCE), "m2", "zookeeper_id")
    assert "missing" in p.message


def test_duplicate_zookeeper_id() -> None:
    p = only(validate(topo(masters=masters(m3={"zookeeper_id": 1})), SOURCE), "m3", "zookeeper_id")
    assert "m1" in p.message and "unique" in p.message


@pytest.mark.parametrize("bad", ["3", 3.0, True, None])
def test_zookeeper_id_not_int(bad: Any) -> None:
    ms = masters(m3={"zookeeper_id": bad})
    p = only(validate(topo(masters=ms), SOURCE), "m3", "zookeeper_id")
    assert p.level == "error"


@pytest.mark.parametrize("bad", [0, 256, -1])
def test_zookeeper_id_out_of_range(bad: int) -> None:
    p = only(validate(topo(masters=masters(m2={"zookeeper_id": bad})), SOURCE), "m2",
             "zookeeper_id")
    assert "1..255" in p.message


def test_zookeeper_ids_checked_on_explicit_zookeepers_group() -> None:
    zks = [host("zk1", ip="10.0.1.1", zookeeper_id=7), host("zk2", ip="10.0.1.2", zookeeper_id=7),
           host("zk3", ip="10.0.1.3", zookeeper_id=8)]
    ms = [host(f"m{i}", ip=f"10.0.0.{10 + i}") for i in (1, 2, 3)]  # no ids needed here
    problems = validate(topo(masters=ms, zookeepers=zks), SOURCE)
    assert only(problems, "zk2", "zookeeper_id")
    assert not [p for p in problems if p.where.startswith("m")]


@pytest.mark.parametrize("address", ["127.0.1.1", "127.0.0.1", "::1"])
def test_loopback_ip(address: str) -> None:
    p = only(validate(topo(masters=masters(m1={"ip": address})), SOURCE), "m1", "ip")
    assert "loopback" in p.message


def test_loopback_name_without_ip() -> None:
    p = only(validate(topo(agents=[*agents(), host("127.0.0.1")]), SOURCE), "127.0.0.1", "ip")
    assert "loopback" in p.message and "host name" in p.message


def test_localhost_name_without_ip() -> None:
    p = only(validate(topo(agents=[*agents(), host("localhost")]), SOURCE), "localhost", "ip")
    assert p.level == "error"


def test_dns_name_without_ip_is_refused_where_mesos_needs_an_address() -> None:
    # Mesos --ip and LIBPROCESS_IP take an address; libprocess refuses a name and exits.
    p = only(validate(topo(agents=[*agents(), host("agent-9.example.internal")]), SOURCE),
             "agent-9.example.internal", "ip")
    assert "IPv4 address" in p.message and "agent" in p.message


@pytest.mark.parametrize("address", ["224.0.0.1", "169.254.0.5", "255.255.255.255"])
def test_addresses_no_host_can_use_are_refused(address: str) -> None:
    p = only(validate(topo(agents=agents(a1={"ip": address})), SOURCE), "a1", "ip")
    assert "not a unicast address" in p.message


@pytest.mark.parametrize("address", ["10.0.0.300", "not an address", "0.0.0.0"])
def test_invalid_ip(address: str) -> None:
    p = only(validate(topo(agents=agents(a1={"ip": address})), SOURCE), "a1", "ip")
    assert p.level == "error"


def test_duplicate_ip() -> None:
    p = only(validate(topo(agents=agents(a2={"ip": "10.0.0.21"})), SOURCE), "a2", "ip")
    assert "a1" in p.message


def test_agent_also_master_is_a_warning() -> None:
    ms = masters()
    p = only(validate(topo(masters=ms, agents=[*agents(), ms[0]]), SOURCE), "m1", "groups")
    assert p.level == "warning"


def test_unknown_master_flag_with_suggestion() -> None:
    ms = masters(m1={"mesos_master_flags": {"work_dri": "/srv"}})
    p = only(validate(topo(masters=ms), SOURCE), "m1", "mesos_master_flags.work_dri")
    assert p.level == "error" and "'work_dir'" in p.message


def test_unknown_agent_flag_with_suggestion() -> None:
    ags = agents(a2={"mesos_agent_flags": {"containerizer": "docker"}})
    p = only(validate(topo(agents=ags), SOURCE), "a2", "mesos_agent_flags.containerizer")
    assert "'containerizers'" in p.message


def test_unknown_marathon_flag() -> None:
    ms = masters(m2={"marathon_flags": {"event_subscriber": "http_callback"}})
    p = only(validate(topo(masters=ms), SOURCE), "m2", "marathon_flags.event_subscriber")
    assert "Marathon" in p.message


def test_known_flags_pass() -> None:
    ms = masters(m1={"mesos_master_flags": {"max_agent_ping_timeouts": "10"},
                     "marathon_flags": {"disable_ha": "", "max_instances_per_offer": 5}})
    ags = agents(a1={"mesos_agent_flags": {"docker_stop_timeout": "30secs"}})
    assert validate(topo(masters=ms, agents=ags), SOURCE) == []


def test_flag_dict_not_a_dict() -> None:
    ags = agents(a1={"mesos_agent_flags": ["work_dir=/x"]})
    assert only(validate(topo(agents=ags), SOURCE), "a1", "mesos_agent_flags")


def test_marathon_toggle_with_value() -> None:
    ms = masters(m1={"marathon_flags": {"disable_ha": "true"}})
    p = only(validate(topo(masters=ms), SOURCE), "m1", "marathon_flags.disable_ha")
    assert '""' in p.message


def test_computed_agent_flag_override_names_the_key() -> None:
    ags = agents(a1={"mesos_agent_flags": {"work_dir": ""}})
    p = only(validate(topo(agents=ags), SOURCE), "a1", "mesos_agent_flags.work_dir")
    assert "mesos_agent_work_dir" in p.message


def test_empty_master_work_dir_from_group_data() -> None:
    ms = masters(m3={"mesos_master_work_dir": ""})
    p = only(validate(topo(masters=ms), SOURCE), "m3", "mesos_master_work_dir")
    assert "empty" in p.message


def test_missing_required_marathon_flag() -> None:
    ms = masters(m1={"marathon_flags": {"master": ""}})
    assert only(validate(topo(masters=ms), SOURCE), "m1", "marathon_flags.master")


def test_wrong_quorum_override() -> None:
    ms = masters(m1={"mesos_master_flags": {"quorum": "1"}})
    p = only(validate(topo(masters=ms), SOURCE), "m1", "mesos_master_flags.quorum")
    assert "must be 2" in p.message


def test_work_dir_in_tmp_is_an_error() -> None:
    ags = agents(a1={"mesos_agent_work_dir": "/tmp/mesos"})
    p = only(validate(topo(agents=ags), SOURCE), "a1", "mesos_agent_work_dir")
    assert p.level == "error" and "/tmp" in p.message


def test_zookeeper_admin_server_collides_with_marathon() -> None:
    ms = masters(m2={"zookeeper_admin_server": True})
    p = only(validate(topo(masters=ms), SOURCE), "m2", "zookeeper_admin_server")
    assert "8080" in p.message and "marathon_http_port" in p.message


def test_zookeeper_admin_server_alone_is_fine() -> None:
    zks = [host(f"zk{i}", ip=f"10.0.1.{i}", zookeeper_id=i, zookeeper_admin_server=True)
           for i in (1, 2, 3)]
    assert validate(topo(zookeepers=zks), SOURCE) == []


def test_zookeeper_port_collides_with_colocated_mesos_port() -> None:
    ms = masters(m1={"mesos_master_port": 2888})
    p = only(validate(topo(masters=ms), SOURCE), "m1", "mesos_master_port")
    assert "zookeeper_peer_port" in p.message


def test_marathon_port_collides_with_agent_on_shared_host() -> None:
    ms = masters(m1={"marathon_http_port": 5051})
    p = only(validate(topo(masters=ms, agents=[*agents(), ms[0]]), SOURCE), "m1",
             "marathon_http_port")
    assert "mesos_agent_port" in p.message


def test_bad_port_value() -> None:
    ms = masters(m1={"mesos_master_port": "50x"})
    assert only(validate(topo(masters=ms), SOURCE), "m1", "mesos_master_port")


def test_service_ports_overlap_agent_ports_resource() -> None:
    ags = agents(a2={"mesos_resources": {"cpus": 2, "ports": "[19000-21000]"}})
    p = only(validate(topo(agents=ags), SOURCE), "a2", "mesos_resources.ports")
    assert "19000-20000" in p.message and "marathon_service_port_range" in p.message


def test_service_ports_overlap_mesos_agent_ports() -> None:
    ags = agents(a1={"mesos_agent_ports": "[12000-13000]"})
    assert only(validate(topo(agents=ags), SOURCE), "a1", "mesos_agent_ports")


def test_service_range_containing_cluster_ports() -> None:
    ms = masters(m1={"marathon_service_port_range": (5000, 9000)})
    p = only(validate(topo(masters=ms), SOURCE), "m1", "marathon_service_port_range")
    assert "5050" in p.message and "8080" in p.message


def test_service_range_only_from_its_key() -> None:
    ms = masters(m1={"marathon_flags": {"local_port_min": "2000"}})
    p = only(validate(topo(masters=ms), SOURCE), "m1", "marathon_flags.local_port_min")
    assert "marathon_service_port_range" in p.message


def test_bad_service_range() -> None:
    ms = masters(m1={"marathon_service_port_range": "10000-20000"})
    assert only(validate(topo(masters=ms), SOURCE), "m1", "marathon_service_port_range")


def test_resources_not_a_dict() -> None:
    ags = agents(a1={"mesos_resources": "cpus:2;mem:1024"})
    assert only(validate(topo(agents=ags), SOURCE), "a1", "mesos_resources")


@pytest.mark.parametrize("name,value", [("cpus", 0), ("mem", "lots"), ("disk", True),
                                        ("ports", "31000-32000"), ("ports", "[32000-31000]"),
                                        ("gpus", -1), ("bad name", 1), ("custom", [1])])
def test_bad_resource_values(name: str, value: Any) -> None:
    ags = agents(a1={"mesos_resources": {name: value}})
    assert only(validate(topo(agents=ags), SOURCE), "a1", f"mesos_resources.{name}")


def test_good_resources_and_attributes() -> None:
    ags = agents(a1={"mesos_resources": {"cpus": 2.5, "mem": "2048", "gpus": 0,
                                         "ports": "[31000-31500, 32000-32100]",
                                         "volumes": "{a,b}"},
                     "mesos_attributes": {"rack": "r1", "zone": "eu-west/1", "level": 3}})
    assert validate(topo(agents=ags), SOURCE) == []


def test_attributes_not_a_dict() -> None:
    ags = agents(a1={"mesos_attributes": ["rack:r1"]})
    assert only(validate(topo(agents=ags), SOURCE), "a1", "mesos_attributes")


@pytest.mark.parametrize("value", ["row 1", "a:b", "x;y", True, None, {"a": 1}])
def test_bad_attribute_values(value: Any) -> None:
    ags = agents(a2={"mesos_attributes": {"rack": value}})
    assert only(validate(topo(agents=ags), SOURCE), "a2", "mesos_attributes.rack")


def test_same_problem_on_many_hosts_is_one_line() -> None:
    typo = {"mesos_master_flags": {"quorm": "2"}}
    problems = validate(topo(masters=masters(m1=typo, m2=typo, m3=typo)), SOURCE)
    p = only(problems, "m1", "mesos_master_flags.quorm")
    assert "also on m2, m3" in p.message
    assert len(errors(problems)) == 1


def test_topology_without_group_data_falls_back_to_all_py() -> None:
    """Hosts with only their own data still validate (defaults come from group_data/all.py)."""
    bare = build_topology({"masters": [("m1", {"ip": "10.0.0.1", "zookeeper_id": 1})],
                           "agents": [("a1", {"ip": "10.0.0.2"})]})
    assert validate(bare, SOURCE) == []


def test_parse_ranges() -> None:
    assert parse_ranges("[31000-32000]") == [(31000, 32000)]
    assert parse_ranges("[1-2, 5-6]") == [(1, 2), (5, 6)]
    assert parse_ranges("31000-32000") is None
    assert parse_ranges("[0-10]") is None
    assert parse_ranges(None) is None


def test_aventer_mesos_extra_flags_are_accepted() -> None:
    """aventer-mesos adds flags Apache 1.11.0 lacks (clusterd src/slave/flags.cpp,
    src/logging/flags.cpp); refusing them would refuse a valid real setup."""
    ms = masters(m1={"mesos_master_flags": {"cleanup_log_files": 7}})
    ags = agents(a2={"mesos_agent_flags": {"network_link_speed": "1GB", "cleanup_log_files": 7,
                                           "xfs_quota_headroom": "10MB"}})
    assert [p for p in validate(topo(masters=ms, agents=ags), SOURCE) if "flags" in p.field] == []
    ms = masters(m1={"mesos_master_flags": {"network_link_speed": "1GB"}})  # an agent flag only
    p = only(validate(topo(masters=ms), SOURCE), "m1", "mesos_master_flags.network_link_speed")
    assert "silently ignores" in p.message
