"""A ZooKeeper backup on the operator's machine before a deploy run changes a version.

Issue 12: before every upgrade, the Mesos and Marathon state (ZooKeeper's snapshot and logs) is
copied to the operator's machine, as `python -m pyinfra_mesos backup` does (pyinfra_mesos/
backup.py, into its default `--out`, backup.DEFAULT_OUT, under the working directory).

What counts as an upgrade, decided per host while operations are generated:
- the installed aventer-mesos moves to another version (deploy/mesos_files.py
  mesos_package_moves, the same fact tasks/mesos_package.py moves it by) on a host where a Mesos
  unit of its roles runs (mesos_runs: a package that came with the host's image, no Mesos
  started yet, is a first deploy);
- the installed ZooKeeper moves to another `zookeeper_version` (zookeeper_package.py
  zookeeper_moves, the fact tasks/zookeeper.py moves it by) on a host where its unit runs
  (zookeeper_upgrade_reasons: a zookeeperd that came with the host's image, no ensemble
  started yet, is a first deploy);
- on a host that runs Marathon, the running container's image id differs from the id of
  `marathon_image` (not pulled yet, or another image, a downgrade to a tag still pulled too;
  marathon_image_changes): tasks/marathon.py then installs a unit naming it and restarts.
A first deploy (nothing installed or nothing running, no container) is not an upgrade and
takes no backup.

Where it goes: `backups/<cluster_name>/<UTC time>/` under the directory pyinfra runs in (pyinfra's
state.cwd, where `credentials/` is too), as the backup command's default `--out`: a 0700
directory of 0600 files (pyinfra_mesos/backup.py). The line printed for it names the directory,
its seconds and bytes; never a secret (the files' content is never printed).

How it runs once per run, before anything changes a version:
- A host with a reason plans one python.call (plan_backup_before_upgrade) in the first task
  file of its own that changes a version: tasks/zookeeper.py just before the ZooKeeper move,
  else tasks/mesos_package.py just before the package move, else tasks/marathon.py before the
  unit (the Marathon facts are read there only, so a Mesos
  host's re-run pays no extra round trip; a running Marathon's re-run pays one, its container's
  image id). A converged host plans nothing: a re-run still reports zero changed operations.
- pyinfra runs each operation on every host before the next operation starts (pyinfra 3.x,
  pyinfra/api/operations.py `run_ops`/`_run_single_op`), so the first host to reach the call
  takes the backup; the others wait for its result (a gevent AsyncResult: FunctionCommand runs
  in the host's greenlet) and, like it, fail when it failed. A later call in the same run (the
  one in tasks/marathon.py) only reads the result.
- The callback takes `(state, host)`, so pyinfra returns its value as the command's status
  (pyinfra/api/command.py FunctionCommand.execute): False fails the host with no traceback,
  where a raised exception would be logged with one. On failure it prints one line and sets
  the run's FAIL_PERCENT to 0, so pyinfra stops the whole run after this operation
  (pyinfra/api/state.py `State.fail_hosts`); the failing hosts never reach their upgrade.

Opt out with `backup_before_upgrade = False` (group_data/all.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from weakref import WeakKeyDictionary

import click
from gevent.event import AsyncResult
from pyinfra import host
from pyinfra.api import State
from pyinfra.api.host import Host
from pyinfra.context import ctx_state
from pyinfra.operations import python

from pyinfra_mesos import backup
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import marathon_container
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.deploy.units import unit_states

OPERATION = "Back up ZooKeeper to the operator's machine before the upgrade"
MARATHON_SERVICE = "marathon.service"
MESOS_UNITS = {"master": "mesos-master.service", "agent": "mesos-agent.service"}
# The line printed when the backup is written: its directory, then `(<seconds> s, <bytes> bytes)`.
DONE = "backup before the upgrade: "


@dataclass
class BackupRun:
    """One deploy run's backup: the hosts that planned it and, once taken, its outcome
    (None: backed up; a str: the failure line)."""

    planned: set[str] = field(default_factory=set)
    outcome: AsyncResult | None = None


# Per pyinfra State (one per run; tests make several, hence weak keys: a State compares by
# identity), as deploy/private_files.py keeps its own.
_RUNS: WeakKeyDictionary[State, BackupRun] = WeakKeyDictionary()


def backup_run(state: State) -> BackupRun:
    return _RUNS.setdefault(state, BackupRun())


def marathon_image_changes(running: bool, wanted: str | None) -> bool:
    """Whether this host runs Marathon from another image than `marathon_image` (the current
    host). `running`: marathon.service runs (False on a first deploy: no backup); `wanted`: the
    image id of `marathon_image` (DockerImageId; None when not pulled yet). tasks/marathon.py
    has read both already (pyinfra 3 keeps no fact cache: a second read is a second round
    trip), so only the container's image id is read here, and only when Marathon runs."""
    if not running:
        return False
    # Made ahead with the host's planning reads (deploy/planning_reads.py).
    current = read_kept(host, marathon_container(host.data.dict()))
    return current is not None and current != wanted


def plan_backup_before_upgrade(reasons: list[str]) -> None:
    """Plan the backup call on the current host when `reasons` (what this file upgrades on it,
    e.g. ["aventer-mesos -> 1.11.0-0.8.0"]) is not empty, the host did not plan it already in
    this run, and `backup_before_upgrade` is on."""
    if not reasons or not host.data.get("backup_before_upgrade", True):
        return
    run = backup_run(ctx_state.get())
    if host.name in run.planned:
        return
    run.planned.add(host.name)
    python.call(name=f"{OPERATION} ({', '.join(reasons)})", function=backup_once)


def mesos_runs(roles: Iterable[str]) -> bool:
    """Whether a Mesos unit of `roles` ("master": mesos-master.service, "agent":
    mesos-agent.service) runs on the current host (unit_runs), asked only when the package
    moves (a converged re-run pays nothing for it)."""
    units = [MESOS_UNITS[role] for role in sorted(set(roles) & set(MESOS_UNITS))]
    return any(unit_runs(unit) for unit in units)


def unit_runs(unit: str) -> bool:
    """Whether systemd `unit` runs on the current host (units.unit_states: SystemdStatus's
    rule, from the host's one unit read while planning)."""
    return unit_states([unit])[unit].active


def zookeeper_upgrade_reasons() -> list[str]:
    """For a host whose installed ZooKeeper moves (zookeeper_package.zookeeper_moves):
    ["<zookeeper_package> -> <zookeeper_version>"] when its unit runs (an upgrade of a running
    ensemble), else [] (a first deploy on a host whose image carried zookeeperd). One
    unit_runs, asked only when it moves."""
    if not unit_runs(f"{host.data.zookeeper_service}.service"):
        return []
    return [f"{host.data.zookeeper_package} -> {host.data.get('zookeeper_version')}"]


def mesos_upgrade_reasons(roles: Iterable[str], moves: bool) -> list[str]:
    """["aventer-mesos -> <mesos_version>"] when the package `moves` on a host where Mesos
    runs (an upgrade of a running cluster), else [] (converged, or a first deploy)."""
    if moves and mesos_runs(roles):
        return [f"aventer-mesos -> {host.data.mesos_version}"]
    return []


def backup_once(state: State, host: Host,
                take: Callable[..., Path] | None = None) -> bool:
    """The callback (on the operator's machine, at execution time): the first host takes the
    backup, every host returns whether it succeeded. `take(topology, out)` defaults to
    backup.backup_cluster."""
    run = backup_run(state)
    if run.outcome is None:
        outcome = run.outcome = AsyncResult()
        failure: str | None = "backup before the upgrade did not finish"
        try:
            failure = _take(state, take or backup.backup_cluster)
        finally:
            # Set even when the taking greenlet dies (KeyboardInterrupt, GreenletExit): the
            # hosts waiting below then fail instead of waiting forever.
            outcome.set(failure)
    failure = run.outcome.get()
    return failure is None


def _take(state: State, take: Callable[..., Path]) -> str | None:
    """Take the backup; None, or the one line printed for its failure."""
    out = Path(state.cwd or ".").absolute() / backup.DEFAULT_OUT
    started = time.monotonic()
    try:
        target = take(run_topology(state), out)
        size = sum(f.stat().st_size for f in Path(target).iterdir() if f.is_file())
    # Any failure (SSH, a ZooKeeper member not serving, a full disk, a bug) must stop the
    # upgrade with one line, never a traceback.
    except Exception as exc:  # noqa: BLE001
        line = (f"backup before the upgrade FAILED: {exc}; nothing was upgraded. Fix it and "
                "re-run, or set backup_before_upgrade = False to upgrade without a backup")
        click.echo(line, err=True)
        state.config.FAIL_PERCENT = 0
        return line
    click.echo(f"{DONE}{target} ({time.monotonic() - started:.1f} s, {size} bytes)", err=True)
    return None
