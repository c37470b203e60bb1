"""The deploy's ZooKeeper backup before an upgrade (pyinfra_mesos/deploy/backup_op.py, issue 12).

Planning on pyinfra @fake hosts: planned for a Mesos package move and for a Marathon image
change on a host that runs Marathon, not for a converged host, a first deploy or with
backup_before_upgrade off. Execution through pyinfra's own run_ops: the backup runs once across
hosts, before the next operation; a failing backup prints one line, fails every upgrading host
and stops the run (PyinfraError) before the next operation runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gevent
import pytest
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.operations import run_ops
from pyinfra.api.state import StateStage
from pyinfra.context import ctx_host
from pyinfra.operations import server
from test_tasks_harness import ONE_UNIT_READ, fake_host, plan, prepared

from pyinfra_mesos import backup
from pyinfra_mesos.deploy import backup_op
from pyinfra_mesos.topology import Topology

MASTER_RUNNING = {"systemctl show --all --property Id --property SubState mesos-master.service":
                  ["Id=mesos-master.service", "SubState=running"]}
# An older package on a running master: an upgrade.
OLDER_MESOS = {"dpkg -l": ["ii  aventer-mesos  1.10.0-1  amd64  Apache Mesos"], **MASTER_RUNNING}
# The same package where no Mesos runs yet (it came with the host's image): a first deploy.
OLDER_MESOS_NOT_STARTED = {"dpkg -l": ["ii  aventer-mesos  1.10.0-1  amd64  Apache Mesos"],
                           "systemctl show --all --property Id --property SubState "
                           "mesos-master.service": ["Id=mesos-master.service", "SubState=dead"]}
PINNED_MESOS = {"dpkg -l": ["ii  aventer-mesos  1.11.0-0.7.1+standin1  all  Apache Mesos"]}
MARATHON_RUNNING = {"systemctl show --all --property Id --property SubState marathon.service":
                    ["Id=marathon.service", "SubState=running"]}
OLD_IMAGE = "sha256:" + "a" * 64
NEW_IMAGE = "sha256:" + "b" * 64


def masters(responses: dict[str, Any] | None = None) -> dict[str, list[Any]]:
    return {"masters": [fake_host(f"m{i}", responses, ip=f"10.0.0.{10 + i}", zookeeper_id=i)
                        for i in (1, 2, 3)]}


def backup_ops(ops: list[Any]) -> list[Any]:
    return [op for op in ops if op.name.startswith(backup_op.OPERATION)]


def test_planned_before_the_package_move_when_mesos_moves() -> None:
    planned = plan(masters(OLDER_MESOS), ["tasks/mesos_package.py"])
    for name in ("m1", "m2", "m3"):
        names = [op.name for op in planned[name]]
        ours = backup_ops(planned[name])
        assert [op.name for op in ours] == [
            f"{backup_op.OPERATION} (aventer-mesos -> 1.11.0-0.7.1)"], name
        move = next(i for i, n in enumerate(names) if n.startswith("Move aventer-mesos"))
        assert names.index(ours[0].name) == move - 1


def test_not_planned_when_converged_on_a_first_deploy_or_opted_out() -> None:
    # Converged; nothing installed (first deploy); installed, never started (first deploy).
    for responses in (PINNED_MESOS, None, OLDER_MESOS_NOT_STARTED):
        planned = plan(masters(responses), ["tasks/mesos_package.py", "tasks/marathon.py"])
        assert not any(backup_ops(ops) for ops in planned.values()), responses
        if responses is OLDER_MESOS_NOT_STARTED:  # the package still moves, unbacked
            assert any(op.name.startswith("Move aventer-mesos") for op in planned["m1"])
    planned = plan(masters(OLDER_MESOS), ["tasks/mesos_package.py"],
                   data={"backup_before_upgrade": False})
    assert not any(backup_ops(ops) for ops in planned.values())
    assert any(op.name.startswith("Move aventer-mesos") for op in planned["m1"])


def test_marathon_image_change_on_a_running_marathon_plans_one_backup_before_its_unit() -> None:
    changed = {**PINNED_MESOS, **MARATHON_RUNNING, "docker container inspect": [OLD_IMAGE],
               "docker image inspect": [NEW_IMAGE]}
    ops = plan(masters(changed), ["tasks/mesos_package.py", "tasks/marathon.py"])["m1"]
    names = [op.name for op in ops]
    ours = backup_ops(ops)
    assert [op.name for op in ours] == [
        f"{backup_op.OPERATION} (Marathon -> mesosphere/marathon:v1.10.26)"]
    assert names.index(ours[0].name) < next(
        i for i, n in enumerate(names) if n.startswith("Install marathon.service"))
    # Both versions move: one backup, planned where the first one (the package) moves.
    both = {**changed, **OLDER_MESOS}
    ops = plan(masters(both), ["tasks/mesos_package.py", "tasks/marathon.py"])["m1"]
    assert [op.name for op in backup_ops(ops)] == [
        f"{backup_op.OPERATION} (aventer-mesos -> 1.11.0-0.7.1)"]
    # Same image running; Marathon not running yet (first deploy): no backup.
    same = {**PINNED_MESOS, **MARATHON_RUNNING, "docker container inspect": [OLD_IMAGE],
            "docker image inspect": [OLD_IMAGE]}
    stopped = {**PINNED_MESOS, "docker container inspect": [OLD_IMAGE],
               "docker image inspect": [NEW_IMAGE]}
    for responses in (same, stopped):
        ops = plan(masters(responses), ["tasks/mesos_package.py", "tasks/marathon.py"])["m1"]
        assert not backup_ops(ops)


def run_with_backup(monkeypatch: pytest.MonkeyPatch, take: Any
                    ) -> tuple[list[str], BaseException | None]:
    """Plan the backup call on every master, then one shell op each; run them with pyinfra's
    run_ops. (names of the hosts whose later op ran, the exception run_ops raised)."""
    monkeypatch.setattr(backup, "backup_cluster", take)
    later: list[str] = []
    with prepared(masters()) as (state, inventory):
        for host in inventory:
            with ctx_host.use(host):
                backup_op.plan_backup_before_upgrade(["aventer-mesos -> test"])
                server.shell(name="the upgrade", commands=["true"])
        for host in inventory:
            host.connector.run_shell_command = (  # the fake connector answers by substring
                lambda *_a, _name=host.name, **_k: (later.append(_name), (True, []))[1])
        state.set_stage(StateStage.Execute)
        try:
            run_ops(state)
        except PyinfraError as exc:
            return later, exc
    return later, None


def test_the_backup_runs_once_across_hosts_before_the_next_operation(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[Topology, Path]] = []

    def take(topo: Topology, out: Path) -> Path:
        calls.append((topo, out))
        gevent.sleep(0.05)  # the other hosts reach the call meanwhile and must wait
        target = tmp_path / "pyinfra-mesos" / "20260102T030405Z"
        target.mkdir(parents=True)
        (target / "snapshot.100").write_bytes(b"z" * 1000)
        (target / backup.MANIFEST).write_bytes(b"{}" * 12)
        return target

    later, error = run_with_backup(monkeypatch, take)
    assert error is None and sorted(later) == ["@fake/m1", "@fake/m2", "@fake/m3"]
    assert len(calls) == 1
    topo, out = calls[0]
    assert [m.name for m in topo.zookeepers] == ["@fake/m1", "@fake/m2", "@fake/m3"]
    assert out.name == backup.DEFAULT_OUT and out.is_absolute()
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith(backup_op.DONE)]
    assert len(lines) == 1, lines
    assert re.fullmatch(re.escape(f"{backup_op.DONE}{tmp_path}/pyinfra-mesos/20260102T030405Z")
                        + r" \(0\.\d s, 1024 bytes\)", lines[0]), lines[0]


def test_hosts_waiting_for_a_backup_whose_taker_died_fail_instead_of_waiting() -> None:
    class Died(BaseException):
        pass

    def take(topo: Topology, out: Path) -> Path:
        gevent.sleep(0.05)
        raise Died

    with prepared(masters()) as (state, inventory):
        hosts = list(inventory)
        with gevent.Timeout(10):
            greenlets = [gevent.spawn(backup_op.backup_once, state, h, take) for h in hosts]
            gevent.joinall(greenlets)
    assert isinstance(greenlets[0].exception, Died)
    assert [g.value for g in greenlets[1:]] == [False, False]


def test_a_failing_backup_stops_the_run_with_one_line_and_nothing_upgraded(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def take(topo: Topology, out: Path) -> Path:
        gevent.sleep(0.05)
        raise backup.RemoteError("m1: connection refused")

    later, error = run_with_backup(monkeypatch, take)
    assert later == []  # no host reached the upgrade
    assert isinstance(error, PyinfraError)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "backup before the upgrade" in line]
    assert lines == ["backup before the upgrade FAILED: m1: connection refused; nothing was "
                     "upgraded. Fix it and re-run, or set backup_before_upgrade = False to "
                     "upgrade without a backup"]
    assert "Traceback" not in err


def test_default_out_is_backups_like_the_backup_command() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    backup.add_parser(parser.add_subparsers())
    assert parser.parse_args(["backup", "inv.py"]).out == backup.DEFAULT_OUT == "backups"


def test_a_running_marathons_check_reads_only_its_containers_image_id(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """pyinfra 3 keeps no fact cache: the check reuses tasks/marathon.py's reads of
    marathon.service (the host's one unit read) and of the wanted image's id; its one read is
    the container's image."""
    from pyinfra.connectors.fake import FakeConnector

    seen: list[str] = []
    original = FakeConnector.run_shell_command

    def record(self: FakeConnector, command: Any, *args: Any, **kwargs: Any) -> Any:
        if self.host.name == "@fake/m1":
            seen.append(command if isinstance(command, str) else command.get_masked_value())
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(FakeConnector, "run_shell_command", record)
    running = {**MARATHON_RUNNING, "docker container inspect": [OLD_IMAGE],
               "docker image inspect": [NEW_IMAGE]}
    ops = plan(masters(running), ["tasks/marathon.py"])["m1"]
    assert len(backup_ops(ops)) == 1
    assert sum(ONE_UNIT_READ.search(c) is not None for c in seen) == 1, seen
    assert sum("docker image inspect" in c for c in seen) == 1, seen
    assert sum("docker container inspect" in c for c in seen) == 1, seen
