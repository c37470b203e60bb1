"""tasks/firewall.py on pyinfra @fake hosts: where it runs in the deploy, serial apply,
idempotence from the loaded table's marker, the opt-out, members named by DNS.

An empty fact answer looks like a fresh host (no nft, no table); `fake_responses` script the
loaded table and the files already on the host.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from test_tasks_harness import ROOT, TASK_ROLES, fake_host, op_named, plan, units_answer

from pyinfra_mesos import firewall
from pyinfra_mesos.apps import app_dir_service_ports
from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.templates import render_template
from pyinfra_mesos.topology import build_topology

FIREWALL = "tasks/firewall.py"
OUR_OPS = ("Firewall rules", "Load the firewall", f"{firewall.UNIT} enabled")
UNIT_PATH = f"/etc/systemd/system/{firewall.UNIT}"

# The servicePorts of the checkout's own app files (the plans run from the repository root).
APP_PORTS = app_dir_service_ports(str(ROOT / "apps"))


def groups(master_responses=None, agent_responses=None, **agent_data):
    return {
        "masters": [fake_host(f"m{i}", master_responses, ip=f"10.0.0.{10 + i}", zookeeper_id=i)
                    for i in (1, 2, 3)],
        "agents": [fake_host(f"a{i}", agent_responses, ip=f"10.0.1.{10 + i}", **agent_data)
                   for i in (1, 2)],
    }


def topo():
    return build_topology(groups())


def ours(ops):
    return [op for op in ops if op.name.startswith(OUR_OPS)]


def test_deploy_includes_the_firewall_for_every_host_right_after_common() -> None:
    assert TASK_ROLES[FIREWALL] is None
    with open(firewall.__file__.replace("pyinfra_mesos/firewall.py", "deploy.py")) as f:
        includes = [line.strip() for line in f if "local.include(" in line]
    assert includes.index('local.include("tasks/firewall.py")') == \
        includes.index('local.include("tasks/common.py")') + 1


def test_a_fresh_host_gets_the_rules_before_any_service() -> None:
    """nftables comes in tasks/common.py's one transaction with every other package; the
    services those bring are masked there, and nothing starts or unmasks one before the load."""
    planned = plan(groups(), list(TASK_ROLES))
    for name, held in (("m1", ["docker.socket", "docker.service", "zookeeper.service"]),
                       ("a1", ["docker.socket", "docker.service", "haproxy.service"])):
        ops = planned[name]
        order = [op.name for op in ops]
        load = order.index("Load the firewall (nft -c, arm a rollback, load, confirm over SSH)")
        install = next(i for i, op in enumerate(ops) if op.name.startswith("Install this host's"))
        assert install < load
        assert ops[install].commands[:len(held)] == [f"systemctl mask {u}" for u in held]
        assert " nftables" in ops[install].commands[len(held)]
        first_start = next(i for i, op in enumerate(ops)
                           if any(c.startswith(("systemctl start", "systemctl unmask",
                                                "systemctl restart")) for c in op.commands))
        assert load < first_start, order[first_start]


def test_the_rules_file_is_the_rendered_ruleset_and_loads_one_host_at_a_time() -> None:
    ops = plan(groups(), [FIREWALL])["a1"]
    rules = op_named(ops, "Firewall rules")
    assert rules.name == (f"Firewall rules {firewall.RULES_FILE} (5 members, 0 operator networks)"
                          f" and {firewall.UNIT}")
    # The repository's apps/ names servicePort 9000: open on the load balancers.
    assert APP_PORTS == [9000]
    expected = firewall.render(firewall.ruleset(topo(), "@fake/a1", None, APP_PORTS))
    assert "9000" in expected
    assert rules.uploads[firewall.RULES_FILE] == expected
    load = op_named(ops, "Load the firewall")
    assert load.global_arguments["_serial"] is True
    assert load.commands == firewall.apply_commands()
    assert f"/usr/sbin/nft -f {firewall.RULES_FILE}" in rules.uploads[UNIT_PATH]
    # A fresh unit: systemd reads it before the unit is enabled below.
    assert rules.commands[-1] == "systemctl daemon-reload"


def _converged(name: str) -> dict[str | re.Pattern[str], list[str]]:
    """Fact answers of a host where this run's rules are loaded and every file is in place."""
    rules = firewall.ruleset(topo(), f"@fake/{name}", None, APP_PORTS)
    text = firewall.render(rules)
    unit = render_template("pyinfra-mesos-firewall.service.j2", rules_file=firewall.RULES_FILE,
                           table=firewall.TABLE, nft=firewall.NFT)

    return {
        f"nft list table inet {firewall.TABLE}": ["table inet pyinfra_mesos {",
                                                  f'\tcomment "{firewall.marker(rules)}"', "}"],
        # file_set.FileSetState: both files hold their content, 0644 root:root.
        re.compile(rf"^set --; for f in {re.escape(firewall.RULES_FILE)} "): [
            f"{hashlib.sha256(text.encode()).hexdigest()} 644 root root {firewall.RULES_FILE}",
            f"{hashlib.sha256(unit.encode()).hexdigest()} 644 root root {UNIT_PATH}"],
        "dpkg -l": ["ii  nftables 1.0.6-2+deb12u2 amd64 nftables"],
        # A oneshot with RemainAfterExit: active (exited) once it loaded the rules.
        **units_answer({firewall.UNIT: "exited"}),
    }


def test_a_second_run_loads_nothing_when_the_loaded_marker_matches() -> None:
    ops = plan(groups(agent_responses=_converged("a1")), [FIREWALL])["a1"]
    names = [op.name for op in ops]
    assert not any(n.startswith("Load the firewall") for n in names)
    # Package, files and unit already as wanted: no operation runs a command (and so no
    # daemon-reload either).
    assert [op.name for op in ops if op.commands] == []
    assert not any(n.startswith("Reload systemd") for n in names)


def test_systemd_reloads_after_a_changed_unit_and_never_after_the_rules_alone() -> None:
    converged = _converged("a1")
    answer = next(k for k in converged if isinstance(k, re.Pattern))
    rules_line, unit_line = converged[answer]

    def rules_op(lines: list[str]) -> list[str]:
        ops = plan(groups(agent_responses={**converged, answer: lines}), [FIREWALL])["a1"]
        return op_named(ops, "Firewall rules").commands

    stale = f"{'0' * 64} 644 root root"
    assert rules_op([f"{stale} {firewall.RULES_FILE}", unit_line]) == [
        f"FileUploadCommand:{firewall.RULES_FILE}",
        f"chown root:root {firewall.RULES_FILE} && chmod 0644 {firewall.RULES_FILE}"]
    assert rules_op([rules_line, f"{stale} {UNIT_PATH}"]) == [
        f"FileUploadCommand:{UNIT_PATH}",
        f"chown root:root {UNIT_PATH} && chmod 0644 {UNIT_PATH}",
        "systemctl daemon-reload"]
    # A loosened mode alone: fixed, and systemd has nothing new to read.
    assert rules_op([rules_line, unit_line.replace(" 644 ", " 666 ")]) == [
        f"chown root:root {UNIT_PATH} && chmod 0644 {UNIT_PATH}"]


def test_a_stale_loaded_table_is_replaced() -> None:
    stale = {f"nft list table inet {firewall.TABLE}": [
        "table inet pyinfra_mesos {", f'\tcomment "{firewall.MARKER_PREFIX}{"0" * 64}"', "}"]}
    ops = plan(groups(agent_responses=stale), [FIREWALL])["a1"]
    assert op_named(ops, "Load the firewall").commands == firewall.apply_commands()


def test_a_new_member_changes_every_hosts_rules() -> None:
    before = plan(groups(), [FIREWALL])
    grown = groups()
    grown["agents"].append(fake_host("a3", ip="10.0.1.13"))
    after = plan(grown, [FIREWALL])
    for name in ("m1", "m2", "m3", "a1", "a2"):
        old = op_named(before[name], "Firewall rules").uploads[firewall.RULES_FILE]
        new = op_named(after[name], "Firewall rules").uploads[firewall.RULES_FILE]
        assert "10.0.1.13" not in old and "10.0.1.13" in new, name


def test_opt_out_generates_no_firewall_operation() -> None:
    planned = plan(groups(), list(TASK_ROLES), data={"firewall_enabled": False})
    for name, ops in planned.items():
        assert ours(ops) == [], name
        assert not any("nft" in c for op in ops for c in op.commands), name


def test_opt_out_on_one_host_leaves_the_others_managed() -> None:
    g = groups()
    g["agents"][1] = fake_host("a2", ip="10.0.1.12", firewall_enabled=False)
    planned = plan(g, [FIREWALL])
    assert ours(planned["a2"]) == []
    # a2 is still a member of everyone else's set.
    assert "10.0.1.12" in op_named(planned["a1"], "Firewall rules").uploads[firewall.RULES_FILE]


def test_members_named_by_dns_are_resolved_on_the_host() -> None:
    resolved = {"getent ahostsv4": ["m1.example.internal 10.0.0.11"]}
    g = {"masters": [fake_host("m1", resolved, ip="m1.example.internal", zookeeper_id=1)],
         "agents": [fake_host("a1", resolved, ip="10.0.1.11")]}
    ops = plan(g, [FIREWALL])["a1"]
    assert "elements = { 10.0.0.11, 10.0.1.11 }" in op_named(
        ops, "Firewall rules").uploads[firewall.RULES_FILE]


def test_a_member_name_that_does_not_resolve_stops_the_deploy_before_any_change() -> None:
    g = {"masters": [fake_host("m1", ip="m1.example.internal", zookeeper_id=1)],
         "agents": [fake_host("a1", ip="10.0.1.11")]}
    with pytest.raises(Exception, match=r"@fake/m1: ip: 'm1.example.internal' does not resolve"
                       ) as err:
        plan(g, [FIREWALL])
    assert isinstance(err.value, DeployRefused) or isinstance(
        getattr(err.value, "exception", None), DeployRefused)


def test_app_service_ports_outside_marathons_range_open_on_load_balancers_only():
    t = topo()
    lb = firewall.ruleset(t, "@fake/a1", None, [9000])
    master = firewall.ruleset(t, "@fake/m1", None, [9000])
    assert (9000, 9000) in lb.open_tcp_ports
    assert all(not (low <= 9000 <= high) for low, high in master.open_tcp_ports)
