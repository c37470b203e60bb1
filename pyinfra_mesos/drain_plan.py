"""Pure decisions of `drain` (drain.py does the SSH and HTTP): which host may be drained, the
maintenance schedule to post, which Marathon tasks to move and in which order, and when a moved
task counts as replaced.

Sources: Mesos maintenance (apache/mesos 1.11.0 src/master/http.cpp, maintenance.proto:
a MachineID is `{hostname, ip}`, the agent's SlaveInfo hostname and its address; a POST of the
schedule replaces it whole); Marathon 1.10 (d2iq-archive/marathon v1.10.26
mesos/Availability.scala: with `maintenance_mode` on by default, offers from an agent whose
unavailability has started are declined, so replacements land elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyinfra_mesos.problems import Problem, error
from pyinfra_mesos.topology import Member, Topology

# Answers of a Marathon that cannot serve now: 502 when it knows no leader or cannot reach it
# (d2iq-archive/marathon v1.10.26 api/LeaderProxyFilter.scala), 503 while it starts, 0 when curl
# got no answer at all. The request is then asked of another Marathon host.
NO_LEADER_STATUSES = frozenset({0, 502, 503})

_SERVER = re.compile(r"^\s*server\s+\S+\s+\[?([^\]\s]+?)\]?:(\d+)\b")
_BIND = re.compile(r"^\s*bind\s+\S*:(\d+)\b")


@dataclass(frozen=True)
class Move:
    """One Marathon task on the drained agent: `app_id`, `task_id`, its service ports."""

    app_id: str
    task_id: str
    service_ports: tuple[int, ...]


def target_problems(topo: Topology, host: str, where: str) -> list[Problem]:
    """HOST must be an agent of the inventory and not its last one (where: the inventory)."""
    names = [m.name for m in topo.agents]
    if host not in names:
        known = ", ".join(names) or "none"
        return [error(where, host, f"not in group `agents` (agents: {known})")]
    if len(names) < 2:
        return [error(where, host, "the only agent: its apps would have nowhere to run; add an "
                                   "agent and deploy first")]
    return []


def machine_id(member: Member) -> dict[str, str]:
    """The agent's MachineID: the deploy sets its --hostname to its address (flag_tables)."""
    return {"hostname": member.ip, "ip": member.ip}


def same_machine(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """MachineID equality (include/mesos/type_utils.hpp): hostname case-insensitive, ip exact."""
    ha, hb = a.get("hostname"), b.get("hostname")
    return (ha is None) == (hb is None) and (ha or "").lower() == (hb or "").lower() \
        and a.get("ip") == b.get("ip")


def schedule_with(current: Mapping[str, Any], machine: Mapping[str, str],
                  start_ns: int) -> dict[str, Any] | None:
    """The schedule to POST: `current` plus a window for `machine` starting at `start_ns`
    with no duration (drained until brought up); None when it is already scheduled (the POST
    replaces the whole schedule, so every other window is kept as it is)."""
    windows = [dict(w) for w in current.get("windows") or []]
    for window in windows:
        if any(same_machine(m, machine) for m in window.get("machine_ids") or []):
            return None
    windows.append({"machine_ids": [dict(machine)],
                    "unavailability": {"start": {"nanoseconds": int(start_ns)}}})
    return {"windows": windows}


def schedule_without(current: Mapping[str, Any],
                     machine: Mapping[str, str]) -> dict[str, Any] | None:
    """The schedule to POST: `current` without `machine` (a window left with no machine goes,
    as Mesos refuses an empty one); None when `machine` is in no window (nothing to post)."""
    windows: list[dict[str, Any]] = []
    found = False
    for window in current.get("windows") or []:
        ids = [dict(m) for m in window.get("machine_ids") or []]
        kept = [m for m in ids if not same_machine(m, machine)]
        found = found or len(kept) != len(ids)
        if kept:
            windows.append(dict(window, machine_ids=kept))
    return {"windows": windows} if found else None


def machine_down(status: Mapping[str, Any], machine: Mapping[str, str]) -> bool:
    """Whether `machine` is among the `down_machines` of GET /master/maintenance/status (a
    ClusterStatus: apache/mesos include/mesos/maintenance/maintenance.proto)."""
    return any(same_machine(m, machine) for m in status.get("down_machines") or []
               if isinstance(m, Mapping))


def masked(is_enabled: str) -> bool:
    """Whether `systemctl is-enabled UNIT` printed `masked` (its last line)."""
    lines = is_enabled.strip().splitlines()
    return bool(lines) and lines[-1].strip() in ("masked", "masked-runtime")


def machines_in_maintenance(status: Mapping[str, Any]) -> set[str]:
    """The IPs of the machines a ClusterStatus (GET /master/maintenance/status) lists as
    draining or down."""
    machines = [*(m.get("id") for m in status.get("draining_machines") or []
                  if isinstance(m, Mapping)),
                *(status.get("down_machines") or [])]
    return {str(m.get("ip")) for m in machines if isinstance(m, Mapping) and m.get("ip")}


def other_active_agents(master_state: Mapping[str, Any], address: str,
                        unavailable: Iterable[str] = ()) -> list[str]:
    """Hostnames of the active agents that are not at `address` nor at an address of
    `unavailable` (machines in maintenance), from /master/state."""
    skip = {address, *unavailable}
    return [str(s.get("hostname")) for s in master_state.get("slaves") or []
            if s.get("active") and _host_of_pid(str(s.get("pid") or "")) not in skip]


def _host_of_pid(pid: str) -> str:
    return pid.partition("@")[2].rpartition(":")[0]


def moves(apps: Sequence[Mapping[str, Any]], hosts: Iterable[str]) -> list[Move]:
    """The tasks on the drained agent (`hosts`: its names and address, as Marathon's
    `task.host` may show either), by app id, oldest first: one at a time keeps every app at
    all but one of its instances while its replacement starts."""
    names = set(hosts)
    out: list[tuple[str, str, str, tuple[int, ...]]] = []
    for app in apps:
        for task in app.get("tasks") or []:
            if str(task.get("host")) in names:
                out.append((str(app["id"]), str(task.get("stagedAt") or ""), str(task["id"]),
                            tuple(int(p) for p in task.get("servicePorts") or [])))
    return [Move(app_id, task_id, ports) for app_id, _, task_id, ports in sorted(out)]


def lb_servers(config: str) -> dict[int, set[str]]:
    """`{service port: {"ip:port", ...}}` of an haproxy.cfg written by the bridge
    (haproxy_render.py: one `listen` per service port, `bind :<port>`, `server <n> <ip>:<p>`)."""
    out: dict[int, set[str]] = {}
    current: set[str] | None = None
    for line in config.splitlines():
        if line.startswith("listen "):
            current = None
        bind = _BIND.match(line)
        if bind:
            current = out.setdefault(int(bind.group(1)), set())
            continue
        server = _SERVER.match(line)
        if server and current is not None:
            current.add(f"{server.group(1)}:{server.group(2)}")
    return out


def task_ready(task: Mapping[str, Any], app: Mapping[str, Any]) -> bool:
    """Running, and alive in every health check when the app has some (what the bridge
    routes: haproxy_model.py)."""
    if task.get("state") != "TASK_RUNNING":
        return False
    checks = app.get("healthChecks") or []
    results = task.get("healthCheckResults") or []
    return not checks or (len(results) >= len(checks) and all(r.get("alive") for r in results))


def replaced(app: Mapping[str, Any] | None, moved: Move, drained: Iterable[str],
             address_of: Mapping[str, str], lb_configs: Mapping[str, str | None],
             pending: Iterable[str] = ()) -> str | None:
    """None when `moved` is replaced: the app has its `instances` tasks ready, none of them
    `moved` and none on the drained agent but the `pending` ones (task ids there still to be
    moved, one at a time after this one), and every load balancer's config routes each of its
    service ports to exactly those tasks. Otherwise what is still missing (one line).

    `drained`: the drained agent's names and address; `address_of`: task host -> IP as the
    bridge resolves it (names of the inventory; an IP maps to itself); `lb_configs`: load
    balancer name -> its haproxy.cfg text, or None when it could not be read."""
    if app is None:
        return f"{moved.app_id} is gone from Marathon"
    gone = set(drained)
    waiting = set(pending)
    tasks = list(app.get("tasks") or [])
    if any(t.get("id") == moved.task_id for t in tasks):
        return f"{moved.task_id} is still running"
    ready = [t for t in tasks if task_ready(t, app)
             and (str(t.get("host")) not in gone or str(t.get("id")) in waiting)]
    wanted = int(app.get("instances") or 0)
    if len(ready) < wanted:
        still = sum(1 for t in tasks if str(t.get("id")) in waiting)
        counted = f" (and the {still} there still to move)" if still else ""
        return (f"{moved.app_id}: {len(ready)} of {wanted} instances ready off the drained "
                f"agent{counted}")
    drained_ips = {address_of.get(h, h) for h in gone}
    for lb, config in sorted(lb_configs.items()):
        if config is None:
            return f"load balancer {lb}: haproxy.cfg could not be read"
        servers = lb_servers(config)
        for index, port in enumerate(moved.service_ports):
            routed = servers.get(port)
            if routed is None:
                return f"load balancer {lb}: no listener on service port {port}"
            wanted_servers = {f"{address_of.get(str(t['host']), str(t['host']))}:"
                              f"{int(t['ports'][index])}" for t in ready
                              if len(t.get("ports") or []) > index}
            stale = sorted(s for s in routed - wanted_servers
                           if s.rpartition(":")[0] in drained_ips)
            if stale:
                return f"load balancer {lb}: port {port} still routes to {stale[0]}"
            missing = sorted(wanted_servers - routed)
            if missing:
                return f"load balancer {lb}: port {port} does not route to {missing[0]} yet"
    return None
