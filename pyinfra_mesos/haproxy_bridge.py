#!/usr/bin/env python3
"""Marathon -> HAProxy bridge: one listener per service port, for running and healthy tasks.

STDLIB ONLY. The deploy (tasks/haproxy.py) copies this module and its siblings (BRIDGE_FILES)
to every load balancer under /usr/local/lib/pyinfra-mesos/pyinfra_mesos/, where a systemd timer
runs `python3 -m pyinfra_mesos.haproxy_bridge` every few seconds. One run:

1. reads `GET /v2/apps?embed=apps.tasks` from the first Marathon that answers, bounded in time
   and size per URL (haproxy_marathon.py);
2. builds the listeners (haproxy_model.py), resolves task hosts to IP literals itself
   (haproxy_resolve.py), drops service ports another program holds (haproxy_apply.py);
3. renders haproxy.cfg (haproxy_render.py; same input -> byte-identical output);
4. if HAProxy does not already run that text: checks it with `haproxy -c`, renames it over the
   config, reloads, and proves the reload on the stats socket (haproxy_apply.py).

When Marathon cannot be read, or answers garbage, the current config stays and the run exits 0
with a log line: an outage of Marathon must not empty the load balancer. One malformed app, task
or host is logged and skipped; it never blocks the others.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from pyinfra_mesos import (
    haproxy_apply,
    haproxy_marathon,
    haproxy_model,
    haproxy_render,
    haproxy_resolve,
)
from pyinfra_mesos.haproxy_model import in_group, service_ports
from pyinfra_mesos.haproxy_render import GLOBAL_SECTION

__all__ = ["BRIDGE_FILES", "GLOBAL_SECTION", "in_group", "main", "render_config",
           "service_ports"]

LOG = logging.getLogger("haproxy-bridge")

_HERE = os.path.dirname(os.path.abspath(__file__))
# What the load balancers need, all in this package directory (tasks/haproxy.py copies them).
BRIDGE_FILES = tuple(os.path.join(_HERE, name) for name in (
    "__init__.py", "haproxy_bridge.py", "haproxy_model.py", "haproxy_resolve.py",
    "haproxy_render.py", "haproxy_marathon.py", "haproxy_apply.py"))

# The units on a load balancer (tasks/haproxy.py): Debian's haproxy.service, and the bridge's
# own <BRIDGE_UNIT>.service run by <BRIDGE_UNIT>.timer (written under /etc/systemd/system).
HAPROXY_SERVICE = "haproxy.service"
BRIDGE_UNIT = "pyinfra-mesos-haproxy-bridge"
BRIDGE_SERVICE = f"{BRIDGE_UNIT}.service"
BRIDGE_TIMER = f"{BRIDGE_UNIT}.timer"
# The file the bridge writes and HAProxy runs (Debian's haproxy.service reads it).
HAPROXY_CONFIG = "/etc/haproxy/haproxy.cfg"

DEFAULT_RESERVED = "22"
DEFAULT_STATE = "/var/lib/pyinfra-mesos-haproxy-bridge/applied"


def render_config(apps_json: Mapping[str, Any], group: str = "*",
                  header: str = GLOBAL_SECTION, reserved: Iterable[int] = (),
                  resolve_timeout_s: float = 5.0,
                  lookup: haproxy_resolve.Lookup = haproxy_resolve.system_lookup) -> str:
    """The whole haproxy.cfg for Marathon's `GET /v2/apps?embed=apps.tasks` answer (no port
    probing: that needs the host). Raises ValueError when the answer has no `apps` list."""
    listeners = haproxy_model.build_listeners(apps_json, group, reserved)
    listeners = haproxy_resolve.resolve_listeners(listeners, resolve_timeout_s, lookup)
    return haproxy_render.render(listeners, header)


def parse_ports(text: str) -> set[int]:
    """"22 2181,5050-5051" -> {22, 2181, 5050, 5051}; raises ValueError on anything else."""
    ports: set[int] = set()
    for item in (v for v in re.split(r"[\s,]+", text or "") if v):
        match = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", item)
        if not match:
            raise ValueError(f"{item!r} is not a port or a low-high range")
        low, high = int(match[1]), int(match[2] or match[1])
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"{item!r} is not within 1..65535")
        ports.update(range(low, high + 1))
    return ports


def _split(value: str) -> list[str]:
    return [v for v in re.split(r"[\s,]+", value or "") if v]


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    """Options default to the environment (the systemd unit's EnvironmentFile)."""
    env = os.environ
    parser = argparse.ArgumentParser(description="Marathon -> HAProxy bridge (one run)")
    parser.add_argument("--marathon", action="append",
                        default=_split(env.get("MARATHON_URLS", "")) or None,
                        help="Marathon base URL (repeat; env MARATHON_URLS, space separated)")
    parser.add_argument("--group", default=env.get("HAPROXY_GROUP", "*"))
    parser.add_argument("--config", default=env.get("HAPROXY_CONFIG", HAPROXY_CONFIG))
    parser.add_argument("--state", default=env.get("HAPROXY_BRIDGE_STATE", DEFAULT_STATE),
                        help="where the sha256 of the config HAProxy runs is recorded")
    parser.add_argument("--haproxy", default=env.get("HAPROXY_BIN", "haproxy"))
    parser.add_argument("--reload-command",
                        default=env.get("HAPROXY_RELOAD_COMMAND", "systemctl reload haproxy"))
    parser.add_argument("--log-command", default=env.get(
        "HAPROXY_LOG_COMMAND",
        "journalctl --unit haproxy.service --no-pager --output cat --since -1min"),
        help="prints HAProxy's recent log; its ALERT lines explain a failed reload")
    parser.add_argument("--stats-socket", default=env.get(
        "HAPROXY_STATS_SOCKET", haproxy_render.DEFAULT_STATS_SOCKET))
    parser.add_argument("--unprivileged", action="store_true",
                        help="HAProxy runs as this user in the foreground (no chroot/user)")
    parser.add_argument("--verify-timeout", type=float,
                        default=float(env.get("HAPROXY_VERIFY_TIMEOUT", "10")))
    parser.add_argument("--reserved-ports", default=env.get("HAPROXY_RESERVED_PORTS",
                                                             DEFAULT_RESERVED),
                        help="service ports never bound (sshd, the cluster's own ports)")
    parser.add_argument("--timeout", type=float, default=float(env.get("MARATHON_TIMEOUT", "5")),
                        help="seconds per Marathon URL, connect to last byte")
    parser.add_argument("--max-bytes", type=int, default=int(env.get(
        "MARATHON_MAX_BYTES", str(haproxy_marathon.DEFAULT_MAX_BYTES))))
    parser.add_argument("--resolve-timeout", type=float,
                        default=float(env.get("HAPROXY_RESOLVE_TIMEOUT", "5")),
                        help="seconds for all task host look-ups together")
    parser.add_argument("--credentials-file", default=env.get("MARATHON_CREDENTIALS_FILE", ""))
    return parser.parse_args(list(argv) if argv is not None else None)


def main(argv: Iterable[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = parse_args(argv)
    if not args.marathon:
        LOG.error("no Marathon URL (MARATHON_URLS); keeping the current config")
        return 0
    try:
        reserved = parse_ports(args.reserved_ports)
        header = haproxy_render.header(args.stats_socket, args.unprivileged)
    except ValueError as e:
        LOG.error("bad setting (%s); keeping the current config", e)
        return 1
    credentials = haproxy_marathon.read_credentials(args.credentials_file)
    apps = haproxy_marathon.fetch_apps(args.marathon, args.timeout, credentials, args.max_bytes)
    if apps is None:
        LOG.warning("Marathon unreachable or unusable; keeping the current config")
        return 0
    listeners = haproxy_model.build_listeners(apps, args.group, reserved)
    listeners = haproxy_resolve.resolve_listeners(listeners, args.resolve_timeout)
    own = haproxy_apply.bound_ports(haproxy_apply.read_text(args.config))
    listeners = haproxy_apply.bindable(listeners, own)
    text = haproxy_render.render(listeners, header)
    os.makedirs(os.path.dirname(os.path.abspath(args.state)), exist_ok=True)
    result = haproxy_apply.install_config(
        text, args.config, args.state,
        check=lambda path: haproxy_apply.run_command([args.haproxy, "-c", "-q", "-f", path]),
        reload=lambda: haproxy_apply.run_command(shlex.split(args.reload_command)),
        verify=haproxy_apply.verify_by_stats(args.stats_socket, args.verify_timeout,
                                             args.log_command),
    )
    if result != "unchanged":
        LOG.info("haproxy config %s (%d apps, %d listeners)", result, len(apps["apps"]),
                 len(listeners))
    return 0 if result in ("unchanged", "reloaded") else 1


if __name__ == "__main__":
    sys.exit(main())
