"""Flag dicts (no override of computed flags, no secrets), host names, IPv6, agent resources with
roles, and the rules `check` and the deploy share (work_dir, the computed --resources)."""

from __future__ import annotations

from typing import Any

import pytest

from pyinfra_mesos import flags
from pyinfra_mesos.agent_data import agent_ports, check_attributes, check_resources
from pyinfra_mesos.common import check_work_dir, work_dir_problem
from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.flag_lists import COMPUTED_FLAGS, SECRET_FLAGS, known_flags
from pyinfra_mesos.validation import validate
from tests.unit.test_validation import SOURCE, agents, host, masters, only, topo

KEYS = {"master": "mesos_master_flags", "agent": "mesos_agent_flags",
        "marathon": "marathon_flags"}


def _with_flags(kind: str, flag_dict: dict[str, Any]):
    if kind == "agent":
        return topo(agents=agents(a1={KEYS[kind]: flag_dict})), "a1"
    return topo(masters=masters(m1={KEYS[kind]: flag_dict})), "m1"


def test_computed_flags_table_covers_what_flags_py_computes() -> None:
    """Every flag flags.py sets itself is in COMPUTED_FLAGS, so none can be overridden."""
    t = topo()
    computed = {"master": flags.master_flags(t.masters[0], t),
                "agent": flags.agent_flags(t.agents[0], t),
                "marathon": flags.marathon_flags(t.masters[0], t)}
    for kind, names in computed.items():
        assert set(names) <= set(COMPUTED_FLAGS[kind]), kind
        assert set(COMPUTED_FLAGS[kind]) <= known_flags(kind), kind  # type: ignore[arg-type]
    for kind, secrets in SECRET_FLAGS.items():
        assert set(secrets) <= known_flags(kind), kind  # type: ignore[arg-type]


@pytest.mark.parametrize("kind,name", [(k, n) for k, names in COMPUTED_FLAGS.items()
                                       for n in names if n not in SECRET_FLAGS[k]])
def test_override_of_a_computed_flag_is_refused(kind: str, name: str) -> None:
    # A computed flag that is also a secret is refused as a secret (the test below).
    t, where = _with_flags(kind, {name: "1"})
    p = only(validate(t, SOURCE), where, f"{KEYS[kind]}.{name}")
    rule = COMPUTED_FLAGS[kind][name]
    assert p.level == "error" and rule in p.message


def test_ip_override_names_the_ip_key_and_skips_nothing() -> None:
    t, _ = _with_flags("master", {"ip": "127.0.0.1"})
    p = only(validate(t, SOURCE), "m1", "mesos_master_flags.ip")
    assert "set ip (the host's data)" in p.message


@pytest.mark.parametrize("kind,name", [(k, n) for k, names in SECRET_FLAGS.items()
                                       for n in names])
def test_secret_in_a_flag_dict_is_refused_without_printing_it(kind: str, name: str) -> None:
    t, where = _with_flags(kind, {name: "admin:TOPSECRET"})
    problems = validate(t, SOURCE)
    p = only(problems, where, f"{KEYS[kind]}.{name}")
    assert "secret" in p.message
    assert "TOPSECRET" not in "".join(x.format() for x in problems)
    if SECRET_FLAGS[kind][name]:
        assert f"give it as {SECRET_FLAGS[kind][name]} instead" in p.message


@pytest.mark.parametrize("value", ["30secs\n", "a\rb", "x\x00", "ok\nMESOS_IP=1.2.3.4"])
def test_flag_value_with_control_characters(value: str) -> None:
    t, _ = _with_flags("agent", {"docker_stop_timeout": value})
    p = only(validate(t, SOURCE), "a1", "mesos_agent_flags.docker_stop_timeout")
    assert "newline" in p.message and "\n" not in p.format()


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, float("nan")])
def test_flag_value_of_the_wrong_type(value: Any) -> None:
    t, _ = _with_flags("master", {"max_agent_ping_timeouts": value})
    p = only(validate(t, SOURCE), "m1", "mesos_master_flags.max_agent_ping_timeouts")
    assert "string or number" in p.message


def test_flag_name_that_is_not_a_string() -> None:
    t, _ = _with_flags("marathon", {1: "x", "bad\nname": "y"})
    problems = [p for p in validate(t, SOURCE) if p.field == "marathon_flags"]
    assert len(problems) == 2 and all("\n" not in p.format() for p in problems)


# -- host names and addresses ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a1\n10.6.6.6 evil", "bad_name", "-a1", "a" * 64 + ".x",
                                  "a1.", "a 1"])
def test_inventory_name_must_be_a_host_name(name: str) -> None:
    ags = [*agents(), host(name, ip="10.0.0.99")]
    problems = validate(topo(agents=ags), SOURCE)
    p = only(problems, name, "name")
    assert "RFC 1123" in p.message and "\n" not in p.format()


@pytest.mark.parametrize("address", ["2001:db8::11", "fe80::1"])
def test_ipv6_ip_is_refused_naming_host_and_field(address: str) -> None:
    p = only(validate(topo(masters=masters(m2={"ip": address})), SOURCE), "m2", "ip")
    assert "IPv6" in p.message and "IPv4 only" in p.message


def test_ipv6_host_name_without_ip_is_refused() -> None:
    ags = [*agents(), host("2001:db8::30")]
    p = only(validate(topo(agents=ags), SOURCE), "2001:db8::30", "ip")
    assert "IPv6" in p.message


@pytest.mark.parametrize("value", [167772161, ["10.0.0.1"], "10.0.0.1\n"])
def test_ip_of_the_wrong_form(value: Any) -> None:
    assert only(validate(topo(agents=agents(a1={"ip": value})), SOURCE), "a1", "ip")


# -- agent resources and attributes ---------------------------------------------------------------

def test_ports_with_role_is_the_agents_ports() -> None:
    data = {"mesos_resources": {"cpus": 2, "ports(*)": "[31000-31100]"}}
    assert agent_ports(data, "[31000-32000]") == ("mesos_resources.ports(*)", "[31000-31100]")
    resources = flags.format_resources(data["mesos_resources"], "[31000-32000]")
    assert resources == "cpus:2;ports(*):[31000-31100]"  # no second ports entry


@pytest.mark.parametrize("role", ["*", "analytics", "team/dev", "a.b"])
def test_ports_with_role_checked_like_ports(role: str) -> None:
    ags = agents(a1={"mesos_resources": {f"ports({role})": "[12000-13000]"}})
    p = only(validate(topo(agents=ags), SOURCE), "a1", f"mesos_resources.ports({role})")
    assert "overlap Marathon's service ports" in p.message


def test_ports_with_role_collides_with_a_cluster_port() -> None:
    ags = agents(a1={"mesos_resources": {"ports(web)": "[5000-5100]"}})
    p = only(validate(topo(agents=ags), SOURCE), "a1", "mesos_resources.ports(web)")
    assert "5051" in p.message


@pytest.mark.parametrize("resources,field", [
    ({"ports": "[31000-31100]", "ports(*)": "[31200-31300]"}, "ports(*)"),
    ({"cpus(*)": "many"}, "cpus(*)"),
    ({"ports(a b)": "[31000-31100]"}, "ports(a b)"),
    ({"ports(..)": "[31000-31100]"}, "ports(..)"),
    ({"ports(-x)": "[31000-31100]"}, "ports(-x)"),
    ({"ports(*)": "[31000-31100]\n"}, "ports(*)"),
    ({"mem": "1024\n"}, "mem"),
    ({"gpus": 0.5}, "gpus"),
    ({"cpus": float("inf")}, "cpus"),
    ({"disk": "1e9"}, "disk"),
])
def test_bad_resources(resources: dict[str, Any], field: str) -> None:
    found = list(check_resources(resources))
    assert [suffix for suffix, _ in found] == [f".{field}"], found


def test_attribute_with_trailing_newline_is_refused() -> None:
    """re.match with $ let "r1\\n" through; every later run then saw 'Incompatible agent info'."""
    assert [s for s, _ in check_attributes({"rack": "r1\n"})] == [".rack"]
    assert len(list(check_attributes({"rack\n": "r1"}))) == 1


# -- one rule in check and deploy -----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/tmp", "/tmp/", "/tmp/mesos", "/var/lib/mesos", "/tmpfs/x",
                                  "/srv/tmp/mesos"])
def test_work_dir_rule_is_the_same_in_check_and_deploy(path: str) -> None:
    in_check = only_or_none(validate(topo(agents=agents(a1={"mesos_agent_work_dir": path})),
                                     SOURCE), "a1", "mesos_agent_work_dir")
    try:
        check_work_dir("a1", "mesos_agent_work_dir", path)
        in_deploy = None
    except DeployRefused as exc:
        in_deploy = str(exc)
    assert (in_check is None) == (in_deploy is None) == (work_dir_problem("a1", "x", path) is None)
    if in_check is not None:
        assert in_check.level == "error" and in_deploy == in_check.format()


def only_or_none(problems, where, field):  # type: ignore[no-untyped-def]
    found = [p for p in problems if p.where == where and p.field == field]
    assert len(found) <= 1
    return found[0] if found else None
