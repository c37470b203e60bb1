"""Marathon's apps JSON -> listeners (one per servicePort) with their backends. Pure, stdlib only.

Input: the answer of `GET /v2/apps?embed=apps.tasks` (Marathon 1.10, d2iq-archive/marathon
docs/docs/rest-api, and the 1.4 forms older clusters return). Output: `Listener`s sorted by
service port, each with the `Server`s (task address, port) that may take traffic. Host names are
NOT resolved here (haproxy_resolve.py does that, bounded); nothing here does I/O.

Rules (each logged when it drops something; a bad task drops THAT task, never its app):
- Only values that fully match a strict pattern for their kind leave this module: app ids
  (Marathon's own PathId grammar), host names (RFC 1123 labels), IP literals, ports 1..65535,
  HTTP check paths. A newline or a directive in any of them is refused, never escaped.
- A task takes traffic when TASK_RUNNING and, where the app has health checks, every check has a
  result and every result is alive (`healthCheckResults: [null]` is not alive). marathon-lb does
  the same (mesosphere/marathon-lb, marathon_lb.py, `is_backend_healthy`/get_apps health filter).
- Unknown, not failed: Marathon keeps health results in the leader's memory, so right after a
  leader change NO task of an app has results. Then the running tasks stay (docs/ARCHITECTURE.md).
- Ports, by network mode (Marathon 1.10 AppNormalization.scala, docs/REAL-CONTRACTS.md):
  host: portDefinitions[i].port <- task.ports[i] on task.host;
  container/bridge: portMappings[i].servicePort <- task.ports[i] on task.host (every bridge
  mapping has a hostPort, 0 = dynamic, so positions line up);
  container (IP-per-task): portMappings[i].servicePort <- task.ipAddresses[0]:containerPort,
  as marathon-lb routes such apps; task.ports is never used there (a mapping without hostPort
  gets no task port, so positions shift).
- A servicePort in the reserved set (sshd's 22, the cluster's own ports) is skipped: HAProxy
  could not bind it, and the reload would fail for every app. A port claimed twice goes to the
  first app by id.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger("haproxy-bridge")

RUNNING = "TASK_RUNNING"

# Marathon 1.10 PathId, canonical form as GET returns it (state/PathId.scala, ID_PATTERN): one or
# more "/segment", a segment being dot-separated labels [a-z0-9] or [a-z0-9][a-z0-9-]*[a-z0-9].
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
APP_ID = re.compile(rf"(?:/{_LABEL}(?:\.{_LABEL})*)+", re.ASCII)
# RFC 1123 host name (underscore tolerated: some agents register such names; it cannot break
# a config line). At most 253 characters, labels of 1..63.
HOST = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
                  r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?", re.ASCII)
# Characters an IP literal may contain; ipaddress then decides (no IPv6 zone ids: "%eth0").
IP_CHARS = re.compile(r"[0-9A-Fa-f:.]{2,39}", re.ASCII)
# An HTTP health check path HAProxy gets as one word: no space, quote, backslash or '#'.
HTTP_PATH = re.compile(r"/[A-Za-z0-9._~%/?&=+:@!$*,;-]{0,200}", re.ASCII)
HTTP_PROTOCOLS = ("HTTP", "MESOS_HTTP")


def valid_app_id(value: Any) -> bool:
    return isinstance(value, str) and APP_ID.fullmatch(value) is not None


def ip_literal(value: Any) -> str | None:
    """The canonical text of an IPv4/IPv6 literal, or None (also for names and zone ids)."""
    if not isinstance(value, str) or IP_CHARS.fullmatch(value) is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def valid_host(value: Any) -> bool:
    """A host name HAProxy's bridge may look up, or an IP literal."""
    return isinstance(value, str) and (HOST.fullmatch(value) is not None
                                       or ip_literal(value) is not None)


def valid_port(value: Any) -> bool:
    """A TCP port number: an int (not a bool) 1..65535. The package's one port rule: it lives
    here because the bridge runs without the rest of the package; value_checks.is_port is this
    function."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 65535


@dataclass(frozen=True, order=True)
class Server:
    """One backend: `address` is an IP literal or (before resolution) a host name; port 1..65535."""

    address: str
    port: int


@dataclass(frozen=True)
class Listener:
    """One HAProxy `listen` section: bind :service_port, balance over `servers`.

    `http_check` is the HTTP path HAProxy probes (the app's HTTP health check on this port
    index), or None for a TCP connect check.
    """

    app_id: str
    service_port: int
    port_index: int
    servers: tuple[Server, ...]
    http_check: str | None = None


@dataclass(frozen=True)
class PortSpec:
    index: int
    service_port: int
    protocol: str
    container_port: int | None


# -- the app -------------------------------------------------------------------------------------


def _groups_of(app: Mapping[str, Any]) -> set[str]:
    labels = app.get("labels") or {}
    value = labels.get("HAPROXY_GROUP", "") if isinstance(labels, Mapping) else ""
    return {g.strip() for g in str(value).split(",") if g.strip()}


def in_group(app: Mapping[str, Any], group: str) -> bool:
    """marathon-lb's rule: `*` exposes every app; otherwise the HAPROXY_GROUP label must match."""
    return group == "*" or group in _groups_of(app)


def network_mode(app: Mapping[str, Any]) -> str:
    """"host", "container/bridge" or "container", from `networks` (1.5+) or docker.network (1.4).

    Marathon 1.10 AppNormalization.scala: no networks = host; BRIDGE -> container/bridge,
    USER -> container; a network item without mode is `container`.
    """
    networks = app.get("networks") or []
    modes = {str(n.get("mode", "container")) for n in networks if isinstance(n, Mapping)}
    if "container" in modes:
        return "container"
    if "container/bridge" in modes:
        return "container/bridge"
    if modes:
        return "host"
    container = app.get("container") or {}
    docker = container.get("docker") or {}
    legacy = str(docker.get("network") or "").upper()
    if legacy == "BRIDGE":
        return "container/bridge"
    if legacy == "USER" or app.get("ipAddress"):
        return "container"
    return "host"


def port_specs(app: Mapping[str, Any], warn: bool = True) -> list[PortSpec]:
    """The app's exposed ports, in Marathon's order: portMappings (non-host modes; the 1.4
    `docker.portMappings` too) or portDefinitions / deprecated `ports` (host mode).

    Entries that are not objects, or whose servicePort is not 1..65535, are left out (their
    index is kept for the others: it is what task.ports and health checks' portIndex count);
    `warn`: log each one left out (the bridge does; callers that only count ports do not).
    """
    if network_mode(app) == "host":
        definitions = app.get("portDefinitions")
        if definitions is None:
            raw = [{"port": p} for p in app.get("ports") or []]
        else:
            raw = list(definitions)
        entries = [(d, d.get("port") if isinstance(d, Mapping) else None) for d in raw]
    else:
        container = app.get("container") or {}
        docker = container.get("docker") or {}
        raw = list(container.get("portMappings") or docker.get("portMappings") or [])
        entries = [(m, m.get("servicePort") if isinstance(m, Mapping) else None) for m in raw]
    specs = []
    for index, (entry, port) in enumerate(entries):
        if not isinstance(entry, Mapping) or not valid_port(port):
            if warn:
                LOG.warning("%r: port %d (%r) has no servicePort 1..65535; not bound",
                            app.get("id"), index, entry)
            continue
        container_port = entry.get("containerPort")
        specs.append(PortSpec(index, port, str(entry.get("protocol") or "tcp"),
                              container_port if valid_port(container_port) else None))
    return specs


def service_ports(app: Mapping[str, Any]) -> list[tuple[int, int, str]]:
    """[(port index, servicePort, protocol)] of the app's fixed service ports: the ports HAProxy
    binds for it. The package's one reading of an app's service ports (status, `check`, the
    firewall read it too); quiet, as a servicePort 0 (Marathon assigns one) is normal there."""
    return [(s.index, s.service_port, s.protocol) for s in port_specs(app, warn=False)]


def http_check_path(app: Mapping[str, Any], index: int) -> str | None:
    """The path of the app's HTTP (or MESOS_HTTP) health check on port `index`, if valid.

    A check without `port` and without `portIndex` gets portIndex 0 (Marathon 1.10
    AppNormalization.scala; app_rules' rule 5.3).
    """
    for check in app.get("healthChecks") or []:
        if not isinstance(check, Mapping):
            continue
        if str(check.get("protocol") or "HTTP").upper() not in HTTP_PROTOCOLS:
            continue
        if check.get("port") is not None or check.get("portIndex", 0) != index:
            continue
        path = check.get("path") or "/"
        if isinstance(path, str) and HTTP_PATH.fullmatch(path):
            return path
        LOG.warning("%s: health check path %r is not a plain URL path; TCP check instead",
                    app.get("id"), path)
    return None


# -- tasks ---------------------------------------------------------------------------------------


def _results(task: Mapping[str, Any]) -> list[Any]:
    results = task.get("healthCheckResults")
    return list(results) if isinstance(results, list) else []


def task_is_up(task: Mapping[str, Any], checks: int) -> bool:
    """TASK_RUNNING (or, from Marathon before task states, started) and, when `checks` > 0,
    a result for every check, each an object with `alive: true`."""
    state = task.get("state")
    if state is not None:
        if state != RUNNING:
            return False
    elif "startedAt" in task and not task.get("startedAt"):
        return False  # pre-1.x answers: staged, not started yet
    if checks:
        results = _results(task)
        return len(results) >= checks and all(
            isinstance(r, Mapping) and r.get("alive") is True for r in results)
    return True


def health_checks_in_force(app: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]]) -> int:
    """How many health results a task needs: the app's check count, or 0 while NO task has any
    result yet (just after a Marathon leader change: unknown, not failed)."""
    checks = [c for c in app.get("healthChecks") or [] if isinstance(c, Mapping)]
    if not checks or not any(_results(t) for t in tasks):
        return 0
    return len(checks)


def _task_ip(task: Mapping[str, Any]) -> str | None:
    """The task's own address on a container network: the first IPv4, else the first IPv6."""
    found = []
    for entry in task.get("ipAddresses") or []:
        if isinstance(entry, Mapping):
            ip = ip_literal(entry.get("ipAddress"))
            if ip is not None:
                found.append(ip)
    found.sort(key=lambda ip: ":" in ip)  # stable: IPv4 first, Marathon's order otherwise
    return found[0] if found else None


def task_servers(app_id: str, mode: str, task: Mapping[str, Any],
                 specs: list[PortSpec]) -> dict[int, Server] | None:
    """{port index: Server} of one up task, or None (logged) when the task is unusable."""
    task_id = task.get("id", "?")
    if mode == "container":
        ip = _task_ip(task)
        if ip is None:
            LOG.warning("%s: task %r has no usable ipAddresses yet; left out", app_id, task_id)
            return None
        return {s.index: Server(ip, s.container_port) for s in specs
                if s.container_port is not None}
    host = task.get("host")
    if not valid_host(host):
        LOG.warning("%s: task %r host %r is not a host name or IP; left out",
                    app_id, task_id, host)
        return None
    ports = task.get("ports") or []
    if not isinstance(ports, list):
        LOG.warning("%s: task %r ports is not a list; left out", app_id, task_id)
        return None
    out = {}
    for spec in specs:
        if spec.index >= len(ports):
            LOG.warning("%s: task %r has no host port for port index %d; left out of "
                        "servicePort %d", app_id, task_id, spec.index, spec.service_port)
        elif not valid_port(ports[spec.index]):
            LOG.warning("%s: task %r host port %r is not a port; left out of servicePort %d",
                        app_id, task_id, ports[spec.index], spec.service_port)
        else:
            out[spec.index] = Server(str(host), ports[spec.index])
    return out


# -- listeners -----------------------------------------------------------------------------------


def app_listeners(app: Mapping[str, Any], reserved: frozenset[int] = frozenset()) -> list[Listener]:
    """The listeners of one app; raises ValueError/TypeError/AttributeError if it is malformed."""
    app_id = app.get("id")
    if not valid_app_id(app_id):
        raise ValueError(f"id {app_id!r} is not a Marathon app id")
    mode = network_mode(app)
    specs = []
    for spec in port_specs(app):
        if "tcp" not in spec.protocol.split(","):
            LOG.info("%s: servicePort %s is %s only; HAProxy proxies TCP",
                     app_id, spec.service_port, spec.protocol)
        elif spec.service_port in reserved:
            LOG.warning("%s: servicePort %s is reserved on the load balancers (a port the host "
                        "or the cluster holds); not bound", app_id, spec.service_port)
        elif mode == "container" and spec.container_port is None:
            LOG.warning("%s: servicePort %s has no containerPort to route to on the task's "
                        "address; not bound", app_id, spec.service_port)
        else:
            specs.append(spec)
    raw_tasks = app.get("tasks") or []
    if not isinstance(raw_tasks, list):
        raise ValueError("tasks is not a list")
    tasks = [t for t in raw_tasks if isinstance(t, Mapping)]
    checks = health_checks_in_force(app, tasks)
    by_index: dict[int, set[Server]] = {s.index: set() for s in specs}
    for task in tasks:
        if not task_is_up(task, checks):
            continue
        servers = task_servers(app_id, mode, task, specs)
        for index, server in (servers or {}).items():
            by_index[index].add(server)
    return [Listener(app_id, s.service_port, s.index, tuple(sorted(by_index[s.index])),
                     http_check_path(app, s.index)) for s in specs]


def build_listeners(apps_json: Mapping[str, Any], group: str = "*",
                    reserved: Iterable[int] = ()) -> list[Listener]:
    """Every listener for Marathon's answer, sorted by service port (deterministic).

    Raises ValueError when the answer has no `apps` list. One malformed app is logged and
    skipped; a service port claimed twice goes to the first app by id (the other is logged).
    """
    apps = apps_json.get("apps")
    if not isinstance(apps, list):
        raise ValueError("the answer has no 'apps' list")
    reserved_set = frozenset(reserved)
    taken: dict[int, Listener] = {}
    for app in sorted((a for a in apps if isinstance(a, Mapping)),
                      key=lambda a: str(a.get("id", ""))):
        shown = repr(app.get("id"))  # repr: an id with a newline stays one log line
        try:
            if not in_group(app, group):
                continue
            listeners = app_listeners(app, reserved_set)
        except (ValueError, TypeError, AttributeError, KeyError) as e:
            LOG.warning("skipping app %s: malformed (%s: %s)", shown, type(e).__name__, e)
            continue
        for listener in listeners:
            first = taken.get(listener.service_port)
            if first is not None:
                LOG.warning("skipping %s servicePort %s: already used by %s",
                            listener.app_id, listener.service_port, first.app_id)
                continue
            taken[listener.service_port] = listener
    return [taken[port] for port in sorted(taken)]
