"""What restarts a service and how a restarted one is awaited (pure).

`service_inputs` gathers each component's inputs (a running service older than any of them is
restarted: deploy/rolling.py); `restart_and_wait_command` is the shell a rolling restart runs on
one host at a time, `http_probe` a health probe for it. `Freshness` is a unit's state against
its inputs, as deploy/rolling.py's ServiceFreshness fact reads it (`parse_freshness`).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyinfra_mesos.docker import docker_inputs
from pyinfra_mesos.marathon import marathon_inputs
from pyinfra_mesos.mesos_package import mesos_inputs
from pyinfra_mesos.topology import DOCKER_ROLES
from pyinfra_mesos.zookeeper import zookeeper_inputs


def service_inputs(roles: Iterable[str], data: Mapping[str, Any]) -> dict[str, list[str]]:
    """`{systemd unit: its input paths}` for the services a host with `roles` runs: what the
    rolling restarts compare a running service against, and what the cluster checks call drift.
    """
    roles = set(roles)
    services: dict[str, list[str]] = {}
    if roles & DOCKER_ROLES:
        services["docker.service"] = docker_inputs(data)
    if "zookeeper" in roles:
        services[f"{data['zookeeper_service']}.service"] = zookeeper_inputs(data)
    for role in ("master", "agent"):
        if role in roles:
            services[f"mesos-{role}.service"] = mesos_inputs(data, role)
    if "marathon" in roles:
        services["marathon.service"] = marathon_inputs(data)
    return services


def restart_and_wait_command(service: str, probe: str, timeout_s: int) -> str:
    """Restart, then poll `probe` (a shell command) until it succeeds, bounded.

    Run with `_serial=True`, so a rolling restart never takes a second member of a quorum down
    before the first is back.
    """
    return (f"systemctl restart {service} && "
            f"for i in $(seq {timeout_s}); do "
            f"{probe} && exit 0; sleep 1; done; "
            # Quoted as one shell word: inside double quotes, backticks would run the probe.
            f"echo {shlex.quote(f'{service} did not pass {probe} within {timeout_s} s')} >&2; "
            "exit 1")


def http_probe(url: str, curl_config: str = "") -> str:
    """A curl health probe; `curl_config` is a 0600 `curl -K` file carrying credentials, so
    they never appear on a command line (real Marathon with --http_credentials answers 401 on
    every path, /ping included: d2iq-archive/marathon v1.10.26 HttpModule.scala)."""
    config = f"-K {shlex.quote(curl_config)} " if curl_config else ""
    return f"curl -fsS -o /dev/null {config}{shlex.quote(url)}"


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


def systemd_utc_timestamp(text: str) -> float:
    """Seconds since the epoch (microseconds kept) of a timestamp systemctl prints with
    `--timestamp=us+utc`: `<weekday> YYYY-MM-DD HH:MM:SS.uuuuuu UTC` (systemd
    src/basic/time-util.c `format_timestamp_style`). The weekday is not read. ValueError for
    anything else."""
    _weekday, _, rest = text.strip().partition(" ")
    if not rest.endswith(" UTC"):
        raise ValueError(f"not a UTC timestamp: {text!r}")
    moment = datetime.strptime(rest.removesuffix(" UTC"), "%Y-%m-%d %H:%M:%S.%f")
    return moment.replace(tzinfo=UTC).timestamp()


def parse_freshness(lines: Sequence[str]) -> Freshness:
    """Parse ServiceFreshness output: systemctl's `ActiveState=<state>` and
    `ActiveEnterTimestamp=<us+utc timestamp>` (`systemctl show --timestamp=us+utc`, e.g. `Wed
    2026-12-02 06:00:42.208123 UTC`; empty before the unit ever started), then
    `input=<epoch.ns> <path>` lines (missing inputs are simply absent)."""
    active = False
    started: float | None = None
    inputs: dict[str, float] = {}
    for line in lines:
        key, _, value = line.strip().partition("=")
        try:
            if key == "ActiveState":
                active = value == "active"
            elif key == "ActiveEnterTimestamp" and value:
                started = systemd_utc_timestamp(value)
            elif key == "input":
                stamp, _, path = value.partition(" ")
                inputs[path] = float(stamp)
        except ValueError:
            continue
    return Freshness(active, started, inputs)
