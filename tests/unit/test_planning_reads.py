"""deploy/planning_reads.py: the reads deploy.py makes ahead are the reads the task files ask.

The task files are planned on pyinfra @fake hosts (3 masters, m1 also the registry, 2 agents
that balance load), each host's planning reads made first as deploy.py makes them, then the
operations generated as `pyinfra -y` executes them. A read made ahead that a task file then
makes again while it loads (it asked by another name or arguments, or past fact_until_change)
fails here, as does a read made ahead that nothing asks for. The plan is the same with and
without them.
"""

from __future__ import annotations

from typing import Any

import pytest
from pyinfra.api.host import Host
from pyinfra.context import ctx_host
from pyinfra_cli.util import exec_file
from test_tasks_harness import ROOT, TASK_ROLES, _collect, fake_host, prepared

from pyinfra_mesos.deploy import planning_facts
from pyinfra_mesos.deploy.planning_reads import marathon_container, planning_reads
from pyinfra_mesos.topology import TASK_FILES, topology_from_inventory

# Read only when Marathon runs (deploy/backup_op.py): the fake hosts run nothing.
ASKED_ONLY_ON_A_RUNNING_CLUSTER = [marathon_container({"marathon_container_name": "marathon"})]


def cluster() -> dict[str, list[Any]]:
    masters = [fake_host(f"m{i}", ip=f"10.0.0.{10 + i}", zookeeper_id=i) for i in (1, 2, 3)]
    return {"masters": masters, "registry": [masters[0]],
            "agents": [fake_host(f"a{i}", ip=f"10.0.1.{10 + i}") for i in (1, 2)]}


def _key(fact: Any, kwargs: dict[str, Any]) -> tuple[Any, ...]:
    return (fact, repr(sorted(kwargs.items())))  # repr: some reads take lists


def plan_with(monkeypatch: pytest.MonkeyPatch, ahead: bool) -> tuple[
        dict[str, list[Any]], dict[str, set[tuple[Any, ...]]], dict[str, list[tuple[Any, ...]]],
        dict[str, set[tuple[Any, ...]]]]:
    """(the plan, {host: reads made ahead}, {host: reads made alone while the task files
    load}, {host: reads asked through fact_until_change (or kept_fact)}). Ahead, each read is
    made alone (a fake host answers one command at a time) and kept as read_together keeps
    its sections."""
    made: dict[str, set[tuple[Any, ...]]] = {}
    alone: dict[str, list[tuple[Any, ...]]] = {}
    asked: dict[str, set[tuple[Any, ...]]] = {}
    recording = False
    original_get_fact = Host.get_fact
    original_kept = planning_facts.kept_fact

    def together(host: Host, todo: list[tuple[Any, dict[str, Any]]]) -> int:
        for fact, kwargs in todo:
            answer = original_get_fact(host, fact, **kwargs)
            planning_facts._MEMO.setdefault(host.state, {})[
                planning_facts._key(host, fact, kwargs)] = (0, answer)
            made.setdefault(host.name, set()).add(_key(fact, kwargs))
        return len(todo)

    def get_fact(self: Host, fact: Any, *args: Any, **kwargs: Any) -> Any:
        if recording:
            alone.setdefault(self.name, []).append(_key(fact, kwargs))
        return original_get_fact(self, fact, *args, **kwargs)

    def kept(host: Host, fact: Any, **kwargs: Any) -> Any:
        # fact_until_change asks here first (and only its callers do).
        asked.setdefault(host.name, set()).add(_key(fact, kwargs))
        return original_kept(host, fact, **kwargs)

    monkeypatch.setattr(planning_facts, "_read_together", together)
    monkeypatch.setattr(Host, "get_fact", get_fact)
    monkeypatch.setattr(planning_facts, "kept_fact", kept)
    with prepared(cluster(), check_for_changes=False) as (state, inventory):
        topo = topology_from_inventory(inventory)
        if ahead:
            for host in inventory.get_active_hosts():
                with ctx_host.use(host):
                    planning_facts.read_together(
                        host, planning_reads(host.data.dict(), topo, host.name))
        recording = True
        for number, task in enumerate(TASK_FILES):
            if task not in TASK_ROLES:
                continue  # the settled barrier: no file
            state.current_op_file_number = number
            state.current_deploy_filename = str(ROOT / task)
            for host in inventory.get_active_hosts():
                wanted = TASK_ROLES[task]
                if wanted is not None and not wanted & topo.roles_of(host.name):
                    continue
                with ctx_host.use(host):
                    exec_file(str(ROOT / task))
        # Then each operation's body, as `pyinfra -y` executes it: pyinfra's own operations
        # read again there (apt.packages its list); ours ask through fact_until_change.
        recording = False
        planned = _collect(state, inventory)
    return planned, made, alone, asked


def test_no_read_made_ahead_is_made_again_and_each_is_asked_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _planned, made, alone, asked = plan_with(monkeypatch, ahead=True)
    assert set(made) == {f"@fake/{n}" for n in ("m1", "m2", "m3", "a1", "a2")}
    for host, reads in made.items():
        again = [read for read in alone.get(host, []) if read in reads]
        assert not again, (host, again)
        unasked = reads - asked.get(host, set()) - {
            _key(*read) for read in ASKED_ONLY_ON_A_RUNNING_CLUSTER}
        assert not unasked, (host, unasked)


def test_the_plan_is_the_same_with_the_reads_made_ahead(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    with_ahead = plan_with(monkeypatch, ahead=True)[0]
    monkeypatch.undo()
    without = plan_with(monkeypatch, ahead=False)[0]
    assert {h: [(op.name, op.commands) for op in ops] for h, ops in with_ahead.items()} == {
        h: [(op.name, op.commands) for op in ops] for h, ops in without.items()}
