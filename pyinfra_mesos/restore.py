"""`python -m pyinfra_mesos restore INVENTORY BACKUP_DIR --yes`: put a `backup` back into every
ZooKeeper member. DESTRUCTIVE: the cluster's current ZooKeeper state (Mesos leader election,
Marathon's apps and deployments) is replaced by the backup's; Marathon and the Mesos masters
are down while it runs. Agents and their running tasks are not touched.

Without --yes it only prints the plan and exits 2. The steps, one line each as they run:
  1. check the backup (manifest, names, sha256, sizes) - before any host is touched
  2. upload the files to a private staging dir on every member, verify their sha256 there
  3. check each member's zoo.cfg keeps dataDir at zookeeper_data_dir (no dataLogDir)
  4. stop Marathon on every Marathon host, then the Mesos masters, then every ZooKeeper member
  5. on every member: move <dataDir>/version-2 aside to version-2.before-restore-<stamp>
     (never deleted), install the backup as version-2 (owner of dataDir: zookeeper:zookeeper
     as the package makes it; files 0640), remove the staging dir
  6. start every member, wait until exactly one leads and the rest follow
  7. start the Mesos masters, wait until they agree on a leader; start Marathon, wait for its
     leader
Every member gets the same files, so the ensemble starts from one history; a member without
currentEpoch/acceptedEpoch derives them from the newest zxid (QuorumPeer.loadDataBase,
apache/zookeeper 3.8 zookeeper-server/.../quorum/QuorumPeer.java).

Exit 0: restored; 1: a step failed (the lines say which; version-2.before-restore-<stamp> holds
the previous data); 2: bad inventory, bad backup, usage, or no --yes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyinfra_mesos.backup import MANIFEST, sha256_file, utc_stamp
from pyinfra_mesos.remote import Hosts, RemoteError
from pyinfra_mesos.status_collect import curl_command, srvr_command
from pyinfra_mesos.status_model import (
    marathon_leader,
    marathon_view,
    master_view,
    mesos_leader,
    zookeeper_members,
    zookeeper_problems,
)
from pyinfra_mesos.topology import (
    Member,
    Topology,
    marathon_url,
    member_port,
    mesos_master_url,
)
from pyinfra_mesos.zookeeper import parse_name

STOP_TIMEOUT_S = 120.0  # Marathon's docker stop outwaits its 45 s graceful shutdown
RUN_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 2.0


@dataclass(frozen=True)
class Step:
    """One restore step. kind: "upload" (files to `host`:`path`), "run" (`command` on `host`),
    "wait" (`check` on `hosts` until healthy, at most `timeout_s`)."""

    kind: str
    text: str
    host: str = ""
    command: str = ""
    path: str = ""
    check: str = ""  # "zookeeper" | "mesos" | "marathon"
    timeout_s: float = RUN_TIMEOUT_S


def backup_problems(backup: Path) -> list[str]:
    """Why `backup` is not a usable backup directory ([] when it is)."""
    manifest_path = backup / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{manifest_path}: cannot read it: {exc}"]
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list) or not files:
        return [f"{manifest_path}: files: no files listed"]
    problems = []
    for entry in files:
        name = str(entry.get("name", "")) if isinstance(entry, dict) else ""
        if parse_name(name) is None:
            problems.append(f"{manifest_path}: files: {name!r} is not a snapshot.* or log.* name")
            continue
        path = backup / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != entry.get("size") or sha256_file(path) != entry.get("sha256"):
            problems.append(f"{path}: sha256 or size differs from the manifest")
    return problems


def backup_files(backup: Path) -> list[tuple[str, str]]:
    """[(file name, sha256)] of a backup that passed backup_problems, in manifest order."""
    manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    return [(str(entry["name"]), str(entry["sha256"])) for entry in manifest["files"]]


def _data(member: Member, key: str, default: str) -> str:
    value = member.data.get(key)
    return str(value) if value not in (None, "") else default


def swap_command(data_dir: str, staging: str, stamp: str) -> str:
    """Move version-2 aside (never deleted) and install the staged files as the new one, owned
    like dataDir (what the package made: zookeeper:zookeeper)."""
    data, stage = shlex.quote(data_dir), shlex.quote(staging)
    aside = shlex.quote(f"{data_dir}/version-2.before-restore-{stamp}")
    return (f"set -e; owner=$(stat -c %u:%g {data}); "
            f"if [ -e {data}/version-2 ]; then mv {data}/version-2 {aside}; fi; "
            f"install -d -o \"${{owner%:*}}\" -g \"${{owner#*:}}\" -m 0750 {data}/version-2; "
            f"install -o \"${{owner%:*}}\" -g \"${{owner#*:}}\" -m 0640 {stage}/* "
            f"{data}/version-2/; rm -rf -- {stage}")


def restore_plan(topo: Topology, files: Sequence[tuple[str, str]], stamp: str) -> list[Step]:
    """Every step of a restore, in order (pure). `files`: [(name, sha256)] of the backup."""
    staging = f"/tmp/pyinfra-mesos-restore-{stamp}"
    zks, masters, marathons = topo.zookeepers, topo.masters, topo.marathons
    steps: list[Step] = []
    for m in zks:
        steps.append(Step("run", f"{m.name}: make staging dir {staging}", m.name,
                          f"install -d -m 0700 -o \"${{SUDO_USER:-$(id -un)}}\" {staging}"))
        steps.append(Step("upload", f"{m.name}: upload {len(files)} files", m.name,
                          path=staging))
        sums = "".join(f"{digest}  {name}\\n" for name, digest in files)
        steps.append(Step("run", f"{m.name}: sha256 of the uploaded files", m.name,
                          f"cd {staging} && printf {shlex.quote(sums)} | sha256sum -c --quiet"))
        data_dir = _data(m, "zookeeper_data_dir", "/var/lib/zookeeper")
        cfg = shlex.quote(_data(m, "zookeeper_conf_dir", "/etc/zookeeper/conf") + "/zoo.cfg")
        steps.append(Step("run", f"{m.name}: zoo.cfg has dataDir={data_dir} and no dataLogDir",
                          m.name, f"grep -qx {shlex.quote('dataDir=' + data_dir)} {cfg} && "
                                  f"! grep -q '^dataLogDir=' {cfg}"))
    for m in marathons:
        steps.append(Step("run", f"{m.name}: stop marathon", m.name, "systemctl stop marathon",
                          timeout_s=STOP_TIMEOUT_S))
    for m in masters:
        steps.append(Step("run", f"{m.name}: stop mesos-master", m.name,
                          "systemctl stop mesos-master", timeout_s=STOP_TIMEOUT_S))
    for m in zks:
        unit = _data(m, "zookeeper_service", "zookeeper")
        steps.append(Step("run", f"{m.name}: stop {unit}", m.name,
                          f"systemctl stop {shlex.quote(unit)}", timeout_s=STOP_TIMEOUT_S))
    for m in zks:
        data_dir = _data(m, "zookeeper_data_dir", "/var/lib/zookeeper")
        steps.append(Step("run", f"{m.name}: move {data_dir}/version-2 to "
                                 f"version-2.before-restore-{stamp}, install the backup",
                          m.name, swap_command(data_dir, staging, stamp)))
    steps += _start_and_wait(zks, lambda m: _data(m, "zookeeper_service", "zookeeper"),
                             "zookeeper_restart_wait_s", 120.0, "zookeeper",
                             "ZooKeeper: one leader, the others following")
    steps += _start_and_wait(masters, lambda m: "mesos-master", "mesos_master_restart_wait_s",
                             60.0, "mesos", "Mesos: every master names the same leader")
    steps += _start_and_wait(marathons, lambda m: "marathon", "marathon_restart_wait_s", 300.0,
                             "marathon", "Marathon: every instance names the same leader")
    return steps


def _start_and_wait(members: Sequence[Member], unit_of: Callable[[Member], str], wait_key: str,
                    default_s: float, check: str, what: str) -> list[Step]:
    """Start `unit_of(m)` on each member, then one wait step for `check`, bounded by the
    longest of the members' `wait_key` (seconds; `default_s` when unset)."""
    steps = [Step("run", f"{m.name}: start {unit_of(m)}", m.name,
                  f"systemctl start {shlex.quote(unit_of(m))}") for m in members]
    wait = max((float(m.data.get(wait_key) or default_s) for m in members), default=default_s)
    steps.append(Step("wait", what, check=check, timeout_s=wait))
    return steps


def wait_problem(check: str, topo: Topology, transport: Callable[[str, str], str],
                 marathon_auth: bool) -> str | None:
    """None when the `check` ("zookeeper", "mesos", "marathon") is healthy, else why not."""
    from pyinfra_mesos.marathon import MARATHON_CURL_CONFIG

    def ask(member: Member, command: str) -> Any:
        try:
            return transport(member.name, command)
        except RemoteError as exc:
            from pyinfra_mesos.status_model import Failed

            return Failed(str(exc))

    if check == "zookeeper":
        answers = {m.name: ask(m, srvr_command(m.ip, member_port(m, "zookeeper_client_port")))
                   for m in topo.zookeepers}
        problems = zookeeper_problems(zookeeper_members(topo, answers))
        return "; ".join(problems) or None
    if check == "mesos":
        views = [master_view(m, member_port(m, "mesos_master_port"), ask(
            m, curl_command(f"{mesos_master_url(m)}/redirect")))
                 for m in topo.masters]
        return "; ".join(mesos_leader(views)[1]) or None
    auth = MARATHON_CURL_CONFIG if marathon_auth else None
    views = [marathon_view(m, member_port(m, "marathon_http_port"), ask(
        m, curl_command(f"{marathon_url(m)}/v2/leader", auth))) for m in topo.marathons]
    return "; ".join(marathon_leader(views)[1]) or None


def execute(steps: Sequence[Step], topo: Topology, hosts: Hosts, backup: Path,
            marathon_auth: bool, clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep) -> int:
    """Run the steps in order, one line each; stop at the first failure. 0 done, 1 failed."""
    files = backup_files(backup)

    def transport(host: str, command: str) -> str:
        return hosts.connection(host).check_output(command, RUN_TIMEOUT_S)

    for index, step in enumerate(steps, 1):
        started = clock()
        try:
            if step.kind == "run":
                hosts.connection(step.host).check_output(step.command, step.timeout_s)
            elif step.kind == "upload":
                for name, _ in files:
                    hosts.connection(step.host).put(backup / name, f"{step.path}/{name}")
            else:
                while (problem := wait_problem(step.check, topo, transport, marathon_auth)):
                    if clock() - started > step.timeout_s:
                        raise RemoteError(f"{problem} (still after {step.timeout_s:g} s)")
                    sleep(POLL_INTERVAL_S)
        except (RemoteError, OSError) as exc:
            print(f"step {index}/{len(steps)}: {step.text}: FAILED: {exc}", flush=True)
            return 1
        print(f"step {index}/{len(steps)}: {step.text}: ok ({clock() - started:.1f} s)",
              flush=True)
    return 0


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "restore", help="DESTRUCTIVE: replace ZooKeeper's state with a backup (needs --yes)",
        description="Replace every ZooKeeper member's data with BACKUP_DIR (made by `backup`): "
                    "stops Marathon, the Mesos masters and ZooKeeper, moves version-2 aside "
                    "(never deleted), installs the backup, starts everything again. Without "
                    "--yes it prints the plan only. Exit 0: restored; 1: a step failed; "
                    "2: bad inventory, bad backup, usage, or no --yes.")
    parser.add_argument("inventory", metavar="INVENTORY")
    parser.add_argument("backup", metavar="BACKUP_DIR")
    parser.add_argument("--yes", action="store_true",
                        help="really do it (the plan is printed either way)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, now: Callable[[], datetime.datetime] | None = None) -> int:
    from pyinfra_mesos.status import marathon_auth, open_hosts, topology_or_report

    topo = topology_or_report(args.inventory)
    if topo is None:
        return 2
    backup = Path(args.backup)
    problems = backup_problems(backup)
    for problem in problems:
        print(f"error: {problem}")
    if problems:
        return 2
    stamp = utc_stamp((now or (lambda: datetime.datetime.now(datetime.UTC)))())
    steps = restore_plan(topo, backup_files(backup), stamp)
    if not args.yes:
        for index, step in enumerate(steps, 1):
            print(f"plan {index}/{len(steps)}: {step.text}")
        print("refused: restore replaces ZooKeeper's data on every member; re-run with --yes")
        return 2
    auth = marathon_auth(topo)
    hosts = open_hosts(topo, time.monotonic() + 30.0)
    try:
        if hosts.unreachable:
            for reason in hosts.unreachable.values():
                print(f"unreachable: {reason}")
            print("refused: every host must be reachable before a restore starts")
            return 1
        result = execute(steps, topo, hosts, backup, auth)
    finally:
        hosts.close()
    print("restore: done" if result == 0 else "restore: FAILED (see the step above)")
    return result

