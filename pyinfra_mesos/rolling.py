"""The rolling, health-gated restart every component uses: a pyinfra fact and operation.

A running service restarts when it started before its newest input file was written: a config
written in this run, a run killed between writing a file and restarting, a package that started
a service before its config existed, a package upgrade (dpkg rewrites the package's .list file).
The rule reads the host at execution time, so a deploy finishes what an interrupted one started
(a re-run restarts what is stale though it writes nothing), and a service that was started after
its files were written (a new member) is not restarted again. Planning (`--dry`) cannot see
writes that have not happened yet, so there the operations that would write the inputs count.
Callers pass `_serial=True`, so hosts go one at a time, each answering its health probe
(bounded) before the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyinfra import host, state
from pyinfra.api import FactBase, QuoteString, StringCommand, operation
from pyinfra.api.operation import OperationMeta

from pyinfra_mesos.deploy_config import restart_and_wait_command


@dataclass(frozen=True)
class Freshness:
    """A unit's state against its inputs. Times are seconds since the epoch (sub-second)."""

    active: bool
    started: float | None
    inputs: dict[str, float]

    @property
    def newest_input(self) -> tuple[str, float] | None:
        if not self.inputs:
            return None
        path = max(self.inputs, key=lambda p: self.inputs[p])
        return path, self.inputs[path]

    @property
    def stale(self) -> bool:
        """Running, but started before an input was last written (strictly: a file written in
        the same instant as the start is taken as read)."""
        newest = self.newest_input
        return bool(self.active and self.started is not None and newest
                    and self.started < newest[1])


def parse_freshness(lines: Sequence[str]) -> Freshness:
    """Parse ServiceFreshness output: `state=<ActiveState>`, `started=<epoch.ns>`,
    `input=<epoch.ns> <path>` lines (missing inputs are simply absent)."""
    active = False
    started: float | None = None
    inputs: dict[str, float] = {}
    for line in lines:
        key, _, value = line.strip().partition("=")
        try:
            if key == "state":
                active = value == "active"
            elif key == "started" and value:
                started = float(value)
            elif key == "input":
                stamp, _, path = value.partition(" ")
                inputs[path] = float(stamp)
        except ValueError:
            continue
    return Freshness(active, started, inputs)


class ServiceFreshness(FactBase[Freshness]):
    """Whether a systemd unit is active, when it became active, and when each input was last
    modified (symlinks followed). One command for all of it: one round trip."""

    def command(self, unit: str, paths: Sequence[str]) -> StringCommand:
        parts: list[object] = [
            "echo state=$(systemctl show -p ActiveState --value", QuoteString(unit), ");",
            "ts=$(systemctl show --timestamp=us+utc -p ActiveEnterTimestamp --value",
            QuoteString(unit), ");",
            '[ -n "$ts" ] && echo started=$(date -d "$ts" +%s.%N);',
        ]
        for path in paths:
            parts += ["[ -e", QuoteString(path), "] && echo input=$(stat -L -c %.9Y",
                      QuoteString(path), ")", QuoteString(path), ";"]
        parts.append("true")
        return StringCommand(*parts)

    def process(self, output: list[str]) -> Freshness:
        return parse_freshness(output)

    @staticmethod
    def default() -> Freshness:
        return Freshness(False, None, {})


def _changed(meta: OperationMeta) -> bool:
    """Did (or, before execution, will) this operation change anything."""
    return meta.did_change() if meta.is_complete() else meta.will_change


@operation(is_idempotent=True)
def rolling_restart(service: str, inputs: Sequence[str], probe: str, timeout_s: int,
                    changes: Sequence[OperationMeta] = (), force: bool = False):
    """Restart `service` and wait (at most `timeout_s` seconds) until `probe`, a shell command,
    succeeds; a clear error naming the service and probe otherwise.

    Restarts when `force`, or when the service runs and started before one of `inputs` (paths)
    was last modified; while planning, also when one of `changes` (the operations writing the
    inputs) will change something. `host.noop` otherwise. Pass `_serial=True` for one host at
    a time.
    """
    freshness = host.get_fact(ServiceFreshness, unit=service, paths=list(inputs))
    reasons = []
    if force:
        reasons.append("forced")
    if not state.is_executing and any(_changed(meta) for meta in changes):
        reasons.append("its inputs will change in this run")
    if freshness.stale and freshness.newest_input:
        reasons.append(f"it started before {freshness.newest_input[0]} was written")
    if not reasons:
        host.noop(f"{service} runs with its current inputs")
        return
    yield restart_and_wait_command(service, probe, timeout_s)
