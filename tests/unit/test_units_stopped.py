"""deploy/units.py units_stopped_disabled: tasks/mesos_package.py stops and disables the unit a
host's roles do not need with one unit-state read, planning pyinfra's own
systemd.service(running=False, enabled=False) commands."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from pyinfra.connectors.fake import FakeConnector
from test_tasks_harness import ONE_UNIT_READ, fake_host, op_named, plan, units_answer

AGENT_OP = "mesos-agent.service stopped and disabled (host is not a agent)"
MASTER_OP = "mesos-master.service stopped and disabled (host is not a master)"


def cluster(substate: str, file_state: str) -> dict[str, list]:
    answers = {**units_answer({"mesos-agent.service": substate}, file_state),
               **units_answer({"mesos-master.service": substate}, file_state)}
    return {"masters": [fake_host("m1", answers, ip="10.0.0.11", zookeeper_id=1)],
            "agents": [fake_host("a1", answers, ip="10.0.1.11")]}


@pytest.mark.parametrize(("substate", "file_state", "expected"), [
    ("running", "enabled", ["systemctl stop {u}", "systemctl disable {u}"]),
    ("running", "disabled", ["systemctl stop {u}"]),
    ("dead", "enabled", ["systemctl disable {u}"]),
    ("dead", "disabled", []),
    ("dead", "", []),  # no unit file: nothing to stop or disable
])
def test_only_what_runs_is_stopped_and_only_what_is_enabled_is_disabled(
        substate: str, file_state: str, expected: list[str]) -> None:
    planned = plan(cluster(substate, file_state), ["tasks/mesos_package.py"])
    for host, name, unit in (("m1", AGENT_OP, "mesos-agent.service"),
                             ("a1", MASTER_OP, "mesos-master.service")):
        assert op_named(planned[host], name).commands == [c.format(u=unit) for c in expected]


def test_one_systemctl_read_for_both_states(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    original = FakeConnector.run_shell_command

    def record(self: FakeConnector, command: Any, *args: Any, **kwargs: Any) -> Any:
        seen[self.host.name].append(
            command if isinstance(command, str) else command.get_masked_value())
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(FakeConnector, "run_shell_command", record)
    plan(cluster("dead", "disabled"), ["tasks/mesos_package.py"])
    reads = [c for c in seen["@fake/m1"] if "systemctl show" in c]
    # The host's one read of every unit the deploy manages (deploy/units.py unit_states).
    assert len(reads) == 1 and ONE_UNIT_READ.search(reads[0]), reads
    assert " mesos-agent.service " in reads[0]
