"""Mesos maintenance primitives as the 1.11 master keeps them: machines, their modes, the schedule.

Sources (apache/mesos 1.11.0): src/master/http.cpp (`maintenanceSchedule`,
`_updateMaintenanceSchedule`, `___updateMaintenanceSchedule`, `_startMaintenance`,
`_stopMaintenance`, `_getMaintenanceStatus`), src/master/maintenance.cpp (the registry
operations and `validation::schedule`, `machines`, `machine`, `unavailability`),
include/mesos/maintenance/maintenance.proto, include/mesos/type_utils.hpp (`MachineID`
equality: hostname case-insensitive, ip exact, presence of each field counts),
3rdparty/stout (JSON and protobuf parsing messages).

A machine id is `{"hostname": str, "ip": str}` (either may be absent). Modes: UP (an agent
registered there and nothing scheduled; the master keeps such entries, src/master/master.cpp
`addSlave`), DRAINING (in the schedule), DOWN (brought down; its agents removed and refused).
Every refusal is the text real Mesos answers with 400 Bad Request; the caller sends it.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from dataclasses import dataclass
from typing import Any

UP, DRAINING, DOWN = "UP", "DRAINING", "DOWN"
Key = tuple[str | None, str | None]  # (lower-cased hostname or None, ip or None)


class Refused(Exception):
    """A request Mesos answers with 400 and this text."""


@dataclass
class Machine:
    id: dict[str, str]
    mode: str = UP
    unavailability: dict[str, Any] | None = None


def key_of(machine_id: dict[str, str]) -> Key:
    """The identity `operator==(MachineID, MachineID)` uses (type_utils.hpp)."""
    hostname = machine_id.get("hostname")
    return (hostname.lower() if hostname is not None else None, machine_id.get("ip"))


def id_json(machine_id: dict[str, str]) -> str:
    """`stringify(JSON::protobuf(id))`: compact, fields in proto order (hostname, ip)."""
    out = {k: machine_id[k] for k in ("hostname", "ip") if k in machine_id}
    return json.dumps(out, separators=(",", ":"))


def id_text(machine_id: dict[str, str]) -> str:
    """`operator<<(ostream, MachineID)`: `host (ip)`, `host` or `(ip)` (type_utils.cpp)."""
    if "hostname" in machine_id and "ip" in machine_id:
        return f"{machine_id['hostname']} ({machine_id['ip']})"
    return machine_id.get("hostname") or f"({machine_id.get('ip', '')})"


# -- parsing (stout's JSON -> protobuf) -------------------------------------------------------

def _machine_id(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Refused("Expecting a JSON object")
    out: dict[str, str] = {}
    for name in ("hostname", "ip"):
        if name in value:
            if not isinstance(value[name], str):
                raise Refused(f"Not expecting a JSON {_json_type(value[name])} for field "
                              f"'{name}'")  # fmt: skip
            out[name] = value[name]
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")


def _nanoseconds(holder: Any, path: str, missing: list[str]) -> dict[str, int] | None:
    if not isinstance(holder, dict):
        raise Refused("Expecting a JSON object")
    value = holder.get("nanoseconds")
    if value is None:
        missing.append(f"{path}.nanoseconds")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise Refused(f"Not expecting a JSON {_json_type(value)} for field 'nanoseconds'")
    try:
        return {"nanoseconds": int(value)}
    except ValueError as exc:
        raise Refused(f"Failed to convert '{value}' to number") from exc


def parse_schedule(body: Any) -> dict[str, Any]:
    """A POSTed schedule as `JSON::protobuf(Schedule)` would render it (unknown keys dropped);
    Refused with stout's text for a wrong type or missing required fields."""
    if not isinstance(body, dict):
        raise Refused("Unexpected JSON type parsed")
    windows = body.get("windows", [])
    if not isinstance(windows, list):
        raise Refused(f"Not expecting a JSON {_json_type(windows)} for field 'windows'")
    missing: list[str] = []
    out: list[dict[str, Any]] = []
    for i, window in enumerate(windows):
        if not isinstance(window, dict):
            raise Refused("Expecting a JSON object")
        ids = window.get("machine_ids", [])
        if not isinstance(ids, list):
            raise Refused(f"Not expecting a JSON {_json_type(ids)} for field 'machine_ids'")
        parsed: dict[str, Any] = {"machine_ids": [_machine_id(m) for m in ids]}
        unavailability = window.get("unavailability")
        if unavailability is None:
            missing.append(f"windows[{i}].unavailability")
        else:
            if not isinstance(unavailability, dict):
                raise Refused("Expecting a JSON object")
            u: dict[str, Any] = {}
            if "start" not in unavailability:
                missing.append(f"windows[{i}].unavailability.start")
            else:
                start = _nanoseconds(unavailability["start"], f"windows[{i}].unavailability.start",
                                     missing)  # fmt: skip
                if start is not None:
                    u["start"] = start
            if "duration" in unavailability:
                duration = _nanoseconds(unavailability["duration"],
                                        f"windows[{i}].unavailability.duration", missing)
                if duration is not None:
                    u["duration"] = duration
            parsed["unavailability"] = u
        if not parsed["machine_ids"]:
            del parsed["machine_ids"]  # JSON::protobuf omits empty repeated fields
        out.append(parsed)
    if missing:
        raise Refused("Missing required fields: " + ", ".join(missing))
    return {"windows": out} if out else {}


def parse_machine_ids(body: Any) -> list[dict[str, str]]:
    """The JSON array of MachineIDs that /machine/down and /machine/up take."""
    if not isinstance(body, list):
        raise Refused("Unexpected JSON type parsed")
    return [_machine_id(m) for m in body]


# -- validation (src/master/maintenance.cpp) --------------------------------------------------

def check_machine(machine_id: dict[str, str]) -> None:
    if not machine_id.get("hostname") and not machine_id.get("ip"):
        raise Refused("Both 'hostname' and 'ip' for a machine are empty")
    ip = machine_id.get("ip")
    if ip:
        try:
            ipaddress.IPv4Address(ip)
        except ValueError as exc:
            raise Refused(f"Failed to parse IPv4: {ip}") from exc


def check_machines(ids: list[dict[str, str]]) -> None:
    if not ids:
        raise Refused("List of machines is empty")
    seen: set[Key] = set()
    for machine_id in ids:
        check_machine(machine_id)
        if key_of(machine_id) in seen:
            raise Refused(f"Machine '{id_json(machine_id)}' appears more than once in the "
                          "schedule")  # fmt: skip
        seen.add(key_of(machine_id))


class Maintenance:
    """The master's `machines` map and its one schedule; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.machines: dict[Key, Machine] = {}
        self.schedule: dict[str, Any] = {}

    def agent_added(self, machine_id: dict[str, str]) -> None:
        """`addSlave` maps the agent to its machine: an UP entry unless one exists."""
        with self.lock:
            self.machines.setdefault(key_of(machine_id), Machine(dict(machine_id)))

    def mode(self, machine_id: dict[str, str]) -> str:
        with self.lock:
            machine = self.machines.get(key_of(machine_id))
            return machine.mode if machine is not None else UP

    def unavailability(self, machine_id: dict[str, str]) -> dict[str, Any] | None:
        """What an offer from this machine carries as `unavailability` (master.cpp `offer`)."""
        with self.lock:
            machine = self.machines.get(key_of(machine_id))
            return dict(machine.unavailability) if machine and machine.unavailability else None

    def update_schedule(self, schedule: dict[str, Any]) -> None:
        """POST /maintenance/schedule: validate, then apply (___updateMaintenanceSchedule)."""
        with self.lock:
            updated: dict[Key, tuple[dict[str, str], dict[str, Any]]] = {}
            for window in schedule.get("windows", []):
                ids = window.get("machine_ids", [])
                if not ids:
                    raise Refused("List of machines in the maintenance window is empty")
                duration = (window["unavailability"].get("duration") or {}).get("nanoseconds", 0)
                if duration < 0:
                    raise Refused("Unavailability 'duration' is negative")
                for machine_id in ids:
                    check_machine(machine_id)
                    if key_of(machine_id) in updated:
                        raise Refused(f"Machine '{id_json(machine_id)}' appears more than once "
                                      "in the schedule")  # fmt: skip
                    updated[key_of(machine_id)] = (machine_id, window["unavailability"])
            for key, machine in self.machines.items():
                if machine.mode == DOWN and key not in updated:
                    raise Refused(f"Machine '{id_json(machine.id)}' is deactivated and cannot be "
                                  "removed from the schedule")  # fmt: skip
            for key, machine in self.machines.items():
                if key in updated:
                    if machine.mode != UP:
                        machine.unavailability = dict(updated[key][1])
                    continue
                machine.mode, machine.unavailability = UP, None
            for key, (machine_id, unavailability) in updated.items():
                machine = self.machines.get(key)
                if machine is not None and machine.mode != UP:
                    continue
                self.machines[key] = Machine(dict(machine_id), DRAINING, dict(unavailability))
            self.schedule = schedule

    def _transition(self, ids: list[dict[str, str]], wanted: str, verb: str) -> None:
        check_machines(ids)
        for machine_id in ids:
            machine = self.machines.get(key_of(machine_id))
            if machine is None:
                raise Refused(f"Machine '{id_json(machine_id)}' is not part of a maintenance "
                              "schedule")  # fmt: skip
            if machine.mode != wanted:
                raise Refused(f"Machine '{id_json(machine_id)}' is not in {wanted} mode and "
                              f"cannot be brought {verb}")  # fmt: skip

    def down(self, ids: list[dict[str, str]]) -> None:
        """POST /machine/down: only DRAINING machines (the caller removes their agents)."""
        with self.lock:
            self._transition(ids, DRAINING, "down")
            for machine_id in ids:
                self.machines[key_of(machine_id)].mode = DOWN

    def up(self, ids: list[dict[str, str]]) -> None:
        """POST /machine/up: only DOWN machines; UP again and out of the schedule."""
        with self.lock:
            self._transition(ids, DOWN, "up")
            gone = {key_of(m) for m in ids}
            for key in gone:
                machine = self.machines[key]
                machine.mode, machine.unavailability = UP, None
            windows = []
            for window in self.schedule.get("windows", []):
                kept = [m for m in window.get("machine_ids", []) if key_of(m) not in gone]
                if kept:
                    windows.append(dict(window, machine_ids=kept))
            self.schedule = {"windows": windows} if windows else {}

    def registry_entry(self) -> dict[str, Any]:
        """What the registry keeps (src/master/registry.proto `Registry.machines` and
        `schedules`): the schedule and each machine that is not UP, with its mode and
        unavailability. UP entries come from agents registering, so a new leader makes them
        again as agents re-register."""
        with self.lock:
            return {"schedule": self.schedule,
                    "machines": [{"id": dict(m.id), "mode": m.mode,
                                  "unavailability": m.unavailability}
                                 for m in self.machines.values() if m.mode != UP]}

    def recover(self, entry: dict[str, Any]) -> None:
        """A newly elected master's `_recover`: the schedule and the machines' modes as the
        registry holds them (src/master/master.cpp `_recover`, "Recovering maintenance")."""
        with self.lock:
            self.schedule = dict(entry.get("schedule") or {})
            for item in entry.get("machines") or []:
                self.machines[key_of(item["id"])] = Machine(
                    dict(item["id"]), str(item["mode"]), item.get("unavailability"))

    def status(self) -> dict[str, Any]:
        """GET /maintenance/status: `ClusterStatus` (UP machines are not listed; no inverse
        offer statuses, so `statuses` stays empty and is omitted as JSON::protobuf does)."""
        with self.lock:
            draining = [{"id": dict(m.id)} for m in self.machines.values() if m.mode == DRAINING]
            down = [dict(m.id) for m in self.machines.values() if m.mode == DOWN]
        out: dict[str, Any] = {}
        if draining:
            out["draining_machines"] = sorted(draining, key=lambda d: id_json(d["id"]))
        if down:
            out["down_machines"] = sorted(down, key=id_json)
        return out
