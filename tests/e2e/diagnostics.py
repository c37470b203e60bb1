"""What a failed e2e phase leaves behind for whoever reads the CI log: every host's journal.

A phase that fails on the sandbox is gone with the sandbox; the CI output keeps only the
assertion. So on a failure each host's journal of the cluster's units since the phase began, and
each load balancer's haproxy.cfg, are written under build/e2e-logs/ next to the deploy logs.
Best effort and bounded: a host that does not answer gets a line saying so, never a new error
that would hide the phase's own. With PYINFRA_MESOS_E2E_JOURNALS=1 every phase keeps them, to
compare a passing run with a failing one.

The files stay on the machine that ran the tier; a CI keeps only what the run printed. So a failed
phase also prints a digest of each journal (`digest`): the lines that say what changed (a backend
DOWN or UP, a reload, the bridge's warnings, a task's state, a leader elected, a unit stopped or
started), not the traffic log, bounded per host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pyinfra_mesos.haproxy_bridge import BRIDGE_UNIT, HAPROXY_CONFIG

from .helpers import WATCHED_SERVICES

BRIDGE_UNITS = (BRIDGE_UNIT,)
JOURNAL_LINES = 20000  # per host: a 20-minute phase with the bridge every 5 s fits
ALWAYS_ENV = "PYINFRA_MESOS_E2E_JOURNALS"
DIGEST_LINES = 60  # per host, the last ones

# What a digest keeps: HAProxy's server state changes and alerts (its own words, haproxy
# src/server.c and src/check.c), the bridge's own lines (python3), Mesos' and Marathon's task
# states, registrations and elections, and units stopping or starting.
NOTABLE = re.compile(
    r" is (DOWN|UP)\b|no server available|ALERT|\[WARNING\]|python3\[|TASK_[A-Z]+|"
    r"Recovered task|[Rr]e-?registered|[Ee]lected|leader|suicide|ERROR|killing|"
    r"\b(Stopping|Started|Stopped) ")
# ... minus the noise: the bridge's own oneshot every few seconds, and the stand-ins' redirects.
NOISE = re.compile(r"pyinfra-mesos-haproxy-bridge\.(service|timer)|Redirecting request|"
                   r"not elected as leader|kazoo")


def slug(name: str) -> str:
    """A phase name as a file name part: `shrink masters 5 -> 3` -> `shrink-masters-5-3`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "phase"


def journal_command(since_epoch: float, units: Sequence[str] = WATCHED_SERVICES + BRIDGE_UNITS,
                    lines: int = JOURNAL_LINES) -> str:
    """journalctl of `units` since `since_epoch` (seconds), microsecond ISO stamps, last `lines`.

    A unit the host does not have matches no entry; journalctl still exits 0.
    """
    selectors = " ".join(f"-u {unit}.service" for unit in units)
    return (f"journalctl --no-pager -o short-iso-precise --since @{int(since_epoch)} "
            f"{selectors} | tail -n {int(lines)}")


def dump_hosts(hosts: Any, since_epoch: float, dest: Path, prefix: str) -> list[Path]:
    """Write `<prefix>-journal-<host>.log` (and `<prefix>-haproxy-<host>.cfg` on load balancers)
    under `dest` for every member of `hosts.topology`; the paths written. Never raises for a
    host: its file then holds the error."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    lbs = {m.name for m in hosts.topology.load_balancers}
    for member in hosts.topology.all_members:
        wanted = [(f"{prefix}-journal-{member.name}.log", journal_command(since_epoch))]
        if member.name in lbs:
            wanted.append((f"{prefix}-haproxy-{member.name}.cfg", f"cat {HAPROXY_CONFIG}"))
        for file_name, command in wanted:
            try:
                text = hosts.run(member.name, command, file_name)
            except Exception as exc:  # a dead host must not hide the phase's own failure
                text = f"could not read from {member.name}: {exc}\n"
            path = dest / file_name
            path.write_text(text)
            written.append(path)
    return written


def digest(journal: Iterable[str], lines: int = DIGEST_LINES) -> list[str]:
    """The last `lines` NOTABLE lines of a journal (short-iso-precise lines), NOISE left out."""
    kept = [line.rstrip("\n") for line in journal
            if NOTABLE.search(line) and not NOISE.search(line)]
    return kept[-lines:] if lines > 0 else []
