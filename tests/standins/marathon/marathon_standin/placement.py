"""Where an instance may run: free cpus/mem/ports on an active agent, plus app constraints."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from . import appdef


def parse_ranges(text: str | None) -> list[tuple[int, int]]:
    """Mesos' '[31000-32000, 33000-33010]' -> [(31000, 32000), (33000, 33010)]."""
    out = []
    for part in (text or "").strip("[] ").split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        out.append((int(low), int(high or low)))
    return out


def port_set(text: str | None) -> set[int]:
    return {p for low, high in parse_ranges(text) for p in range(low, high + 1)}


@dataclass
class AgentView:
    """An agent's free resources, decremented as this tick places instances on it."""

    id: str
    hostname: str
    attributes: dict[str, Any]
    cpus: float
    mem: float
    ranges: list[tuple[int, int]]
    used_ports: set[int] = field(default_factory=set)
    # Offer.unavailability: {"start": {"nanoseconds"}, "duration"?: {"nanoseconds"}} or None.
    unavailability: dict[str, Any] | None = None

    def free_port(self, exclude: set[int]) -> int | None:
        for low, high in self.ranges:
            for port in range(low, high + 1):
                if port not in self.used_ports and port not in exclude:
                    return port
        return None

    def has_port(self, port: int) -> bool:
        return port not in self.used_ports and any(lo <= port <= hi for lo, hi in self.ranges)


def agent_views(state: dict[str, Any], extra: list[dict[str, Any]]) -> dict[str, AgentView]:
    """Free resources per active agent from /master/state, minus `extra` (our launches that
    the master does not show yet)."""
    views: dict[str, AgentView] = {}
    for slave in state.get("slaves") or []:
        if slave.get("active") is False:
            continue
        res = slave.get("resources") or {}
        used = slave.get("used_resources") or {}
        views[slave["id"]] = AgentView(
            id=slave["id"], hostname=slave.get("hostname", ""),
            attributes=slave.get("attributes") or {},
            cpus=float(res.get("cpus", 0)) - float(used.get("cpus", 0)),
            mem=float(res.get("mem", 0)) - float(used.get("mem", 0)),
            ranges=parse_ranges(res.get("ports")), used_ports=port_set(used.get("ports")),
            unavailability=slave.get("unavailability"))
    # Ports of every live task, whatever used_resources says, so two tasks never share one.
    for framework in state.get("frameworks") or []:
        for task in framework.get("tasks") or []:
            view = views.get(task.get("slave_id", ""))
            if view is not None:
                view.used_ports |= port_set((task.get("resources") or {}).get("ports"))
    for task in extra:
        view = views.get(task["agentId"])
        if view is not None:
            view.cpus -= task["cpus"]
            view.mem -= task["mem"]
            view.used_ports |= set(task["ports"])
    return views


def offer_available(unavailability: dict[str, Any] | None, draining_s: float,
                    now_s: float) -> bool:
    """Availability.offerAvailable (d2iq-archive/marathon v1.10.26
    src/main/scala/mesosphere/mesos/Availability.scala): an offer with an unavailability is
    declined from `draining_s` before its start until start + duration, and for good when it
    has no duration. Times in seconds since the epoch."""
    start = ((unavailability or {}).get("start") or {}).get("nanoseconds")
    if start is None:
        return True
    start_s = int(start) / 1e9
    if not now_s > start_s - draining_s:
        return True
    duration = (unavailability.get("duration") or {}).get("nanoseconds") if unavailability \
        else None
    return duration is not None and now_s > start_s + int(duration) / 1e9


def _field_value(agent: AgentView, name: str) -> str:
    if name == "hostname":
        return agent.hostname
    value = agent.attributes.get(name, "")
    return str(value)


def constraints_allow(app: dict[str, Any], agent: AgentView,
                      placed: list[AgentView]) -> bool:
    """`placed`: the agents of the app's live instances (one entry per instance)."""
    for constraint in app.get("constraints") or []:
        name, operator = constraint[0], constraint[1]
        value = constraint[2] if len(constraint) > 2 else ""
        mine = _field_value(agent, name)
        others = [_field_value(a, name) for a in placed]
        if operator == "UNIQUE" and mine in others:
            return False
        if operator == "CLUSTER" and ((value and mine != value) or (others and mine != others[0])):
            return False
        if operator == "IS" and mine != value:
            return False
        if operator == "LIKE" and not re.fullmatch(value, mine):
            return False
        if operator == "UNLIKE" and re.fullmatch(value, mine):
            return False
        if operator == "MAX_PER" and others.count(mine) >= int(value or 1):
            return False
    return True


def choose_ports(app: dict[str, Any], agent: AgentView) -> list[tuple[int, int, str]] | None:
    """(container port, host port, protocol) per port entry, or None if the agent lacks one."""
    out: list[tuple[int, int, str]] = []
    taken: set[int] = set()
    mode = appdef.network_mode(app)
    for entry in appdef.port_entries(app):
        if mode == "host":
            wanted = int(entry.get("port", 0)) if app.get("requirePorts") else 0
            container_port = 0
        else:
            if "hostPort" not in entry:  # container networks without a host port
                continue
            wanted = int(entry.get("hostPort", 0))
            container_port = int(entry.get("containerPort", 0))
        if wanted:
            if not agent.has_port(wanted) or wanted in taken:
                return None
            host_port = wanted
        else:
            free = agent.free_port(taken)
            if free is None:
                return None
            host_port = free
        taken.add(host_port)
        out.append((container_port or host_port, host_port, str(entry.get("protocol", "tcp"))))
    return out


def fits(app: dict[str, Any], agent: AgentView) -> bool:
    # A small epsilon: cpus such as 0.1 add up to 0.30000000000000004.
    return agent.cpus + 1e-9 >= float(app["cpus"]) and agent.mem + 1e-9 >= float(app["mem"])


def ceil_fraction(count: int, fraction: float) -> int:
    return int(math.ceil(count * fraction - 1e-9))
