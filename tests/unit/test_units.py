"""deploy/units.py: one `systemctl show` for whether units run and are enabled, and the
operation that starts and enables what is not, with pyinfra's own rules and commands.

The blocks are systemctl show's `key=value` output (systemctl(1) "show"; this machine has no
systemd to capture it from); the rules are pyinfra 3's SystemdStatus / SystemdEnabled state
values, checked here against pyinfra's own facts on the same lines.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from pyinfra.connectors.fake import FakeConnector
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus
from test_tasks_harness import fake_host, op_named, plan, units_answer

from pyinfra_mesos.deploy.units import UnitState, UnitStates

BLOCKS = ["Id=haproxy.service", "SubState=running", "UnitFileState=enabled", "",
          "Id=pyinfra-mesos-firewall.service", "SubState=exited", "UnitFileState=static", "",
          "Id=docker-registry.service", "SubState=dead", "UnitFileState=disabled", "",
          "Id=nothing.service", "SubState=dead", "UnitFileState=", ""]


def test_both_states_of_several_units_come_from_one_answer() -> None:
    assert UnitStates().process(BLOCKS) == {
        "haproxy.service": UnitState(active=True, enabled=True),
        "pyinfra-mesos-firewall.service": UnitState(active=True, enabled=True),
        "docker-registry.service": UnitState(active=False, enabled=False),
        "nothing.service": UnitState(active=False, enabled=False),
    }


def test_the_rules_are_pyinfras_own() -> None:
    ours = UnitStates().process(BLOCKS)
    active = SystemdStatus().process([line for line in BLOCKS if "UnitFileState" not in line])
    enabled = SystemdEnabled().process([line for line in BLOCKS if "SubState" not in line])
    assert {u: s.active for u, s in ours.items()} == active
    assert {u: s.enabled for u, s in ours.items()} == enabled


def test_key_order_within_a_block_and_missing_blank_lines_do_not_matter() -> None:
    shuffled = ["UnitFileState=enabled", "Id=a.service", "SubState=waiting",
                "UnitFileState=", "Id=b.service", "SubState=running"]
    assert UnitStates().process(shuffled) == {"a.service": UnitState(True, True),
                                              "b.service": UnitState(True, False)}


def test_the_fact_asks_systemctl_once_for_every_unit() -> None:
    command = UnitStates().command(("a.service", "b.timer")).get_raw_value()
    assert command == ("systemctl show --all --property Id --property SubState "
                       "--property UnitFileState a.service b.timer")


@pytest.fixture
def fact_commands(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = defaultdict(list)
    original = FakeConnector.run_shell_command

    def record(self: FakeConnector, command: Any, *args: Any, **kwargs: Any) -> Any:
        text = command if isinstance(command, str) else command.get_raw_value()
        seen[self.host.name.removeprefix("@fake/")].append(text)
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(FakeConnector, "run_shell_command", record)
    return seen


def registry_cluster(answers: dict[str, Any]) -> dict[str, list[Any]]:
    m1 = fake_host("m1", answers, ip="10.0.0.11", zookeeper_id=1)
    return {"masters": [m1], "registry": [m1]}


def test_running_and_enabled_units_cost_one_fact_and_no_command(
        fact_commands: dict[str, list[str]]) -> None:
    answers = units_answer({"docker-registry.service": "running",
                            "docker-registry-push.service": "running"})
    ops = plan(registry_cluster(answers), ["tasks/registry.py"])["m1"]
    assert op_named(ops, "docker-registry and docker-registry-push.service enabled").commands \
        == []
    # (The restarts' SystemdStatus reads are planned here too; executed, their _if skips them.)
    asked = [c for c in fact_commands["m1"] if "UnitFileState" in c]
    assert len(asked) == 1, asked
    assert "docker-registry.service docker-registry-push.service" in asked[0]


def test_only_what_is_stopped_starts_and_only_what_is_disabled_is_enabled() -> None:
    answers = {"--property SubState --property UnitFileState docker-registry.service": [
        "Id=docker-registry.service", "SubState=dead", "UnitFileState=enabled", "",
        "Id=docker-registry-push.service", "SubState=running", "UnitFileState=disabled"]}
    ops = plan(registry_cluster(answers), ["tasks/registry.py"])["m1"]
    assert op_named(ops, "docker-registry and docker-registry-push.service enabled").commands \
        == ["systemctl start docker-registry.service",
            "systemctl enable docker-registry-push.service"]
