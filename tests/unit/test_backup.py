"""Backup: which ZooKeeper files make a consistent copy, the log's last zxid, the manifest,
and the whole backup run against a fake host (a temp dir standing for the member's disk)."""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import stat
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos.backup import (
    choose_member,
    parse_stage_output,
    stage_command,
    take_backup,
)
from pyinfra_mesos.zookeeper import ZkFile, last_logged_zxid, parse_name, select_backup
from tests.unit.test_status_model import srvr, topology


def names(files: list[ZkFile]) -> list[str]:
    return [f.name for f in files]


def test_select_newest_two_snapshots_and_the_log_preceding_them() -> None:
    listing = ["acceptedEpoch", "currentEpoch", "log.1", "log.100000001", "log.10000002a",
               "log.200000001", "snapshot.0", "snapshot.100000020", "snapshot.200000005"]
    # base = snapshot.100000020; the log starting at or just before it is log.100000001
    # (FileTxnLog.getLogFiles), then every later log.
    assert names(select_backup(listing)) == [
        "snapshot.100000020", "snapshot.200000005", "log.100000001", "log.10000002a",
        "log.200000001"]


def test_select_orders_by_zxid_not_by_text() -> None:
    listing = ["snapshot.a", "snapshot.9", "log.9", "log.10"]
    assert names(select_backup(listing)) == ["snapshot.9", "snapshot.a", "log.9", "log.10"]


def test_select_without_snapshot_keeps_every_log_and_refuses_nothing() -> None:
    assert names(select_backup(["log.1", "log.5"])) == ["log.1", "log.5"]
    with pytest.raises(ValueError, match="no snapshot"):
        select_backup(["myid", "acceptedEpoch"])
    assert parse_name("snapshot.1/../x") is None and parse_name("log.") is None


def txn_log(zxids: list[int], padding: int = 64) -> bytes:
    """A transaction log as FileTxnLog writes it (header, crc/len/entry/'B' records, zeros)."""
    data = b"ZKLG" + struct.pack(">iq", 2, 0)
    for zxid in zxids:
        entry = struct.pack(">qiqqi", 0x16295BAFCC40000, 1, zxid, 1700000000000, 1) + b"\0" * 8
        data += struct.pack(">qi", 12345, len(entry)) + entry + b"B"
    return data + b"\0" * padding


def test_last_logged_zxid() -> None:
    assert last_logged_zxid(txn_log([0x100000001, 0x100000002, 0x200000003])) == 0x200000003
    assert last_logged_zxid(txn_log([])) is None
    cut = txn_log([0x100000001, 0x100000002], padding=0)[:-5]  # a copy that ends mid-record
    assert last_logged_zxid(cut) == 0x100000001
    with pytest.raises(ValueError, match="ZKLG"):
        last_logged_zxid(b"not a log at all")


def test_choose_member_prefers_the_leader_then_any_serving() -> None:
    topo = topology()
    member, mode, zxid = choose_member(topo, {"m1": srvr("follower"), "m2": srvr("leader")})
    assert (member.name, mode, zxid) == ("m2", "leader", "0x100000042")
    assert choose_member(topo, {"m3": srvr("follower")})[0].name == "m3"
    with pytest.raises(ValueError, match="no ZooKeeper member is serving"):
        choose_member(topo, {"m1": srvr("not-serving"), "m2": ""})


def test_stage_command_runs_for_real(tmp_path: Path) -> None:
    """The staging shell on this machine: a private copy, sha256 and size per file."""
    (tmp_path / "version-2").mkdir()
    (tmp_path / "version-2" / "snapshot.5").write_bytes(b"snap")
    (tmp_path / "version-2" / "log.1").write_bytes(b"log-bytes")
    files = select_backup(["snapshot.5", "log.1"])
    out = subprocess.run(["bash", "-c", stage_command(str(tmp_path), str(tmp_path), files)],
                         capture_output=True, text=True, check=True, timeout=20).stdout
    stage, hashes = parse_stage_output(out)
    try:
        assert stat.S_IMODE(Path(stage).stat().st_mode) == 0o700
        assert hashes["log.1"][1] == 9
        assert hashes["snapshot.5"] == (hashlib.sha256(b"snap").hexdigest(), 4)
        assert (Path(stage) / "log.1").read_bytes() == b"log-bytes"
    finally:
        shutil.rmtree(stage)


class LocalConn:
    """A Connection that runs commands with bash here and copies files locally."""

    def run(self, command: str, timeout_s: float = 10) -> tuple[int, str, str]:
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                              timeout=timeout_s)
        return done.returncode, done.stdout, done.stderr

    def check_output(self, command: str, timeout_s: float = 10) -> str:
        status, out, err = self.run(command, timeout_s)
        assert status == 0, err
        return out

    def get(self, remote: str, local: Path, timeout_s: float = 10) -> None:
        shutil.copyfile(remote, local)


class LocalHosts:
    def __init__(self, srvr_answers: dict[str, str]) -> None:
        self.srvr_answers = srvr_answers

    def transport(self, name: str, command: str) -> str:
        return self.srvr_answers.get(name, "")

    def connection(self, name: str) -> Any:
        return LocalConn()


def test_take_backup_writes_files_and_manifest(tmp_path: Path) -> None:
    data_dir = tmp_path / "zk"
    (data_dir / "version-2").mkdir(parents=True)
    (data_dir / "version-2" / "snapshot.100000020").write_bytes(b"fuzzy")
    (data_dir / "version-2" / "log.100000001").write_bytes(txn_log([0x100000001, 0x100000030]))
    (data_dir / "version-2" / "acceptedEpoch").write_text("1")
    topo = topology()
    for m in topo.zookeepers:  # point zoo.cfg lookups at the temp dir
        m.data["zookeeper_conf_dir"] = str(tmp_path / "conf")
        m.data["zookeeper_data_dir"] = str(data_dir)
        m.data["cluster_name"] = "prod"
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    out = tmp_path / "out"
    before = set(Path("/tmp").glob("pyinfra-mesos-backup.*"))
    target = take_backup(topo, LocalHosts({"m1": srvr("leader")}), out, now=lambda: when)
    assert target == out / "prod" / "20260102T030405Z"
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["host"] == "m1" and manifest["mode"] == "leader"
    assert manifest["zxid"] == {"snapshot": "0x100000020", "first_log": "0x100000001",
                                "last_logged": "0x100000030"}
    assert [f["name"] for f in manifest["files"]] == ["snapshot.100000020", "log.100000001"]
    for entry in manifest["files"]:
        path = target / entry["name"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert entry["size"] == path.stat().st_size
    assert stat.S_IMODE((target / "manifest.json").stat().st_mode) == 0o600
    assert set(Path("/tmp").glob("pyinfra-mesos-backup.*")) == before  # staging removed
