"""flag_tables: one table per program, one mechanism, and the lookup "which key sets this flag"."""

from __future__ import annotations

import pytest
from test_tasks_harness import group_defaults

from pyinfra_mesos import flag_lists, flag_tables
from pyinfra_mesos.flag_tables import (
    TABLES,
    Computed,
    computed_flags,
    flag_source,
    program_flag,
    program_flags,
    table,
)
from pyinfra_mesos.schema import FLAG_DICT_KEYS, SCHEMA
from pyinfra_mesos.topology import build_topology

DEFAULTS = group_defaults()


def _topo(**extra):  # type: ignore[no-untyped-def]
    return build_topology({
        "masters": [(f"m{i}", {**DEFAULTS, "ip": f"10.0.0.{10 + i}", "zookeeper_id": i,
                               **extra}) for i in (1, 2, 3)],
        "agents": [("a1", {**DEFAULTS, "ip": "10.0.1.11", **extra})],
    })


@pytest.mark.parametrize(("program", "flag", "expected"), [
    ("master", "port", "--port: group_data key mesos_master_port."),
    ("agent", "work_dir", "--work_dir: group_data key mesos_agent_work_dir."),
    ("marathon", "http_port", "--http_port: group_data key marathon_http_port."),
    ("master", "quorum", "--quorum: computed: len(masters group) // 2 + 1"),
    ("agent", "resources", "reads mesos_resources, mesos_agent_ports"),
    ("marathon", "local_port_max", "reads marathon_service_port_range"),
    ("master", "credentials", "only while mesos_authentication is on"),
    ("agent", "systemd_enable_support", "the operator's flag dict may override it"),
    ("master", "--zk", "reads zookeeper_mesos_path, zookeeper_client_port"),
])
def test_flag_source_names_the_key(program: str, flag: str, expected: str) -> None:
    assert expected in flag_source(program, flag)


def test_flag_source_gives_the_upstream_source_and_why() -> None:
    line = flag_source("marathon", "http_port")
    assert line.endswith("[d2iq-archive/marathon v1.10.26 "
                         "src/main/scala/mesosphere/marathon/HttpConf.scala]")
    assert "\n" not in line


def test_flag_source_of_a_flag_the_deploy_does_not_set() -> None:
    assert flag_source("agent", "docker_stop_timeout") == (
        "--docker_stop_timeout: not set by the deploy; only "
        "mesos_agent_flags['docker_stop_timeout'], else the agent's own default")


def test_unknown_program_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown program 'slave'"):
        flag_source("slave", "port")
    with pytest.raises(ValueError):
        table("zookeeper")


@pytest.mark.parametrize("program", sorted(TABLES))
def test_every_row_is_a_known_flag_once_with_a_why_and_an_upstream(program: str) -> None:
    rows = table(program).rows
    names = [r.flag for r in rows]
    assert len(names) == len(set(names))
    assert set(names) <= flag_lists.known_flags(program)  # type: ignore[arg-type]
    for row in rows:
        assert row.why and "\n" not in row.why, row.flag
        assert row.upstream.startswith(("apache/mesos 1.11.0 ", "d2iq-archive/marathon v1.10.26 ",
                                        "m3scluster/clusterd ")), row.flag


@pytest.mark.parametrize("program", sorted(TABLES))
def test_rows_name_keys_the_schema_checks(program: str) -> None:
    """A row's key, a computed value's reads (facts aside) and a `when` key are keys the schema
    checks: a typo in a table would be a KeyError or a silently unused key on every host."""
    for row in table(program).rows:
        keys = [row.source] if isinstance(row.source, str) else [
            k for k in row.source.reads if not k.startswith("fact ")]
        keys += [row.when] if row.when else []
        for key in keys:
            # `ip` is the host's own, checked by validation's address rules.
            assert key in SCHEMA or key == "ip", (row.flag, key)
            assert key in DEFAULTS or key in ("ip", "mesos_resources", "mesos_attributes"), key
    assert table(program).user_key in FLAG_DICT_KEYS  # checked by validation, not the schema


def test_computed_flags_is_the_tables_minus_overridable_rows() -> None:
    for program in TABLES:
        rows = table(program).rows
        assert flag_lists.COMPUTED_FLAGS[program] == computed_flags(program)
        assert list(computed_flags(program)) == [r.flag for r in rows if not r.overridable]
        assert flag_lists.DATA_KEYS[program] == table(program).user_key
    assert "systemd_enable_support" not in flag_lists.COMPUTED_FLAGS["agent"]
    assert flag_lists.override_refusal("agent", "systemd_enable_support") is None


def test_a_new_row_changes_flags_and_refusals_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism is generic: a row added to a table is set on the host and refused in the
    operator's dict, with no code path of its own."""
    extra = flag_tables.Row("max_agent_ping_timeouts", "mesos_master_port", "test row",
                            "apache/mesos 1.11.0 src/master/flags.cpp")
    master = table("master")
    monkeypatch.setitem(TABLES, "master", flag_tables.Table(
        "master", master.user_key, (*master.rows, extra)))
    topo = _topo()
    assert program_flags("master", topo.masters[0], topo)["max_agent_ping_timeouts"] == "5050"
    assert computed_flags("master")["max_agent_ping_timeouts"] == "mesos_master_port"


def test_rows_in_table_order_then_user_flags_in_place_or_appended() -> None:
    topo = _topo(mesos_master_flags={"max_agent_ping_timeouts": 5, "cluster": "x"})
    flags = program_flags("master", topo.masters[0], topo)
    names = list(flags)
    assert names[:len(table("master").rows)] == [r.flag for r in table("master").rows]
    assert flags["cluster"] == "x" and names[-1] == "max_agent_ping_timeouts"


def test_when_key_off_leaves_its_rows_out_and_none_leaves_a_row_out() -> None:
    topo = _topo(mesos_authentication=False)
    flags = program_flags("agent", topo.agents[0], topo)
    assert "credential" not in flags and "attributes" not in flags
    assert "systemd_enable_support" not in flags
    no_v1 = program_flags("agent", topo.agents[0], topo,
                          {flag_tables.FACT_SYSTEMD_CGROUP_HIERARCHY: False})
    assert no_v1["systemd_enable_support"] == "false"


@pytest.mark.parametrize("extra", [
    {},
    {"mesos_authentication": False},
    {"mesos_master_flags": {"cluster": "x", "max_agent_ping_timeouts": 5},
     "mesos_agent_flags": {"systemd_enable_support": "true"},
     "marathon_flags": {"http_credentials": "a:b", "disable_ha": ""}},
])
def test_one_flag_alone_is_the_flag_of_the_whole_set(extra: dict) -> None:
    topo = _topo(**extra)
    for program, member in (("master", topo.masters[0]), ("agent", topo.agents[0]),
                            ("marathon", topo.masters[0])):
        for facts in ({}, {flag_tables.FACT_SYSTEMD_CGROUP_HIERARCHY: False}):
            flags = program_flags(program, member, topo, facts)
            names = {r.flag for r in table(program).rows} | set(flags) | {"http_credentials",
                                                                          "no_such_flag"}
            for name in names:
                assert program_flag(program, name, member, topo, facts) == flags.get(name), (
                    program, name, facts)


def test_marathon_never_takes_http_credentials_from_its_flag_dict() -> None:
    topo = _topo(marathon_flags={"http_credentials": "a:b", "disable_ha": ""})
    flags = program_flags("marathon", topo.masters[0], topo)
    assert "http_credentials" not in flags and flags["disable_ha"] == ""


def test_a_missing_key_raises_keyerror_naming_it() -> None:
    data = {k: v for k, v in DEFAULTS.items() if k != "mesos_agent_port"}
    topo = build_topology({"masters": [("m1", {**data, "ip": "10.0.0.11", "zookeeper_id": 1})],
                           "agents": [("a1", {**data, "ip": "10.0.1.11"})]})
    with pytest.raises(KeyError, match="mesos_agent_port"):
        program_flags("agent", topo.agents[0], topo)


def test_computed_values_are_named() -> None:
    for program in TABLES:
        for row in table(program).rows:
            if isinstance(row.source, Computed):
                assert row.source.name and row.source.set_by, row.flag
