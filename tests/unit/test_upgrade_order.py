"""A changed `mesos_version` or `marathon_image`, planned through deploy.py as the CLI runs it.

The upstream order: Mesos masters one at a time, the leader last, before any agent (apache/mesos
docs/upgrades.md); Marathon instances one at a time, the leader last; agents one at a time,
each answering before the next. pyinfra orders operations per host (pyinfra 3.10
api/state.py `get_op_order`: a topological sort of each host's chain, ties by line), so
without an operation every host shares, an agent-only host's restart comes as early as its
chain allows: after the first master's turn with 5 masters. deploy.py's shared operation
orders them. Planned on @fake hosts (test_tasks_harness) with canned facts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyinfra.context import ctx_host
from pyinfra_cli.util import exec_file
from test_tasks_harness import ROOT, fake_host, prepared, started

import pyinfra_mesos.validation

OLD = "1.11.0-0.7.1+standin1"
NEW = "1.11.0-0.8.0"
MASTER_RESTART = "Restart running masters with the new config"
AGENT_RESTART = "Restart mesos-agent"
MARATHON_RESTART = "Restart Marathon"


def running(unit: str) -> dict[str, list[str]]:
    return {f"systemctl show --all --property Id --property SubState {unit}":
            [f"Id={unit}", "SubState=running"]}


def cluster(masters: int, leader: int) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """`masters` running masters (Mesos and Marathon leader: m<leader>) and 2 agents, all on
    aventer-mesos OLD, every service started after its files (fresh)."""
    installed = {"dpkg -l": [f"ii  aventer-mesos  {OLD}  all  Apache Mesos"]}
    fresh = {"ActiveEnterTimestamp": ["ActiveState=active", started(300), "input=200 /etc/x"]}
    master = {**installed, **running("mesos-master.service"), **running("marathon.service"),
              "cat /etc/default/mesos-master": [f"MESOS_QUORUM={masters // 2 + 1}"],
              "/redirect": ["", f"@@pyinfra-mesos-http 307 http://10.0.0.1{leader}:5050/ 0"],
              "/v2/leader": [f'{{"leader":"10.0.0.1{leader}:8080"}}',
                             "@@pyinfra-mesos-http 200  0"], **fresh}
    agent = {**installed, **fresh}
    return {"masters": [fake_host(f"m{i}", master, ip=f"10.0.0.1{i}", zookeeper_id=i)
                        for i in range(1, masters + 1)],
            "agents": [fake_host(f"a{i}", agent, ip=f"10.0.1.1{i}") for i in (1, 2)]}


@pytest.fixture
def no_host_name_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # @fake/<name> is no RFC 1123 host name; the rest of the inventory is the repo's defaults.
    monkeypatch.setattr(pyinfra_mesos.validation, "validate_inventory", lambda *a, **k: [])
    yield


def planned_deploy(groups: dict[str, list], data: dict[str, Any]
                   ) -> list[tuple[str, list[str], list[list[str]]]]:
    """deploy.py planned for every host as the CLI does (one deploy file, op file number 0):
    [(operation name, hosts with commands, their commands)] in pyinfra's execution order."""
    with prepared(groups, data, check_for_changes=False) as (state, inventory):
        state.current_op_file_number = 0
        state.current_deploy_filename = str(ROOT / "deploy.py")
        for host in inventory.get_active_hosts():
            with ctx_host.use(host):
                exec_file(str(ROOT / "deploy.py"))
        order = []
        for op_hash in state.get_op_order():
            name = min(n.split(" | ", 1)[-1] for n in state.get_op_meta(op_hash).names)
            hosts, commands = [], []
            for host in inventory:
                if op_hash not in host.op_hash_order:
                    continue
                with ctx_host.use(host):
                    generated = [str(getattr(c, "get_masked_value", lambda c=c: c)())
                                 for c in state.get_op_data_for_host(host, op_hash)
                                 .command_generator()]
                if generated:
                    hosts.append(host.name.removeprefix("@fake/"))
                    commands.append(generated)
            order.append((name, hosts, commands))
        return order


def restarts(order: list, prefix: str, unit: str) -> list[tuple[int, str, str]]:
    """[(position, operation, host)] of every `systemctl restart <unit>` in `prefix` ops."""
    found = []
    for position, (name, hosts, commands) in enumerate(order):
        if not name.startswith(prefix):
            continue
        for host, host_commands in zip(hosts, commands, strict=True):
            if any(f"systemctl restart {unit}" in c for c in host_commands):
                found.append((position, name, host))
    return found


@pytest.mark.parametrize("masters,leader", [(3, 2), (5, 1), (5, 4)])
def test_new_mesos_version_restarts_every_master_leader_last_before_any_agent(
        no_host_name_rules: None, masters: int, leader: int) -> None:
    order = planned_deploy(cluster(masters, leader), {"mesos_version": NEW})
    move = [(name, hosts) for name, hosts, _ in order
            if name.startswith("Move aventer-mesos to the pinned")]
    assert move == [(f"Move aventer-mesos to the pinned {NEW}",
                     [f"m{i}" for i in range(1, masters + 1)] + ["a1", "a2"])]
    masters_restarted = restarts(order, MASTER_RESTART, "mesos-master.service")
    agents_restarted = restarts(order, AGENT_RESTART, "mesos-agent.service")
    # Every master once, one per operation, the leader in the last one.
    assert sorted(h for _, _, h in masters_restarted) == [f"m{i}"
                                                          for i in range(1, masters + 1)]
    assert len({p for p, _, _ in masters_restarted}) == masters
    assert masters_restarted[-1][1].endswith("the leader, last")
    assert masters_restarted[-1][2] == f"m{leader}"
    # Both agents, after the last master.
    assert sorted(h for _, _, h in agents_restarted) == ["a1", "a2"]
    assert min(p for p, _, _ in agents_restarted) > masters_restarted[-1][0], (
        masters_restarted, agents_restarted)


def test_restarts_are_serial_and_wait_for_health(no_host_name_rules: None) -> None:
    with prepared(cluster(3, 2), {"mesos_version": NEW}, check_for_changes=False) as (
            state, inventory):
        state.current_op_file_number = 0
        state.current_deploy_filename = str(ROOT / "deploy.py")
        for host in inventory.get_active_hosts():
            with ctx_host.use(host):
                exec_file(str(ROOT / "deploy.py"))
        metas = [state.get_op_meta(h) for h in state.get_op_order()]
    for meta in metas:
        name = min(meta.names)
        if any(p in name for p in (MASTER_RESTART, AGENT_RESTART, MARATHON_RESTART)):
            assert meta.global_arguments.get("_serial") is True, name
    order = planned_deploy(cluster(3, 2), {"mesos_version": NEW})
    (_, _, agent_commands), = [o for o in order if o[0].startswith(AGENT_RESTART)]
    for commands in agent_commands:
        # restart, then /health polled (bounded) before the next agent's turn
        assert "systemctl restart mesos-agent.service && for i in $(seq" in commands[0]
        assert "/health" in commands[0]


def test_new_marathon_image_restarts_each_instance_the_leader_last(
        no_host_name_rules: None) -> None:
    image = "registry.invalid:5000/pyinfra-mesos/marathon-standin:1.10.17"
    order = planned_deploy(cluster(3, 3), {"marathon_image": image})
    pull = [(n, h) for n, h, _ in order if n.startswith("Pull the Marathon image")]
    assert pull == [(f"Pull the Marathon image {image}", ["m1", "m2", "m3"])]
    unit = [n for n, _, _ in order if n.startswith("Install marathon.service")]
    assert len(unit) == 1 and unit[0].startswith(f"Install marathon.service ({image}) ")
    found = restarts(order, MARATHON_RESTART, "marathon.service")
    assert [h for _, _, h in found] == ["m1", "m2", "m3"]
    assert found[-1][1].endswith("the leader, last")
    positions = [p for p, _, _ in found]
    assert positions == sorted(positions) and len(set(positions)) == 3
    # The image is pulled on every instance before the first one restarts.
    pull_at = next(i for i, (n, _, _) in enumerate(order) if n.startswith("Pull the Marathon"))
    assert pull_at < positions[0]
    # An image change moves no Mesos package (the masters' config files are empty facts on
    # @fake hosts, so their restarts are planned anyway: not asserted here).
    assert not [n for n, _, _ in order if n.startswith("Move aventer-mesos")]
