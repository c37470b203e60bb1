"""The rolling restart (pyinfra_mesos/deploy/rolling.py): when it restarts, and what it runs."""

from __future__ import annotations

import pytest
from test_tasks_harness import fake_host, op_named, plan, started

from pyinfra_mesos.restarts import Freshness, parse_freshness

MASTER_ENV = "/etc/default/mesos-master"
RUNNING = {"systemctl show --all --property Id --property SubState mesos-master.service":
           ["Id=mesos-master.service", "SubState=running"],
           "cat /etc/default/mesos-master": ["MESOS_QUORUM=2"]}


def test_parse_freshness_reads_state_start_and_inputs() -> None:
    fresh = parse_freshness(["ActiveState=active", started(1700000000.25),
                             "input=1700000001.5 /etc/a b", "input=junk /x", "noise"])
    assert fresh == Freshness(True, 1700000000.25, {"/etc/a b": 1700000001.5})
    assert fresh.stale and fresh.newest_input == ("/etc/a b", 1700000001.5)


@pytest.mark.parametrize(("freshness", "stale"), [
    (Freshness(True, 100.0, {"/a": 99.0, "/b": 100.0}), False),   # same instant: taken as read
    (Freshness(True, 100.0, {"/a": 100.000001}), True),
    (Freshness(False, 100.0, {"/a": 200.0}), False),              # not running: start, not restart
    (Freshness(True, None, {"/a": 200.0}), False),
    (Freshness(True, 100.0, {}), False),
])
def test_stale_means_running_and_started_before_an_input(freshness: Freshness,
                                                         stale: bool) -> None:
    assert freshness.stale is stale


def masters(responses: dict) -> dict:
    return {"masters": [fake_host(f"m{i}", responses, ip=f"10.0.0.{10 + i}", zookeeper_id=i)
                        for i in (1, 2, 3)],
            "agents": [fake_host("a1", {}, ip="10.0.1.11")]}


def test_an_interrupted_run_is_finished_a_master_older_than_its_files_restarts() -> None:
    stale = {**RUNNING,
             "ActiveEnterTimestamp": ["ActiveState=active", started(100),
                                      f"input=200 {MASTER_ENV}"]}
    ops = plan(masters(stale), ["tasks/mesos_master.py"])["m1"]
    restart = op_named(ops, "Restart running masters")
    assert restart.global_arguments["_serial"] is True
    assert restart.commands and "systemctl restart mesos-master.service" in restart.commands[0]
    assert "did not pass" in restart.commands[0]          # bounded wait, clear error


def test_a_service_newer_than_its_files_with_nothing_written_is_left_alone() -> None:
    assert _run_inner(["ActiveState=active", started(300), "input=200 /a"], changes=[]) == []


def _run_inner(freshness_lines: list[str], changes: list) -> list[str]:
    """Drive rolling_restart's generator directly with a stubbed host (pyinfra's _inner)."""
    from pyinfra_mesos.deploy import rolling

    class Host:
        noops: list[str] = []

        def get_fact(self, fact, **kwargs):
            return parse_freshness(freshness_lines)

        def noop(self, text: str) -> None:
            self.noops.append(text)

    class State:
        is_executing = True

    old_host, old_state = rolling.host, rolling.state
    rolling.host, rolling.state = Host(), State()  # type: ignore[assignment]
    try:
        return [str(c) for c in rolling.rolling_restart._inner(
            "x.service", ["/a"], "true", 5, changes=changes)]
    finally:
        rolling.host, rolling.state = old_host, old_state


class _Changed:
    """An OperationMeta that changed (or will)."""

    def is_complete(self) -> bool:
        return True

    def did_change(self) -> bool:
        return True


def test_at_execution_only_staleness_counts_a_change_already_restarted_is_not_redone() -> None:
    # The file changed in this run, but the service was (re)started after it was written.
    assert _run_inner(["ActiveState=active", started(300), "input=200 /a"], [_Changed()]) == []
    # The file changed and the service still runs the old one.
    out = _run_inner(["ActiveState=active", started(100), "input=200 /a"], [_Changed()])
    assert out and out[0].startswith("systemctl restart x.service")


def test_service_inputs_follow_the_roles() -> None:
    from test_tasks_harness import group_defaults

    from pyinfra_mesos.restarts import service_inputs

    data = group_defaults()
    master = service_inputs({"master", "zookeeper", "marathon"}, data)
    assert set(master) == {"docker.service", "zookeeper.service", "mesos-master.service",
                           "marathon.service"}
    assert "/etc/zookeeper/conf/zoo.cfg" in master["zookeeper.service"]
    assert "/var/lib/dpkg/info/aventer-mesos.list" in master["mesos-master.service"]
    agent = service_inputs({"agent", "load_balancer"}, data)
    assert set(agent) == {"docker.service", "mesos-agent.service"}
    assert "/etc/systemd/system/mesos-agent.service.d/docker.conf" in agent["mesos-agent.service"]
    assert service_inputs({"registry"}, data) == {}


def test_the_freshness_command_runs_for_real_against_this_machine(tmp_path) -> None:
    """The fact's shell, run here: a unit that does not exist is not active; files are dated."""
    import subprocess

    from pyinfra_mesos.deploy.rolling import ServiceFreshness

    newer = tmp_path / "with space.cfg"
    newer.write_text("x")
    command = ServiceFreshness().command("no-such-unit-pyinfra-mesos.service",
                                         [str(newer), str(tmp_path / "missing")]).get_raw_value()
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)
    fresh = parse_freshness(out.stdout.splitlines())
    assert not fresh.active and list(fresh.inputs) == [str(newer)]
    assert abs(fresh.inputs[str(newer)] - newer.stat().st_mtime) < 0.001


@pytest.mark.parametrize("has_timestamp_option", [True, False])
def test_the_freshness_command_asks_systemctl_once_and_an_old_one_for_the_state_alone(
        tmp_path, has_timestamp_option: bool) -> None:
    """One `systemctl show` for state and start (one unit serialised by systemd, one fork);
    a systemctl older than --timestamp (systemd 248) refuses it, and the state alone is read."""
    import os
    import subprocess

    from pyinfra_mesos.deploy.rolling import ServiceFreshness

    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "systemctl"
    fake.parent.mkdir()
    refuse = "" if has_timestamp_option else (
        'case "$*" in *--timestamp*) echo "unrecognized option" >&2; exit 1;; esac\n')
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n{refuse}'
                    'echo ActiveState=active\n'
                    'case "$*" in *ActiveEnterTimestamp*) '
                    'echo "ActiveEnterTimestamp=Wed 2026-12-02 06:00:42.208123 UTC";; esac\n')
    fake.chmod(0o755)
    command = ServiceFreshness().command("x.service", ()).get_raw_value()
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"})
    fresh = parse_freshness(out.stdout.splitlines())
    calls = log.read_text().splitlines()
    assert fresh.active
    if has_timestamp_option:
        assert len(calls) == 1 and fresh.started is not None
    else:
        assert len(calls) == 2 and fresh.started is None and out.stderr == ""


def test_systemctl_us_utc_timestamps_read_as_epoch_seconds_with_microseconds() -> None:
    from datetime import UTC, datetime

    from pyinfra_mesos.restarts import systemd_utc_timestamp

    expected = datetime(2026, 12, 2, 6, 0, 42, 208123, tzinfo=UTC).timestamp()
    assert systemd_utc_timestamp("Wed 2026-12-02 06:00:42.208123 UTC") == expected
    for bad in ("", "2026-12-02 06:00:42.208123", "Wed 2026-12-02 06:00:42 UTC",
                "Wed 2026-12-02 06:00:42.208123 CET"):
        with pytest.raises(ValueError):
            systemd_utc_timestamp(bad)
    # systemctl show's own lines (the fact's output): active, started then, one input.
    fresh = parse_freshness(["ActiveState=active",
                             started(1796191242.208123),
                             f"input={expected + 1:.9f} /etc/default/mesos"])
    assert fresh.active and fresh.started == expected
    assert fresh.inputs == {"/etc/default/mesos": pytest.approx(expected + 1)}
    never = parse_freshness(["ActiveState=inactive", "ActiveEnterTimestamp="])
    assert not never.active and never.started is None
