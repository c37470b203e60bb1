"""`python -m pyinfra_mesos backup INVENTORY [--out DIR]`: ZooKeeper's data (the Mesos and
Marathon state: /mesos, /marathon) copied to the operator's machine over SSH.

On the ZooKeeper leader (else any serving member): read dataDir / dataLogDir from zoo.cfg
(else group_data `zookeeper_data_dir`), pick the newest snapshots and the logs from the one
preceding them under `<dir>/version-2` (Debian zookeeperd's layout; the rule and its sources in
pyinfra_mesos/zookeeper.py), copy them on the host into a private 0700 staging dir in one `cp`
(so the set is taken at one moment), fetch them with SFTP into
`DIR/<cluster_name>/<UTC timestamp>/` (dir 0700, files 0600), check each sha256 against the
host's, remove the staging dir, and write `manifest.json`:

    {"version": 1, "cluster_name", "created": "2026-01-02T03:04:05Z", "host", "address",
     "mode": "leader"|"follower"|"standalone", "server_zxid": "0x..." (srvr at backup time),
     "data_dir", "data_log_dir",
     "zxid": {"snapshot": "0x..." (newest), "first_log": "0x..."|null,
              "last_logged": "0x..."|null (last record of the newest log)},
     "files": [{"name", "kind": "snapshot"|"log", "zxid": "0x...", "size", "sha256"}]}

One line per step. Exit 0: backup written (its directory is the last line, `backup: DIR`);
1: a step failed (nothing partial is left as a backup: the directory is removed);
2: bad inventory or usage.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shlex
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pyinfra_mesos.remote import Connection, Hosts, RemoteError
from pyinfra_mesos.status_collect import srvr_command
from pyinfra_mesos.status_model import parse_srvr
from pyinfra_mesos.topology import Member, Topology, member_port
from pyinfra_mesos.zookeeper import ZkFile, hex_zxid, last_logged_zxid, select_backup

STAGING_PREFIX = "pyinfra-mesos-backup."
MANIFEST = "manifest.json"
COPY_TIMEOUT_S = 300.0
# Where backups go, relative to the working directory: `backup --out`'s default and where the
# deploy's backup before an upgrade goes (pyinfra_mesos/deploy/backup_op.py).
DEFAULT_OUT = "backups"
# How long opening SSH to the ZooKeeper members may take, all together (seconds).
CONNECT_DEADLINE_S = 30.0


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "backup", help="copy ZooKeeper's snapshot and logs to this machine over SSH",
        description="Copy a consistent set of ZooKeeper's files (snapshot + logs) from the "
                    "leader to DIR/<cluster_name>/<UTC timestamp>/ with a manifest.json. "
                    "Exit 0: written; 1: a step failed; 2: bad inventory or usage.")
    parser.add_argument("inventory", metavar="INVENTORY")
    parser.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                        help="where backups go (default: backups/ in the working directory)")
    parser.set_defaults(run=run)


def parse_zoo_cfg(text: str) -> dict[str, str]:
    """`key=value` lines of zoo.cfg (comments and blanks skipped)."""
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def choose_member(topo: Topology, srvr: Mapping[str, Any]) -> tuple[Member, str, str | None]:
    """(member, mode, zxid) to copy from: the leader, else a follower or standalone member.
    Raises ValueError when no member serves (a stopped member's files may be behind)."""
    ranked = []
    for member in topo.zookeepers:
        mode, zxid, _ = parse_srvr(srvr.get(member.name, ""))
        rank = {"leader": 0, "standalone": 1, "follower": 2}.get(mode)
        if rank is not None:
            ranked.append((rank, member, mode, zxid))
    if not ranked:
        raise ValueError("no ZooKeeper member is serving (srvr answered no leader, follower "
                         "or standalone)")
    _, member, mode, zxid = min(ranked, key=lambda r: r[0])
    return member, mode, zxid


def stage_command(data_dir: str, log_dir: str, files: list[ZkFile]) -> str:
    """Copy `files` into a new 0700 dir owned by the SSH user (SFTP reads it), then print the
    dir and `sha256  size  name` per file."""
    sources = " ".join(shlex.quote(f"{log_dir if f.kind == 'log' else data_dir}/version-2/"
                                   f"{f.name}") for f in files)
    return ("set -e; d=$(mktemp -d /tmp/" + STAGING_PREFIX + "XXXXXX); "
            f"cp -p {sources} \"$d\"/; "
            "chown -R \"${SUDO_USER:-$(id -un)}\" \"$d\"; chmod 0700 \"$d\"; echo \"$d\"; "
            "cd \"$d\"; for f in *; do "
            "echo \"$(sha256sum \"$f\" | cut -d' ' -f1) $(stat -c %s \"$f\") $f\"; done")


def parse_stage_output(text: str) -> tuple[str, dict[str, tuple[str, int]]]:
    """(staging dir, {name: (sha256, size)}); ValueError when it is not what stage printed."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("/tmp/" + STAGING_PREFIX):
        raise ValueError(f"unexpected staging output: {text[:200]!r}")
    found = {}
    for line in lines[1:]:
        digest, size, name = line.split(" ", 2)
        found[name] = (digest, int(size))
    return lines[0], found


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def utc_stamp(now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y%m%dT%H%M%SZ")


def build_manifest(*, cluster_name: str, created: str, member: Member, mode: str,
                   server_zxid: str | None, data_dir: str, log_dir: str, files: list[ZkFile],
                   hashes: Mapping[str, tuple[str, int]],
                   last_logged: int | None) -> dict[str, Any]:
    snapshots = [f for f in files if f.kind == "snapshot"]
    logs = [f for f in files if f.kind == "log"]
    return {
        "version": 1, "cluster_name": cluster_name, "created": created, "host": member.name,
        "address": member.ip, "mode": mode, "server_zxid": server_zxid, "data_dir": data_dir,
        "data_log_dir": log_dir,
        "zxid": {"snapshot": hex_zxid(snapshots[-1].zxid) if snapshots else None,
                 "first_log": hex_zxid(logs[0].zxid) if logs else None,
                 "last_logged": hex_zxid(last_logged)},
        "files": [{"name": f.name, "kind": f.kind, "zxid": hex_zxid(f.zxid),
                   "size": hashes[f.name][1], "sha256": hashes[f.name][0]} for f in files],
    }


def _step(text: str) -> None:
    print(text, flush=True)


def take_backup(topo: Topology, hosts: Hosts, out: Path,
                now: Callable[[], datetime.datetime] | None = None) -> Path:
    """Write one backup under `out`; its directory. Raises RemoteError/ValueError/OSError."""
    srvr = {}
    for member in topo.zookeepers:
        port = member_port(member, "zookeeper_client_port")
        try:
            srvr[member.name] = hosts.transport(member.name, srvr_command(member.ip, port))
        except RemoteError as exc:
            _step(f"srvr {member.name}: {exc}")
    member, mode, server_zxid = choose_member(topo, srvr)
    _step(f"source: {member.name} ({member.ip}), ZooKeeper {mode}, zxid {server_zxid}")
    conn: Connection = hosts.connection(member.name)

    conf_dir = str(member.data.get("zookeeper_conf_dir") or "/etc/zookeeper/conf")
    status, text, _ = conn.run(f"cat {shlex.quote(conf_dir + '/zoo.cfg')}")
    cfg = parse_zoo_cfg(text) if status == 0 else {}
    data_dir = cfg.get("dataDir") or str(member.data.get("zookeeper_data_dir")
                                         or "/var/lib/zookeeper")
    log_dir = cfg.get("dataLogDir") or data_dir
    listing = conn.check_output(f"ls -1 {shlex.quote(data_dir + '/version-2')}")
    if log_dir != data_dir:
        listing += conn.check_output(f"ls -1 {shlex.quote(log_dir + '/version-2')}")
    files = select_backup(listing.split())
    _step(f"files: {len(files)} in {data_dir}/version-2: " + ", ".join(f.name for f in files))

    stage_dir, hashes = parse_stage_output(
        conn.check_output(stage_command(data_dir, log_dir, files), COPY_TIMEOUT_S))
    _step(f"staged on {member.name}: {stage_dir}")
    cluster = str(member.data.get("cluster_name") or "pyinfra-mesos")
    created_at = (now or (lambda: datetime.datetime.now(datetime.UTC)))()
    target = out / cluster / utc_stamp(created_at)
    old_umask = os.umask(0o077)
    try:
        target.mkdir(mode=0o700, parents=True, exist_ok=False)
        for f in files:
            local = target / f.name
            conn.get(f"{stage_dir}/{f.name}", local, COPY_TIMEOUT_S)
            digest, size = hashes[f.name]
            if sha256_file(local) != digest or local.stat().st_size != size:
                raise ValueError(f"{f.name}: the copy does not match the host's sha256/size")
            _step(f"fetched {f.name} ({size} bytes, sha256 {digest[:12]}...)")
        logs = [f for f in files if f.kind == "log"]
        last = last_logged_zxid((target / logs[-1].name).read_bytes()) if logs else None
        manifest = build_manifest(
            cluster_name=cluster, created=created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            member=member, mode=mode, server_zxid=server_zxid, data_dir=data_dir,
            log_dir=log_dir, files=files, hashes=hashes, last_logged=last)
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.chmod(target / MANIFEST, 0o600)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        os.umask(old_umask)
        conn.run(f"rm -rf -- {shlex.quote(stage_dir)}")  # only the mktemp dir made above
    _step(f"removed {stage_dir} on {member.name}")
    return target


def backup_cluster(topo: Topology, out: Path) -> Path:
    """take_backup over SSH connections this opens to the ZooKeeper members (and closes): the
    backup's directory. `topo` may come from an inventory file (run) or from the inventory of a
    running deploy (deploy/backup_op.py). Raises RemoteError/ValueError/OSError."""
    from pyinfra_mesos.status import open_hosts

    hosts = open_hosts(_zookeeper_only(topo), time.monotonic() + CONNECT_DEADLINE_S)
    for reason in hosts.unreachable.values():
        _step(f"unreachable: {reason}")
    try:
        return take_backup(topo, hosts, out)
    finally:
        hosts.close()


def run(args: argparse.Namespace) -> int:
    from pyinfra_mesos.status import topology_or_report

    topo = topology_or_report(args.inventory)
    if topo is None:
        return 2
    try:
        target = backup_cluster(topo, Path(args.out))
    except (RemoteError, ValueError, OSError) as exc:
        print(f"backup FAILED: {exc}")
        return 1
    print(f"backup: {target}")
    return 0


def _zookeeper_only(topo: Topology) -> Topology:
    from dataclasses import replace

    return replace(topo, masters=(), agents=(), marathons=(), load_balancers=(), registries=())
