"""Pure helpers of the e2e tier: pyinfra's results table, systemctl output, the inventory copy,
the timing table. No hosts, no subprocesses: tests/unit/test_cluster_conftest.py covers them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# -- pyinfra's "--> Results:" table --------------------------------------------------------------
#
# pyinfra 3.10 (pyinfra_cli/prints.py print_results) prints, after every run that got as far as
# executing operations:
#
#     --> Results:
#         Operation        Hosts   Success   Error   No Change
#         Make dir         1       -         -       1
#         Grand total      3       1         -       2
#
# "Success" counts hosts where the operation succeeded AND changed something (did_change);
# unchanged successes are in "No Change"; "-" means 0. There is no "Changed" column: a converged
# re-run is one whose Success and Error totals are both zero. If every host fails, pyinfra prints
# "No hosts remaining!" and no table at all.

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
RESULTS_HEADER = re.compile(r"^\s*Operation\s+Hosts\s+Success\s+Error\s+No Change\s*$")
# Operation names contain spaces (and may end in digits): anchor the four counts at the end.
RESULTS_ROW = re.compile(
    r"^\s*(?P<name>\S.*?)\s+(?P<hosts>\d+)\s+(?P<changed>\d+|-)\s+(?P<errors>\d+|-)"
    r"\s+(?P<no_change>\d+|-)\s*$")


class SummaryFormatError(ValueError):
    """pyinfra's output had no results table we understand: fail loudly, never assume 0."""


@dataclass(frozen=True)
class OperationResult:
    name: str
    hosts: int
    changed: int
    errors: int
    no_change: int


@dataclass(frozen=True)
class RunSummary:
    operations: tuple[OperationResult, ...]
    total: OperationResult

    @property
    def changed_operations(self) -> tuple[OperationResult, ...]:
        return tuple(op for op in self.operations if op.changed)

    @property
    def failed_operations(self) -> tuple[OperationResult, ...]:
        return tuple(op for op in self.operations if op.errors)


def _count(value: str) -> int:
    return 0 if value == "-" else int(value)


def parse_pyinfra_results(output: str) -> RunSummary:
    """The last results table in a pyinfra run's output; SummaryFormatError when there is none."""
    lines = [ANSI_ESCAPE.sub("", line) for line in output.splitlines()]
    headers = [i for i, line in enumerate(lines) if RESULTS_HEADER.match(line)]
    if not headers:
        raise SummaryFormatError(
            "no pyinfra results table (a line 'Operation Hosts Success Error No Change') in the "
            "output: the run stopped before the summary (all hosts failed?) or pyinfra's output "
            "format changed")
    rows: list[OperationResult] = []
    total: OperationResult | None = None
    for line in lines[headers[-1] + 1:]:
        if not line.strip() or line.lstrip().startswith("-->"):
            break
        match = RESULTS_ROW.match(line)
        if not match:
            raise SummaryFormatError(f"unexpected line in pyinfra's results table: {line!r}")
        row = OperationResult(match["name"], int(match["hosts"]), _count(match["changed"]),
                              _count(match["errors"]), _count(match["no_change"]))
        if row.name == "Grand total":
            total = row
            break
        rows.append(row)
    if total is None:
        raise SummaryFormatError("pyinfra's results table has no 'Grand total' row")
    sums = (sum(r.hosts for r in rows), sum(r.changed for r in rows),
            sum(r.errors for r in rows), sum(r.no_change for r in rows))
    if sums != (total.hosts, total.changed, total.errors, total.no_change):
        raise SummaryFormatError(
            f"pyinfra's results rows add up to {sums}, its Grand total says "
            f"{(total.hosts, total.changed, total.errors, total.no_change)}: misparsed table")
    return RunSummary(tuple(rows), total)


def describe_changes(summary: RunSummary) -> str:
    """One line per operation that changed or failed, for an assertion message."""
    lines = [f"  {op.name}: changed on {op.changed} host(s)" for op in summary.changed_operations]
    lines += [f"  {op.name}: failed on {op.errors} host(s)" for op in summary.failed_operations]
    return "\n".join(lines)


# -- systemd -------------------------------------------------------------------------------------

# What identifies one run of a service: a restart (by the deploy, or a crash under Restart=) moves
# these; a reload (haproxy) does not.
SERVICE_START_PROPERTIES = ("ActiveState", "ActiveEnterTimestampMonotonic",
                            "ExecMainStartTimestampMonotonic", "NRestarts")
WATCHED_SERVICES = ("zookeeper", "mesos-master", "marathon", "mesos-agent", "docker", "haproxy")


def parse_systemctl_show(text: str) -> dict[str, str]:
    """`systemctl show -p A -p B UNIT` output (`Key=value` lines) as a dict."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            result[key.strip()] = value.strip()
    return result


def restarted_services(before: Mapping[str, Mapping[str, Mapping[str, str]]],
                       after: Mapping[str, Mapping[str, Mapping[str, str]]]) -> list[str]:
    """`{host: {unit: properties}}` snapshots -> one line per unit that restarted or stopped."""
    problems = []
    for host, units in sorted(before.items()):
        for unit, props in sorted(units.items()):
            now = after.get(host, {}).get(unit)
            if now is None:
                problems.append(f"{host}: {unit}: no longer found")
                continue
            changed = [f"{key} {props.get(key)} -> {now.get(key)}" for key in
                       SERVICE_START_PROPERTIES if props.get(key) != now.get(key)]
            if changed:
                problems.append(f"{host}: {unit}: " + ", ".join(changed))
    return problems


# -- The e2e copy of the sandbox inventory -------------------------------------------------------

SANDBOX_ASSIGNMENT = re.compile(r"""^SANDBOX\s*(?::\s*str\s*)?=\s*(["'])(?P<name>[^"']+)\1""",
                                re.MULTILINE)
SANDBOX_HOST_CALL = re.compile(r"(?P<callable>(?:[A-Za-z_]\w*\.)*sandbox_host)\s*\(")


def sandbox_name(inventory_text: str) -> str:
    match = SANDBOX_ASSIGNMENT.search(inventory_text)
    if not match:
        raise ValueError("the sandbox inventory has no `SANDBOX = \"...\"` line")
    return match["name"]


AGENTS_LIST_BLOCK = re.compile(r"^agents\s*=\s*\[[ \t]*\n(?P<body>(?:.*\n)*?)\][ \t]*$",
                               re.MULTILINE)


def add_agent_line(inventory_text: str, agent_name: str) -> str:
    """The inventory with one more agent, added the way an operator would add it.

    In an `agents = [` ... `]` block the new `sandbox_host(SANDBOX, "agentN"),` line goes last,
    indented like its neighbours; any other layout gets one `.append(...)` line at the end.
    """
    match = SANDBOX_HOST_CALL.search(inventory_text)
    if not match:
        raise ValueError("the sandbox inventory calls no sandbox_host(...): cannot add an agent")
    call = f'{match["callable"]}(SANDBOX, "{agent_name}")'
    block = AGENTS_LIST_BLOCK.search(inventory_text)
    if block:
        entries = [line for line in block["body"].splitlines() if line.strip()]
        indent = re.match(r"\s*", entries[-1])[0] if entries else "    "
        at = block.end("body")
        return inventory_text[:at] + f"{indent}{call},\n" + inventory_text[at:]
    # `agents` is a list built some other way, or pyinfra's `(hosts, data)` tuple form.
    line = f"(agents[0] if isinstance(agents, tuple) else agents).append({call})\n"
    return inventory_text.rstrip("\n") + "\n" + line


def next_agent_name(existing: Sequence[str], prefix: str = "agent") -> str:
    """`agent3` after agent1 and agent2 (the first unused number after the highest)."""
    numbers = [int(n[len(prefix):]) for n in existing
               if n.startswith(prefix) and n[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


# -- Timing table --------------------------------------------------------------------------------


def format_timings(rows: Sequence[tuple[str, float | None]]) -> str:
    """Aligned `step  seconds` table; None means the step did not run (an earlier one failed)."""
    width = max([len("step"), *(len(name) for name, _ in rows)])
    lines = [f"{'step'.ljust(width)}  seconds", f"{'-' * width}  -------"]
    for name, seconds in rows:
        value = f"{seconds:7.1f}" if seconds is not None else "    n/a"
        lines.append(f"{name.ljust(width)}  {value}")
    return "\n".join(lines) + "\n"
