"""deploy/planning_facts.py: one read per host while planning, a fresh read once executing."""

from __future__ import annotations

from typing import Any

import pytest
from pyinfra.api.state import StateStage
from pyinfra.connectors.fake import FakeConnector
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import FileContents
from test_tasks_harness import fake_host, prepared

from pyinfra_mesos.deploy.planning_facts import planning_fact

DPKG = {"dpkg -l": ["ii  zookeeper  3.8.0-11  all  centralized coordination"]}


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    original = FakeConnector.run_shell_command

    def record(self: FakeConnector, command: Any, *args: Any, **kwargs: Any) -> Any:
        text = command if isinstance(command, str) else command.get_masked_value()
        seen.append((self.host.name, text))
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(FakeConnector, "run_shell_command", record)
    return seen


def test_a_fact_is_read_once_per_host_and_arguments_while_planning(
        commands: list[tuple[str, str]]) -> None:
    hosts = {"masters": [fake_host("m1", DPKG), fake_host("m2", DPKG)]}
    with prepared(hosts) as (_state, inventory):
        m1, m2 = inventory.get_host("@fake/m1"), inventory.get_host("@fake/m2")
        first = planning_fact(m1, DebPackages)
        assert planning_fact(m1, DebPackages) == first
        assert "zookeeper" in first
        planning_fact(m2, DebPackages)
        planning_fact(m1, FileContents, path="/etc/a")
        planning_fact(m1, FileContents, path="/etc/b")
        planning_fact(m1, FileContents, path="/etc/a")
    reads = [(host, "dpkg" if "dpkg" in text else "/etc/a" if "/etc/a" in text else "/etc/b")
             for host, text in commands if "-release" not in text]
    assert sorted(reads) == sorted([("@fake/m1", "dpkg"), ("@fake/m2", "dpkg"),
                                    ("@fake/m1", "/etc/a"), ("@fake/m1", "/etc/b")]), reads


def test_once_operations_execute_every_read_is_fresh(commands: list[tuple[str, str]]) -> None:
    with prepared({"masters": [fake_host("m1", DPKG)]}) as (state, inventory):
        m1 = inventory.get_host("@fake/m1")
        planning_fact(m1, DebPackages)
        state.set_stage(StateStage.Execute)
        planning_fact(m1, DebPackages)
        planning_fact(m1, DebPackages)
    assert sum("dpkg" in text for _, text in commands) == 3
