"""Systemd units running and enabled, read in ONE round trip.

pyinfra 3's systemd.service(running=True, enabled=True) reads two facts, SystemdStatus
(SubState) and SystemdEnabled (UnitFileState), each its own `systemctl show` over SSH
(pyinfra/operations/systemd.py `service`), and pyinfra 3 keeps no fact cache (pyinfra/api/
facts.py `_get_fact` runs the command on every call). `UnitStates` reads both properties of
several units in one `systemctl show`; `units_running_enabled` starts and enables what is not,
with pyinfra's own rules (the state values of pyinfra/facts/systemd.py) and its commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyinfra import host
from pyinfra.api import FactBase, QuoteString, StringCommand, operation

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


@operation()
def units_running_enabled(units: Sequence[str]):
    """Every unit of `units` (full names, "haproxy.service") active and enabled, in order:
    first `systemctl unmask` for each one that is masked (`remove` masks an agent's units; a
    host added back gets them again), then `systemctl start` for one that is not active and
    `systemctl enable` for one that is not enabled (pyinfra's systemd.service commands). One
    fact for all (the mask is read in the same `systemctl show`); `host.noop` otherwise.
    No units: `host.noop` and no fact (an operation every member plans to keep one order of
    operations, that only some act in)."""
    if not units:
        host.noop("no unit to start on this host here")
        return
    read = host.get_fact(UnitStates, units=tuple(units))
    states = {unit: read.get(unit, UnitState(active=False, enabled=False)) for unit in units}
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
def units_stopped_disabled(units: Sequence[str]):
    """Every unit of `units` (full names) stopped and disabled, in order: `systemctl stop` for
    one that is active, then `systemctl disable` for one that is enabled (pyinfra's
    systemd.service(running=False, enabled=False) commands and state values). A unit systemctl
    does not know (no unit file: UnitFileState empty, SubState "dead") needs nothing. One fact
    for all (SystemdStatus and SystemdEnabled read one each per unit); `host.noop` otherwise.
    No units: `host.noop` and no fact."""
    if not units:
        host.noop("no unit to stop on this host here")
        return
    states = host.get_fact(UnitStates, units=tuple(units))
    changed = False
    for unit in units:
        state = states.get(unit, UnitState(active=False, enabled=False))
        if state.active:
            yield StringCommand("systemctl", "stop", QuoteString(unit))
            changed = True
        if state.enabled:
            yield StringCommand("systemctl", "disable", QuoteString(unit))
            changed = True
    if not changed:
        host.noop(f"{', '.join(units)} stopped and disabled")
