"""One source per rule: `check` and the deploy run the same functions and agree.

The deploy side is planned for real (test_tasks_harness: deploy.py and the task files executed
on pyinfra @fake hosts); the check side is validation.validate on the same hosts' data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyinfra.context import ctx_host
from pyinfra_cli.util import exec_file
from test_tasks_harness import ROOT, TASK_ROLES, fake_host, plan, prepared

import pyinfra_mesos.validation
from pyinfra_mesos import apps, cluster_ports, firewall, floor, haproxy_model, value_checks
from pyinfra_mesos.app_canonical import canonical
from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.inventory_data import default_data
from pyinfra_mesos.restarts import service_inputs
from pyinfra_mesos.topology import (
    ROLE_TASKS,
    SETTLED_BARRIER,
    Member,
    build_topology,
    tasks_for,
)
from pyinfra_mesos.validation import validate
from pyinfra_mesos.value_checks import is_digits, is_integral, is_number, is_port
from pyinfra_mesos.zookeeper import zookeeper_settings

SOURCE = "inventory/test.py"


def _groups(**agent_data: Any) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    return {"masters": [fake_host("m1", ip="10.0.0.11", zookeeper_id=1)],
            "agents": [fake_host("a1", ip="10.0.1.11", **agent_data)]}


def _check(groups: dict[str, list[tuple[str, dict[str, Any]]]]) -> list[Any]:
    """validate() on the same hosts `plan` gets (without pyinfra's @fake/ prefix)."""
    topo = build_topology({g: [(n.removeprefix("@fake/"), d) for n, d in hosts]
                           for g, hosts in groups.items()})
    return validate(topo, SOURCE)


# -- work_dir: one rule ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/tmp", "/tmp/", "/tmp/mesos", "/var/lib/mesos", "/tmpfs/x",
                                  "/srv/tmp/mesos"])
def test_work_dir_check_and_planned_deploy_agree(path: str) -> None:
    """The agent task refuses exactly the work_dirs `check` reports, with the same line."""
    groups = _groups(mesos_agent_work_dir=path)
    found = [p for p in _check(groups) if p.field == "mesos_agent_work_dir"]
    try:
        plan(groups, ["tasks/mesos_agent.py"])
        refusal = None
    except Exception as exc:  # pyinfra may wrap what the task file raised
        cause = exc if isinstance(exc, DeployRefused) else getattr(exc, "exception", exc)
        assert isinstance(cause, DeployRefused), repr(exc)
        refusal = str(cause)
    if path.rstrip("/") == "/tmp" or path.startswith("/tmp/"):
        assert [p.level for p in found] == ["error"]
        assert refusal == found[0].format().replace("error: a1:", "error: @fake/a1:")
    else:
        assert found == [] and refusal is None


# -- the role-to-task table -------------------------------------------------------------------

def test_tasks_for_follows_the_table() -> None:
    assert tasks_for(set()) == []
    assert tasks_for({"registry"}) == ["tasks/common.py", "tasks/firewall.py", SETTLED_BARRIER,
                                       "tasks/registry.py"]
    assert tasks_for({"agent"}) == ["tasks/common.py", "tasks/firewall.py", "tasks/docker.py",
                                    "tasks/mesos_package.py", SETTLED_BARRIER,
                                    "tasks/mesos_agent.py"]
    assert list(TASK_ROLES) == [t for t, _ in ROLE_TASKS if t != SETTLED_BARRIER]


@pytest.mark.parametrize(("roles", "docker", "mesos"), [
    ({"agent"}, True, True), ({"marathon"}, True, False), ({"master"}, False, True),
    ({"zookeeper", "load_balancer", "registry"}, False, False)])
def test_floor_and_service_inputs_read_the_tables_roles(roles: set[str], docker: bool,
                                                        mesos: bool) -> None:
    assert floor.runs_docker(roles) is docker == ("tasks/docker.py" in tasks_for(roles))
    assert floor.needs_mesos_repo(roles) is mesos == ("tasks/mesos_package.py"
                                                      in tasks_for(roles))
    assert ("docker.service" in service_inputs(roles, default_data())) is docker


@pytest.fixture
def no_host_name_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # @fake/<name> is no RFC 1123 host name; validation has its own tests.
    monkeypatch.setattr(pyinfra_mesos.validation, "validate_inventory", lambda *a, **k: [])
    yield


def _deploy_names(groups: dict[str, list[tuple[str, dict[str, Any]]]]) -> dict[str, list[str]]:
    """deploy.py planned as the CLI does: each host's operation names in execution order."""
    with prepared(groups, check_for_changes=False) as (state, inventory):
        state.current_op_file_number = 0
        state.current_deploy_filename = str(ROOT / "deploy.py")
        for host in inventory.get_active_hosts():
            with ctx_host.use(host):
                exec_file(str(ROOT / "deploy.py"))
        names: dict[str, list[str]] = {}
        for op_hash in state.get_op_order():
            meta = state.get_op_meta(op_hash)
            for host in inventory:
                if op_hash in host.op_hash_order:
                    names.setdefault(host.name.removeprefix("@fake/"), []).append(
                        min(n.split(" | ", 1)[-1] for n in meta.names))
        return names


@pytest.mark.usefixtures("no_host_name_rules")
def test_deploy_runs_the_tables_tasks_in_the_tables_order() -> None:
    """Each host's planned deploy holds the operations of exactly the task files tasks_for
    names, file after file in ROLE_TASKS order, with the shared barrier in its place."""
    groups = {"masters": [fake_host("m1", ip="10.0.0.11", zookeeper_id=1)],
              "agents": [fake_host("a1", ip="10.0.1.11")],
              "load_balancers": [fake_host("lb1", ip="10.0.2.11")]}
    deployed = _deploy_names(groups)
    per_task = {task: plan(groups, [task]) for task in TASK_ROLES}
    topo = build_topology({g: [(n.removeprefix("@fake/"), d) for n, d in hosts]
                           for g, hosts in groups.items()})
    for host in ("m1", "a1", "lb1"):
        wanted = tasks_for(topo.roles_of(host))
        names = deployed[host]
        own = {t: [op.name for op in per_task[t].get(host, [])] for t in TASK_ROLES}
        positions = []
        for task in wanted:
            if task == SETTLED_BARRIER:
                positions.append((task, [names.index(SETTLED_BARRIER)]))
                continue
            # Names only this file makes; an operation whose need depends on what ran before
            # (the private files' directory, made once per host) may be absent in the deploy.
            others = {n for t, ns in own.items() if t != task for n in ns}
            unique = [n for n in own[task] if n not in others and n in names]
            assert unique, (host, task)
            positions.append((task, [names.index(n) for n in unique]))
        for (first, a), (second, b) in zip(positions, positions[1:], strict=False):
            assert max(a) < min(b), (host, first, second)
        for task in set(TASK_ROLES) - set(wanted):
            assert not (set(own[task]) & set(names)), (host, task)


# -- ports: one table for check, firewall and apps ---------------------------------------------

def _member(name: str, **data: Any) -> Member:
    return Member(name, data.pop("ip", "10.0.0.11"), data)


def test_the_admin_server_is_where_check_and_zoo_cfg_put_it() -> None:
    """zoo.cfg turns the AdminServer on exactly when `check` counts its port as bound."""
    for on, port in ((False, 8080), (True, 8080), (True, 8181)):
        data = {**default_data(), "zookeeper_admin_server": on, "zookeeper_admin_port": port}
        m = _member("m1", zookeeper_id=1, **data)
        topo = build_topology({"masters": [(m.name, m.data)]})
        bound = [p for f, _, p in cluster_ports.host_ports(topo.masters[0], topo)
                 if f == "zookeeper_admin_server"]
        settings = zookeeper_settings(data)
        assert settings["admin.enableServer"] == ("true" if on else "false")
        assert bound == ([(port, port)] if on else [])
        assert settings.get("admin.serverPort") == (str(port) if on else None)
        clash = [p for p in validate(topo, SOURCE) if p.field == "zookeeper_admin_server"]
        assert bool(clash) is (on and port == default_data()["marathon_http_port"])


def test_firewall_and_app_checks_reserve_what_check_counts_as_bound() -> None:
    ags = [("a1", {"ip": "10.0.1.11", "mesos_resources": {"ports(*)": "[40000-40010]"}})]
    topo = build_topology({"masters": [("m1", {"ip": "10.0.0.11", "zookeeper_id": 1})],
                           "agents": ags, "registry": [("m1", {"ip": "10.0.0.11"})]})
    bound = {p for m in topo.all_members for _, _, p in cluster_ports.host_ports(m, topo)}
    assert (40000, 40010) in bound and (31000, 32000) not in bound
    assert set(firewall.cluster_tcp_ports(topo)) == set(firewall.merge_ranges(bound))
    reserved = cluster_ports.reserved_ports(topo)
    assert cluster_ports.SSH_PORT in reserved and 5001 in reserved  # loopback push port too
    assert {low for low, high in bound if low == high} <= set(reserved)
    assert cluster_ports.agent_port_ranges(topo.agents[0]) == (
        "mesos_resources.ports(*)", "[40000-40010]", [(40000, 40010)])


# -- numbers: one rule --------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "number", "port", "int32"), [
    (1, True, True, True), (2.0, True, False, True), (2.5, True, False, False),
    (True, False, False, False), ("80", False, False, False), (float("nan"), False, False, False),
    (float("inf"), False, False, False), (10**400, True, False, False),
    (0, True, False, True), (65536, True, False, True)])
def test_one_number_rule(value: Any, number: bool, port: bool, int32: bool) -> None:
    assert is_number(value) is number
    assert is_port(value) is port
    assert is_integral(value, -(2**31), 2**31 - 1) is int32


@pytest.mark.parametrize(("text", "digits"), [("2", True), ("0042", True), ("²", False),
                                              ("٣", False), ("", False), ("-1", False),
                                              (" 2", False), (None, False)])
def test_digit_text_is_ascii_decimal_only(text: Any, digits: bool) -> None:
    assert is_digits(text) is digits
    if digits:
        int(text)  # what every caller then does: never a ValueError


def test_an_int_flag_of_unicode_digits_is_one_problem_not_a_traceback() -> None:
    """`"²".isdigit()` is True and int("²") raises: the flag check used to crash on it."""
    groups = {"masters": [("m1", {"ip": "10.0.0.11", "zookeeper_id": 1,
                                  "mesos_master_flags": {"max_agent_ping_timeouts": "²"}})]}
    problems = validate(build_topology(groups), SOURCE)
    assert [p.field for p in problems if p.level == "error"] == [
        "mesos_master_flags.max_agent_ping_timeouts"]


def test_the_bridges_port_rules_are_the_packages() -> None:
    """The HAProxy bridge (stdlib only, copied to the load balancers) holds the port, network
    mode and service port rules; the package imports them, so no second copy can drift."""
    assert value_checks.is_port is haproxy_model.valid_port
    assert apps.network_mode is haproxy_model.network_mode
    assert apps.listener_ports is haproxy_model.service_ports


def test_an_apps_service_ports_are_what_the_bridge_binds(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    """servicePort 0 (Marathon assigns one) is left out, quietly: `check` and the firewall
    count the ports the bridge would bind for the same app."""
    app = canonical({"id": "/web", "cmd": "x", "networks": [{"mode": "container/bridge"}],
                     "container": {"type": "DOCKER", "docker": {"image": "nginx"},
                                   "portMappings": [{"containerPort": 80, "servicePort": 10001},
                                                    {"containerPort": 81, "servicePort": 0}]}})
    assert apps.service_ports(app) == [10001]
    assert haproxy_model.service_ports(app) == [(0, 10001, "tcp")]
    assert caplog.records == []
