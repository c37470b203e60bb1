"""How long each operation of a pyinfra run took, from its output lines as they streamed.

pyinfra 3.10 (pyinfra_cli/cli.py, pyinfra/api/operations.py and pyinfra/api/util.py
``log_operation_start``) logs to stderr, one line a message, and in its default mode runs one
operation on every host before starting the next:

    --> Beginning operation run...
    --> Starting operation: Install base packages
        [master1] Success
        [agent1] No changes
    --> Starting serial operation: Restart Docker (...), one host at a time
        [agent1] Success
    --> Results:

The operation kind words ("serial", "run once", "serial, run once") sit between "Starting"
and "operation:". An operation lasts from its "Starting" line to the next one (or to
"--> Results:", or to the end of the output when the run died). Everything before
"--> Beginning operation run..." is connecting, fact gathering and planning.

Input shape: ``[(seconds since the command started, line), ...]`` in arrival order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BEGIN_RUN = "--> Beginning operation run..."
RESULTS = "--> Results:"
START_OP = re.compile(r"^--> Starting (?P<kind>(?:[a-z ,]+ )?)operation: (?P<name>.*?)\s*$")
HOST_STATUS = re.compile(r"^\s*\[(?P<host>[^\]]+)\]\s+(?P<status>Success|No changes|Skipped|"
                         r"Error)\b")

TimedLine = tuple[float, str]


@dataclass(frozen=True)
class OperationTiming:
    """One operation: its place in the run, name, seconds, and whether it ran host by host."""

    index: int
    name: str
    start_s: float
    seconds: float
    serial: bool
    hosts: int  # host status lines seen (Success, No changes, Skipped, Error)


@dataclass(frozen=True)
class RunTimings:
    planning_s: float | None  # start -> "Beginning operation run"; None: it never began
    operations: tuple[OperationTiming, ...]
    end_s: float

    def slowest(self, count: int = 10) -> list[OperationTiming]:
        """The ``count`` longest operations, longest first (run order breaks ties)."""
        return sorted(self.operations, key=lambda op: (-op.seconds, op.index))[:count]


def parse_operation_times(lines: Sequence[TimedLine], end_s: float | None = None) -> RunTimings:
    """Operation timings from a run's timed output; ``end_s`` is when the command exited
    (default: the last line's time), the end of an operation the run died in."""
    clean = [(t, ANSI_ESCAPE.sub("", line).rstrip("\n")) for t, line in lines]
    end = end_s if end_s is not None else (clean[-1][0] if clean else 0.0)
    planning: float | None = None
    started: list[tuple[float, str, bool]] = []
    hosts: list[int] = []
    finish = end
    for when, line in clean:
        stripped = line.strip()
        if planning is None:
            if stripped == BEGIN_RUN:
                planning = when
            continue
        if stripped.startswith(RESULTS):
            finish = when
            break
        match = START_OP.match(stripped)
        if match:
            started.append((when, match["name"], "serial" in match["kind"]))
            hosts.append(0)
        elif started and HOST_STATUS.match(line):
            hosts[-1] += 1
    ops = []
    for index, (when, name, serial) in enumerate(started):
        until = started[index + 1][0] if index + 1 < len(started) else finish
        ops.append(OperationTiming(index, name, round(when, 3), round(max(0.0, until - when), 3),
                                   serial, hosts[index]))
    return RunTimings(planning, tuple(ops), end)
