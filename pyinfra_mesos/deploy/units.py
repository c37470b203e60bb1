"""Systemd units running and enabled, read in ONE round trip.

pyinfra 3's systemd.service(running=True, enabled=True) reads two facts, SystemdStatus
(SubState) and SystemdEnabled (UnitFileState), each its own `systemctl show` over SSH
(pyinfra/operations/systemd.py `service`), and pyinfra 3 keeps no fact cache (pyinfra/api/
facts.py `_get_fact` runs the command on every call). `UnitStates` reads both properties of
several units in one `systemctl show`; `units_running_enabled` starts and enables what is not,
with pyinfra's own rules (the state values of pyinfra/facts/systemd.py) and its commands.

A host's first unit-state question reads every unit the task files manage (`managed_units`) in
that one `systemctl show`; the later ones are answered from it until one of the host's
operations runs a command (`unit_states`, planning_facts.py): a converged master asked nine
times, now once (issue 13).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyinfra import host
from pyinfra.api import FactBase, QuoteString, StringCommand, operation

from pyinfra_mesos.deploy.planning_facts import fact_until_change
from pyinfra_mesos.docker import DOCKER_SERVICE, DOCKER_SOCKET
from pyinfra_mesos.firewall import UNIT as FIREWALL_UNIT
from pyinfra_mesos.floor import REGISTRY_PUSH_SERVICE, REGISTRY_SERVICE
from pyinfra_mesos.haproxy_bridge import BRIDGE_TIMER, HAPROXY_SERVICE
from pyinfra_mesos.mesos_agent import MESOS_AGENT_SERVICE
from pyinfra_mesos.remove_plan import MARATHON_SERVICE, MASTER_SERVICE

# pyinfra/facts/systemd.py: SystemdStatus.state_values and SystemdEnabled.state_values.
ACTIVE_SUBSTATES = frozenset({"running", "waiting", "exited", "listening", "mounted"})
ENABLED_STATES = frozenset({"enabled", "static"})
_PROPERTIES = ("Id", "SubState", "UnitFileState")


# UnitFileState of a unit masked (`systemctl mask`: linked to /dev/null), systemctl(1).
MASKED_STATES = frozenset({"masked", "masked-runtime"})


@dataclass(frozen=True)
class UnitState:
    """One unit: `active` (SubState one of ACTIVE_SUBSTATES), `enabled` (UnitFileState one of
    ENABLED_STATES), `masked` (UnitFileState one of MASKED_STATES: it cannot start nor be
    enabled until unmasked)."""

    active: bool
    enabled: bool
    masked: bool = False


class UnitStates(FactBase[dict[str, UnitState]]):
    """unit name -> UnitState for the units asked; a unit systemctl did not list is absent.

    `systemctl show --all -p Id -p SubState -p UnitFileState u1 u2` prints one `key=value`
    block per unit, blocks apart by a blank line (systemctl(1) "show"); `--all` prints an empty
    property too ("UnitFileState=" for a unit with no unit file), as pyinfra's own facts ask, so
    every block holds all three keys and a block also ends where a key repeats: the order of the
    keys within a block does not matter.
    """

    def requires_command(self, *args: object, **kwargs: object) -> str:
        return "systemctl"

    def command(self, units: tuple[str, ...]) -> StringCommand:
        props: list[str] = []
        for prop in _PROPERTIES:
            props += ["--property", prop]
        return StringCommand("systemctl", "show", "--all", *props,
                             *[QuoteString(u) for u in units])

    def default(self) -> dict[str, UnitState]:
        return {}

    def process(self, output: list[str]) -> dict[str, UnitState]:
        result: dict[str, UnitState] = {}
        block: dict[str, str] = {}

        def flush() -> None:
            if block.get("Id"):
                result[block["Id"]] = UnitState(
                    active=block.get("SubState") in ACTIVE_SUBSTATES,
                    enabled=block.get("UnitFileState") in ENABLED_STATES,
                    masked=block.get("UnitFileState") in MASKED_STATES)
            block.clear()

        for line in output:
            key, sep, value = line.strip().partition("=")
            if not line.strip():
                flush()
            if not sep or key not in _PROPERTIES:
                continue
            if key in block:
                flush()
            block[key] = value
        flush()
        return result


def managed_units(data: Mapping[str, Any]) -> tuple[str, ...]:
    """Every systemd unit the task files start, stop or ask about on some cluster host, by
    name, whatever this host's roles: a unit systemd does not know costs nothing in a `systemctl
    show` (its block reads SubState "dead", no unit file). `data`: the host's data
    (`zookeeper_service`). A unit not listed is still answered, by a read of its own."""
    return (FIREWALL_UNIT, DOCKER_SOCKET, DOCKER_SERVICE, f"{data['zookeeper_service']}.service",
            MASTER_SERVICE, MESOS_AGENT_SERVICE, MARATHON_SERVICE, HAPROXY_SERVICE, BRIDGE_TIMER,
            REGISTRY_SERVICE, REGISTRY_PUSH_SERVICE)


def unit_read(data: Mapping[str, Any]) -> tuple[type[UnitStates], dict[str, Any]]:
    """The host's one read of every unit it manages (host data `data`): (UnitStates, its
    arguments), for unit_states and for deploy.py, which names it ahead (planning_facts)."""
    return UnitStates, {"units": managed_units(data)}


def unit_states(units: Sequence[str]) -> dict[str, UnitState]:
    """`{unit: UnitState}` for each of `units` on the current host (a unit systemctl did not
    list reads inactive and disabled). Units all in `managed_units` come from the host's one
    read of them, read again only after one of the host's operations ran a command
    (fact_until_change); others are read on their own."""
    # Only the key managed_units reads: host.data.dict() merges every layer of the host's data
    # on each call (1.3 ms; eight calls a master).
    fact, where = unit_read({"zookeeper_service": host.data.zookeeper_service})
    if set(units) <= set(where["units"]):
        read = fact_until_change(host, fact, **where)
    else:
        read = host.get_fact(UnitStates, units=tuple(units))
    return {unit: read.get(unit, UnitState(active=False, enabled=False)) for unit in units}


@operation()
def units_running_enabled(units: Sequence[str]):
    """Every unit of `units` (full names, "haproxy.service") active and enabled, in order:
    first `systemctl unmask` for each one that is masked (`remove` masks an agent's units; a
    host added back gets them again), then `systemctl start` for one that is not active and
    `systemctl enable` for one that is not enabled (pyinfra's systemd.service commands). One
    read for all (unit_states; the mask is in the same `systemctl show`); `host.noop` otherwise.
    No units: `host.noop` and no fact (an operation every member plans to keep one order of
    operations, that only some act in)."""
    if not units:
        host.noop("no unit to start on this host here")
        return
    states = unit_states(units)
    changed = False
    # Every mask goes before any start: systemd refuses to start a socket whose service is
    # still masked ("Socket service docker.service not loaded, refusing": systemd
    # src/core/socket.c `socket_start`), and `remove` masks docker.socket and docker.service.
    for unit in units:
        if states[unit].masked:
            yield StringCommand("systemctl", "unmask", QuoteString(unit))
    for unit in units:
        state = states[unit]
        if not state.active:
            yield StringCommand("systemctl", "start", QuoteString(unit))
            changed = True
        if not state.enabled:
            yield StringCommand("systemctl", "enable", QuoteString(unit))
            changed = True
    if not changed:
        host.noop(f"{', '.join(units)} active and enabled")


@operation()
def units_running(units: Sequence[str]):
    """Every unit of `units` (full names) active: `systemctl start` for one that is not
    (pyinfra's systemd.service(running=True) command and state values), its enablement left to
    the caller (ZooKeeper's unit is generated from a SysV script: tasks/zookeeper.py asks
    `systemctl is-enabled`). One read (unit_states); `host.noop` otherwise. No units:
    `host.noop` and no fact."""
    if not units:
        host.noop("no unit to start on this host here")
        return
    states = unit_states(units)
    stopped = [unit for unit in units if not states[unit].active]
    for unit in stopped:
        yield StringCommand("systemctl", "start", QuoteString(unit))
    if not stopped:
        host.noop(f"{', '.join(units)} active")


@operation()
def units_stopped_disabled(units: Sequence[str]):
    """Every unit of `units` (full names) stopped and disabled, in order: `systemctl stop` for
    one that is active, then `systemctl disable` for one that is enabled (pyinfra's
    systemd.service(running=False, enabled=False) commands and state values). A unit systemctl
    does not know (no unit file: UnitFileState empty, SubState "dead") needs nothing. One read
    (unit_states) for all (SystemdStatus and SystemdEnabled read one each per unit);
    `host.noop` otherwise. No units: `host.noop` and no fact."""
    if not units:
        host.noop("no unit to stop on this host here")
        return
    states = unit_states(units)
    changed = False
    for unit in units:
        state = states[unit]
        if state.active:
            yield StringCommand("systemctl", "stop", QuoteString(unit))
            changed = True
        if state.enabled:
            yield StringCommand("systemctl", "disable", QuoteString(unit))
            changed = True
    if not changed:
        host.noop(f"{', '.join(units)} stopped and disabled")
