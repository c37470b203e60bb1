"""Pure helpers of the e2e tier: pyinfra's results table, systemctl output, the inventory copy,
the timing table, haproxy.cfg backends, Marathon tasks and the Mesos leader. No hosts, no
subprocesses: tests/unit/test_cluster_conftest.py and tests/unit/test_e2e_helpers.py cover them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


def _group_list_block(group: str) -> re.Pattern[str]:
    """`<group> = [` ... `]` written one entry a line, as inventory/sandbox.py writes its groups."""
    return re.compile(rf"^{re.escape(group)}\s*=\s*\[[ \t]*\n(?P<body>(?:.*\n)*?)\][ \t]*$",
                      re.MULTILINE)


AGENTS_LIST_BLOCK = _group_list_block("agents")
MASTERS_LIST_BLOCK = _group_list_block("masters")


def _add_group_line(inventory_text: str, group: str, arguments: str) -> str:
    """The inventory with one more `sandbox_host(<arguments>)` entry at the end of `group`.

    In a `<group> = [` ... `]` block the new line goes last, indented like its neighbours; any
    other layout gets one `.append(...)` line at the end.
    """
    match = SANDBOX_HOST_CALL.search(inventory_text)
    if not match:
        raise ValueError(f"the sandbox inventory calls no sandbox_host(...): cannot add to "
                         f"{group}")
    call = f'{match["callable"]}({arguments})'
    block = _group_list_block(group).search(inventory_text)
    if block:
        entries = [line for line in block["body"].splitlines() if line.strip()]
        indent = re.match(r"\s*", entries[-1])[0] if entries else "    "
        at = block.end("body")
        return inventory_text[:at] + f"{indent}{call},\n" + inventory_text[at:]
    # The list is built some other way, or pyinfra's `(hosts, data)` tuple form.
    line = f"({group}[0] if isinstance({group}, tuple) else {group}).append({call})\n"
    return inventory_text.rstrip("\n") + "\n" + line


def add_agent_line(inventory_text: str, agent_name: str) -> str:
    """The inventory with one more agent, added the way an operator would add it."""
    return _add_group_line(inventory_text, "agents", f'SANDBOX, "{agent_name}"')


def add_master_line(inventory_text: str, master_name: str, zookeeper_id: int) -> str:
    """The inventory with one more master (and so ZooKeeper member) at the end of `masters`.

    Only the `masters` list grows: inventory/sandbox.py also names master1 in `registry`, with
    the same call, and that group must stay as it is.
    """
    return _add_group_line(inventory_text, "masters",
                           f'SANDBOX, "{master_name}", zookeeper_id={int(zookeeper_id)}')


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


# -- haproxy.cfg (as haproxy_bridge.py writes it) ------------------------------------------------

SECTION_KEYWORDS = ("global", "defaults", "listen", "frontend", "backend", "resolvers", "peers",
                    "userlist", "program", "http-errors", "ring", "cache", "mailers")


def haproxy_listeners(config: str) -> dict[int, set[str]]:
    """`{bound port: {"host:port" of each server line}}` for the `listen` sections of a config.

    A listener without servers maps to an empty set; a port bound by no listen section is absent.
    `bind :9000`, `bind *:9000`, `bind 0.0.0.0:9000,:9001` all count.
    """
    listeners: dict[int, set[str]] = {}
    ports: list[int] = []
    servers: set[str] = set()
    in_listen = False

    def close() -> None:
        for port in ports:
            listeners.setdefault(port, set()).update(servers)

    for raw in config.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        words = line.split()
        if not raw[0].isspace() and words[0] in SECTION_KEYWORDS:
            if in_listen:
                close()
            in_listen, ports, servers = words[0] == "listen", [], set()
            continue
        if not in_listen:
            continue
        if words[0] == "bind" and len(words) > 1:
            for address in words[1].split(","):
                port = address.rpartition(":")[2]
                if port.isdigit():
                    ports.append(int(port))
        elif words[0] == "server" and len(words) > 2:
            servers.add(words[2])
    if in_listen:
        close()
    return listeners


def backends_problem(where: str, config: str, port: int, want: set[str]) -> str | None:
    """None when the config's listener on `port` has exactly the servers `want`, else why not."""
    listeners = haproxy_listeners(config)
    if port not in listeners:
        return f"{where}: no listen section binds :{port} (listeners: {sorted(listeners)})"
    have = listeners[port]
    if have == want:
        return None
    return (f"{where}: :{port} has backends {sorted(have)}, want {sorted(want)} "
            f"(missing {sorted(want - have)}, stale {sorted(have - want)})")


def parse_sha256sum(output: str) -> str:
    """The digest from `sha256sum FILE` output; ValueError when it is not one."""
    digest = output.split()[0] if output.split() else ""
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"not sha256sum output: {output[:100]!r}")
    return digest


def changed_checksums(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """One line per host whose checksum changed or is missing after."""
    return [f"{host}: {digest[:12]} -> {after[host][:12] if host in after else 'missing'}"
            for host, digest in sorted(before.items()) if after.get(host) != digest]


# -- Marathon -------------------------------------------------------------------------------------


def marathon_task_addresses(app: Mapping[str, Any], port_index: int = 0) -> set[str]:
    """`host:port` of an app's TASK_RUNNING tasks (the `app` of GET /v2/apps/ID), for a port."""
    found = set()
    for task in app.get("tasks") or []:
        ports = task.get("ports") or []
        if task.get("state") == "TASK_RUNNING" and task.get("host") and port_index < len(ports):
            found.add(f"{task['host']}:{ports[port_index]}")
    return found


def app_scale_problem(app: Mapping[str, Any], want: int) -> str | None:
    """None when Marathon has `want` instances, all running and healthy, no deployment left."""
    app_id = app.get("id", "?")
    keys = ["instances", "tasksRunning"] + (["tasksHealthy"] if app.get("healthChecks") else [])
    counts = {key: int(app.get(key) or 0) for key in keys}
    wrong = [f"{key}={value}" for key, value in counts.items() if value != want]
    if wrong:
        return f"Marathon app {app_id}: {', '.join(wrong)}, want {want}"
    if app.get("deployments"):
        return f"Marathon app {app_id}: deployment still running {app['deployments']}"
    return None


# -- Mesos masters --------------------------------------------------------------------------------

MESOS_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "secs": 1.0, "mins": 60.0,
                        "hrs": 3600.0, "days": 86400.0, "weeks": 604800.0}


def parse_mesos_duration(text: str) -> float:
    """Mesos' Duration flag syntax (`10secs`, `500ms`, `1.5mins`) in seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", str(text))
    if not match or match[2] not in MESOS_DURATION_UNITS:
        raise ValueError(f"not a Mesos duration: {text!r} "
                         f"(units: {', '.join(MESOS_DURATION_UNITS)})")
    return float(match[1]) * MESOS_DURATION_UNITS[match[2]]


def parse_master_pid(pid: str) -> tuple[str, int]:
    """`master@198.51.100.11:5050` -> ("198.51.100.11", 5050); ValueError for anything else."""
    match = re.fullmatch(r"[^@\s]+@(?P<ip>[^:@\s]+):(?P<port>\d+)", str(pid).strip())
    if not match:
        raise ValueError(f"not a Mesos master pid: {pid!r}")
    return match["ip"], int(match["port"])


def leader_agreement(leaders: Mapping[str, str | None]) -> tuple[str | None, str | None]:
    """`{master: the leader pid it reports, or None}` -> (agreed leader, None) or (None, why)."""
    if not leaders:
        return None, "no master answered"
    named = {pid for pid in leaders.values() if pid}
    summary = ", ".join(f"{m}={p or 'no leader/no answer'}" for m, p in sorted(leaders.items()))
    if len(named) == 1 and all(leaders.values()):
        return named.pop(), None
    return None, f"the masters do not agree on one leader: {summary}"


class Steady:
    """A check that passes only once `check` has passed for `window_s` seconds without a break.

    For a cluster that can look settled before it is: after a master dies, the others agree on
    a leader at once, but a leading master whose ZooKeeper connection went to the dead member
    commits suicide `--zk_session_timeout` after it notices (apache/mesos src/master/master.cpp
    "Lost leadership... committing suicide!"), up to twice that after the death. `clock`:
    seconds, monotonic (tests pass their own).
    """

    def __init__(self, check: Callable[[], str | None], window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.check, self.window_s, self.clock = check, window_s, clock
        self.since: float | None = None

    def __call__(self) -> str | None:
        problem = self.check()
        now = self.clock()
        if problem is not None:
            self.since = None
            return problem
        if self.since is None:
            self.since = now
        held = now - self.since
        if held >= self.window_s:
            return None
        return f"settled for {held:.1f} s of the {self.window_s:.0f} s it must hold"


def framework_problem(state: Mapping[str, Any], name: str = "marathon") -> str | None:
    """None when the master's /master/state lists an active framework called `name`."""
    frameworks = state.get("frameworks") or []
    if any(f.get("name") == name and f.get("active") for f in frameworks):
        return None
    seen = [(f.get("name"), f.get("active")) for f in frameworks]
    return f"{state.get('pid', 'the leader')}: no active framework {name!r} (frameworks: {seen})"


# -- Availability while a deploy runs -------------------------------------------------------------


def longest_outage(samples: Sequence[tuple[float, bool]]) -> float:
    """Seconds of the longest run of failed samples (`(monotonic time, ok)`, in time order).

    A run starts at its first failed sample and ends at the next good one (or the last sample):
    one failed sample between two good ones counts as the gap between those good ones' times.
    """
    longest = 0.0
    start: float | None = None
    for index, (when, ok) in enumerate(samples):
        if not ok and start is None:
            start = samples[index - 1][0] if index else when
        elif ok and start is not None:
            longest = max(longest, when - start)
            start = None
    if start is not None and samples:
        longest = max(longest, samples[-1][0] - start)
    return longest


def utc_clock(epoch: float) -> str:
    """`HH:MM:SS.d` UTC of a time.time() value, as journalctl -o short-iso-precise shows it."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 10) % 10}"


def operation_hosts(output: str, operation: str, status: str = "Success") -> list[str]:
    """Hosts pyinfra printed `status` for under the operation whose name starts with
    `operation` (`--> Starting operation: <file> | <name>`, or `--> Starting serial
    operation: ...` for a `_serial` one, then `    [host] <status>` lines until the next
    `-->`), in the order printed."""
    hosts: list[str] = []
    inside = False
    for line in output.splitlines():
        if line.startswith("--> "):
            inside = line.startswith(("--> Starting operation: ",
                                      "--> Starting serial operation: ")) and \
                line.split(" | ", 1)[-1].startswith(operation)
            continue
        text = line.strip()
        if inside and text.startswith("[") and "]" in text:
            name, _, rest = text[1:].partition("]")
            if rest.strip() == status:
                hosts.append(name.strip())
    return hosts
