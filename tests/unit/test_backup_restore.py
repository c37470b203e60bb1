"""Restore: the pure step plan (order, never deleting, --yes), the backup check, the swap shell
run for real on a temp dir, and the runner over fake connections."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos import restore
from pyinfra_mesos.restore import backup_problems, execute, restore_plan, swap_command
from pyinfra_mesos.topology import build_topology
from tests.unit.test_status_model import http, srvr, topology

FILES = [("snapshot.5", "a" * 64), ("log.1", "b" * 64)]


def texts(steps: list[Any]) -> list[str]:
    return [s.text for s in steps]


def test_plan_order() -> None:
    steps = restore_plan(topology(), FILES, "20260102T030405Z")
    t = texts(steps)
    first_stop = t.index("m1: stop marathon")
    # everything is uploaded and checked on every member before anything stops
    assert all(s.kind in ("run", "upload") and "stop" not in s.text for s in steps[:first_stop])
    uploads = [s.text for s in steps if s.kind == "upload"]
    assert uploads == ["m1: upload 2 files", "m2: upload 2 files", "m3: upload 2 files"]
    order = ["m3: stop marathon", "m1: stop mesos-master", "m3: stop mesos-master",
             "m1: stop zookeeper", "m3: stop zookeeper", "m1: move", "m3: move",
             "m1: start zookeeper", "m3: start zookeeper", "ZooKeeper: one leader",
             "m1: start mesos-master", "Mesos: every master", "m1: start marathon",
             "m3: start marathon", "Marathon: every instance"]
    positions = [next(i for i, x in enumerate(t) if x.startswith(o)) for o in order]
    assert positions == sorted(positions)
    assert steps[-1].check == "marathon"
    assert not any("rm -rf" in s.command and "version-2" in s.command.split("rm -rf")[-1]
                   for s in steps)


def test_plan_follows_explicit_groups() -> None:
    topo = build_topology({
        "masters": [("m1", {"ip": "10.0.0.1", "zookeeper_id": 1})],
        "zookeepers": [("z1", {"ip": "10.0.0.5", "zookeeper_id": 1,
                               "zookeeper_data_dir": "/data/zk"})],
        "marathon": [("mt1", {"ip": "10.0.0.9"})],
    })
    t = texts(restore_plan(topo, FILES, "S"))
    assert "mt1: stop marathon" in t and "z1: stop zookeeper" in t
    assert "z1: move /data/zk/version-2 to version-2.before-restore-S, install the backup" in t
    assert not any(x.startswith("m1: stop zookeeper") for x in t)


def test_swap_moves_aside_and_installs(tmp_path: Path) -> None:
    data = tmp_path / "zk"
    (data / "version-2").mkdir(parents=True)
    (data / "version-2" / "snapshot.1").write_text("old")
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "snapshot.5").write_text("new")
    subprocess.run(["bash", "-c", swap_command(str(data), str(stage), "S")], check=True,
                   timeout=20)
    assert (data / "version-2.before-restore-S" / "snapshot.1").read_text() == "old"
    assert [p.name for p in (data / "version-2").iterdir()] == ["snapshot.5"]
    assert oct((data / "version-2" / "snapshot.5").stat().st_mode & 0o777) == "0o640"
    assert not stage.exists()


def make_backup(tmp_path: Path) -> Path:
    backup = tmp_path / "b"
    backup.mkdir()
    entries = []
    for name, content in (("snapshot.5", b"snap"), ("log.1", b"log")):
        (backup / name).write_bytes(content)
        entries.append({"name": name, "size": len(content),
                        "sha256": hashlib.sha256(content).hexdigest()})
    (backup / "manifest.json").write_text(json.dumps({"version": 1, "files": entries}))
    return backup


def test_backup_problems(tmp_path: Path) -> None:
    backup = make_backup(tmp_path)
    assert backup_problems(backup) == []
    (backup / "log.1").write_bytes(b"tampered")
    assert backup_problems(backup) == [f"{backup / 'log.1'}: sha256 or size differs from the "
                                       "manifest"]
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["files"][0]["name"] = "../../etc/passwd"
    (backup / "manifest.json").write_text(json.dumps(manifest))
    assert any("is not a snapshot.* or log.* name" in p for p in backup_problems(backup))
    assert "cannot read it" in backup_problems(tmp_path / "nothing")[0]


class FakeConn:
    def __init__(self, log: list[str], name: str, fail_on: str = "") -> None:
        self.log, self.name, self.fail_on = log, name, fail_on

    def check_output(self, command: str, timeout_s: float = 10) -> str:
        from pyinfra_mesos.remote import RemoteError

        self.log.append(f"{self.name}: {command}")
        if self.fail_on and self.fail_on in command:
            raise RemoteError(f"{self.name}: exit 1: failed")
        if "echo srvr" in command:
            return srvr("leader" if self.name == "m1" else "follower")
        if "/redirect" in command:
            return http("", 307, "http://10.0.5.220:5050/")
        if "/v2/leader" in command:
            return http({"leader": "10.0.5.220:8080"})
        return ""

    def put(self, local: Path, remote: str) -> None:
        self.log.append(f"{self.name}: put {local.name} {remote}")


class FakeHosts:
    def __init__(self, fail_on: str = "") -> None:
        self.log: list[str] = []
        self.fail_on = fail_on

    def connection(self, name: str) -> FakeConn:
        return FakeConn(self.log, name, self.fail_on)


def test_execute_runs_every_step_one_line_each(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    backup = make_backup(tmp_path)
    steps = restore_plan(topology(), restore.backup_files(backup), "S")
    hosts = FakeHosts()
    assert execute(steps, topology(), hosts, backup, marathon_auth=True,
                   sleep=lambda _: None) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(steps)
    assert all(line.startswith(f"step {i}/{len(steps)}: ") and ": ok (" in line
               for i, line in enumerate(lines, 1))
    assert "m2: put snapshot.5 /tmp/pyinfra-mesos-restore-S/snapshot.5" in hosts.log


def test_execute_stops_at_the_first_failure(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    backup = make_backup(tmp_path)
    steps = restore_plan(topology(), restore.backup_files(backup), "S")
    hosts = FakeHosts(fail_on="systemctl stop mesos-master")
    assert execute(steps, topology(), hosts, backup, marathon_auth=False,
                   sleep=lambda _: None) == 1
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith("m1: stop mesos-master: FAILED: m1: exit 1: failed")
    assert not any("stop zookeeper" in entry for entry in hosts.log)


def test_wait_gives_up_after_its_timeout(tmp_path: Path) -> None:
    backup = make_backup(tmp_path)
    steps = [s for s in restore_plan(topology(), restore.backup_files(backup), "S")
             if s.check == "zookeeper"]

    class Split(FakeHosts):
        def connection(self, name: str) -> FakeConn:
            conn = FakeConn(self.log, name)
            conn.name = "m1"  # every member claims to lead
            return conn

    ticks = iter(range(0, 10_000, 30))
    assert execute(steps, topology(), Split(), backup, marathon_auth=False,
                   clock=lambda: float(next(ticks)), sleep=lambda _: None) == 1


def test_without_yes_only_the_plan_is_printed(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    backup = make_backup(tmp_path)
    args = argparse.Namespace(inventory="inventory/example_production.py", backup=str(backup),
                              yes=False)
    assert restore.run(args) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("refused: restore replaces ZooKeeper's data")
    assert all(line.startswith("plan ") for line in out[:-1])
