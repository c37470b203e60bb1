"""App definitions: validation (422 details), legacy->canonical normalisation, defaults, ports.

Marathon 1.5+ accepts the 1.4 Docker form but only ever returns the canonical one
(marathon-api.md, AppNormalization.scala); clients such as the HAProxy bridge must therefore be
tested against canonical output, which is why this module never keeps a deprecated field.
"""

from __future__ import annotations

import copy
import re
from typing import Any

PATH_ID = re.compile(
    r"^(\/?((\.\.)|(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*"
    r"([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9]))?($|\/))+$"
)
HEALTH_PROTOCOLS = {"HTTP", "HTTPS", "TCP", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"}
RESPONSE_ONLY = {
    "version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
    "deployments", "tasks", "lastTaskFailure", "taskStats", "readinessCheckResults",
}
# Fields whose change is a "scale", not a config change (tasks of the old config survive it).
SCALE_ONLY = {"instances"}


class Invalid(Exception):
    """A 422: `message` is "Object is not valid" (validators) or "Invalid JSON" (the RAML
    reader); details are Marathon's [{path, errors[]}] (MarathonExceptionMapper.scala)."""

    def __init__(self, details: list[dict[str, Any]], message: str = "Object is not valid"):
        super().__init__(message)
        self.message = message
        self.details = details


class Errors:
    def __init__(self) -> None:
        self.by_path: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.by_path.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_path:
            raise Invalid([{"path": p, "errors": e} for p, e in self.by_path.items()])


def canonical_id(raw: str) -> str:
    """'foo' and '/foo/' are both the absolute id '/foo' (Marathon resolves against root)."""
    return "/" + raw.strip("/")


def _number(errors: Errors, app: dict[str, Any], key: str, default: float | None,
            minimum: float | None, integer: bool = False) -> None:
    if app.get(key) is None:
        if default is not None:
            app[key] = default
        else:
            app.pop(key, None)
        return
    value = app[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(f"/{key}", "error.expected.jsnumber")
        return
    if integer and not float(value).is_integer():
        errors.add(f"/{key}", "error.expected.int")
        return
    if minimum is not None and value < minimum:
        errors.add(f"/{key}", f"got {value}, expected {minimum:g} or more")


def _normalise_legacy(app: dict[str, Any], errors: Errors) -> None:
    """1.4 fields -> 1.5 fields (docs/docs/upgrade/network-api-migration.md)."""
    container = app.get("container")
    docker = container.get("docker") if isinstance(container, dict) else None
    if isinstance(docker, dict):
        network = docker.pop("network", None)
        legacy_mappings = docker.pop("portMappings", None)
        if network is not None and "networks" not in app:
            mode = {"BRIDGE": "container/bridge", "HOST": "host", "USER": "container"}.get(network)
            if mode is None:
                errors.add("/container/docker/network", f"network {network} is not supported")
            else:
                app["networks"] = [{"mode": mode}]
        if legacy_mappings is not None and container.get("portMappings") is None:
            container["portMappings"] = legacy_mappings
    # Legacy `ports` mean portDefinitions only with host networking (decided later); with
    # BRIDGE, 1.4 derived them from the port mappings, so they are dropped then.
    app["_legacy_ports"] = app.pop("ports", None)
    uris = app.pop("uris", None)
    if uris and not app.get("fetch"):
        app["fetch"] = [{"uri": u} for u in uris]
    if app.pop("ipAddress", None) is not None and "networks" not in app:
        app["networks"] = [{"mode": "container"}]
    app.pop("residency", None)
    app.pop("storeUrls", None)


def network_mode(app: dict[str, Any]) -> str:
    networks = app.get("networks") or [{"mode": "host"}]
    if not isinstance(networks, list) or not isinstance(networks[0], dict):
        return "host"  # already reported as invalid; any answer will do
    return str(networks[0].get("mode", "container"))


def _normalise_networks(app: dict[str, Any], errors: Errors, default_network: str | None) -> None:
    networks = app.get("networks")
    if networks is None or networks == []:
        app["networks"] = [{"mode": "host"}]
        return
    if not isinstance(networks, list) or not all(isinstance(n, dict) for n in networks):
        errors.add("/networks", "error.expected.jsarray")
        return
    for n in networks:
        n.setdefault("mode", "container")
    modes = {n["mode"] for n in networks}
    if not modes <= {"host", "container", "container/bridge"}:
        errors.add("/networks", f"unknown network mode in {sorted(modes)}")
    elif len(modes) > 1 or (modes != {"container"} and len(networks) > 1):
        errors.add("/networks", "Host and container/bridge networks cannot be mixed")
    if modes == {"container"}:
        for i, n in enumerate(networks):
            if not n.get("name") and not default_network:
                errors.add(f"/networks({i})/name",
                           "container networks require a name or --default_network_name")
            elif not n.get("name"):
                n["name"] = default_network


def _normalise_container(app: dict[str, Any], errors: Errors) -> None:
    container = app.get("container")
    if container is None:
        app.pop("container", None)
        return
    if not isinstance(container, dict):
        errors.add("/container", "error.expected.jsobject")
        return
    container.setdefault("type", "DOCKER")
    container.setdefault("volumes", [])
    if container["type"] not in ("DOCKER", "MESOS"):
        errors.add("/container/type", "error.unknown.enum.literal")
    docker = container.get("docker")
    if container["type"] == "DOCKER":
        if not isinstance(docker, dict) or not docker.get("image"):
            errors.add("/container/docker/image", "must not be empty")
            return
    if isinstance(docker, dict):
        docker.setdefault("forcePullImage", False)
        docker.setdefault("privileged", False)
        docker.setdefault("parameters", [])


def _normalise_ports(app: dict[str, Any], errors: Errors) -> None:
    mode = network_mode(app)
    container = app.get("container")
    mappings = container.get("portMappings") if isinstance(container, dict) else None
    legacy = app.pop("_legacy_ports", None)
    if mode == "host" and isinstance(legacy, list) and app.get("portDefinitions") is None:
        app["portDefinitions"] = [{"port": p} for p in legacy]
    if mode == "host":
        if mappings:
            errors.add("/container/portMappings",
                       "port mappings are only allowed with container or container/bridge networks")
        if isinstance(container, dict):
            container.pop("portMappings", None)
        if app.get("portDefinitions") is None:
            app["portDefinitions"] = [{"port": 0, "name": "default"}]
        for i, pd in enumerate(app["portDefinitions"]):
            if not isinstance(pd, dict):
                errors.add(f"/portDefinitions({i})", "error.expected.jsobject")
                continue
            pd.setdefault("port", 0)
            pd.setdefault("protocol", "tcp")
            pd.setdefault("labels", {})
            _port_range(errors, f"/portDefinitions({i})/port", pd["port"])
        return
    if app.get("portDefinitions"):
        errors.add("/portDefinitions", "port definitions are only allowed with host networking")
    app.pop("portDefinitions", None)
    if not isinstance(container, dict):
        errors.add("/container", "container networking needs a container")
        return
    if mappings is None:
        mappings = [{"containerPort": 0, "name": "default"}]
        if mode == "container/bridge":
            mappings[0]["hostPort"] = 0
    container["portMappings"] = mappings
    for i, pm in enumerate(mappings):
        if not isinstance(pm, dict):
            errors.add(f"/container/portMappings({i})", "error.expected.jsobject")
            continue
        pm.setdefault("containerPort", 0)
        if mode == "container/bridge":
            pm.setdefault("hostPort", 0)
        pm.setdefault("servicePort", 0)
        pm.setdefault("protocol", "tcp")
        pm.setdefault("labels", {})
        for key in ("containerPort", "hostPort", "servicePort"):
            if key in pm:
                _port_range(errors, f"/container/portMappings({i})/{key}", pm[key])


def _port_range(errors: Errors, path: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(path, "error.expected.jsnumber")
    elif not 0 <= value <= 65535:
        errors.add(path, f"got {value}, expected between 0 and 65535")


def _normalise_health_checks(app: dict[str, Any], errors: Errors) -> None:
    checks = app.get("healthChecks") or []
    for i, hc in enumerate(checks):
        if not isinstance(hc, dict):
            errors.add(f"/healthChecks({i})", "error.expected.jsobject")
            continue
        hc.setdefault("protocol", "HTTP")
        if hc["protocol"] not in HEALTH_PROTOCOLS:
            # COMMAND checks run inside the task on a real agent; the stand-in cannot.
            errors.add(f"/healthChecks({i})/protocol",
                       f"{hc['protocol']} health checks are not supported by the stand-in")
        if hc["protocol"] in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
            hc.setdefault("path", "/")
            hc.setdefault("ignoreHttp1xx", False)
        if "port" not in hc:
            hc.setdefault("portIndex", 0)
        for key, default in (("gracePeriodSeconds", 300), ("intervalSeconds", 60),
                             ("timeoutSeconds", 20), ("maxConsecutiveFailures", 3),
                             ("delaySeconds", 15)):
            hc.setdefault(key, default)
            value = hc[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                errors.add(f"/healthChecks({i})/{key}", "must be a number >= 0")
    app["healthChecks"] = checks


def _normalise_upgrade(app: dict[str, Any], errors: Errors) -> None:
    strategy = app.get("upgradeStrategy") or {}
    strategy.setdefault("minimumHealthCapacity", 1)
    strategy.setdefault("maximumOverCapacity", 1)
    for key in ("minimumHealthCapacity", "maximumOverCapacity"):
        value = strategy[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.add(f"/upgradeStrategy/{key}", "error.expected.jsnumber")
        elif value > 1:
            errors.add(f"/upgradeStrategy/{key}", "is greater than 1")
        elif value < 0:
            errors.add(f"/upgradeStrategy/{key}", "is less than 0")
    app["upgradeStrategy"] = strategy


def normalise(raw: Any, default_network: str | None = None) -> dict[str, Any]:
    """Validate and canonicalise a request body; raises Invalid with every problem found."""
    errors = Errors()
    if not isinstance(raw, dict):
        errors.add("/", "error.expected.jsobject")
        errors.raise_if_any()
    app = copy.deepcopy({k: v for k, v in raw.items() if k not in RESPONSE_ONLY})
    raw_id = app.get("id")
    if not isinstance(raw_id, str):
        errors.add("/id", "error.path.missing" if raw_id is None else "error.expected.jsstring")
    elif raw_id.strip("/") == "" or not PATH_ID.match(raw_id):
        errors.add("/id", "must fully match regular expression "
                          "'^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*"
                          "([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'")
    else:
        app["id"] = canonical_id(raw_id)
    _normalise_legacy(app, errors)
    if app.get("cmd") is not None and app.get("args") is not None:
        errors.add("/", "AppDefinition must either contain one of 'cmd' or 'args', not both")
    if app.get("cmd") is None and app.get("args") is None and app.get("container") is None:
        errors.add("/", "AppDefinition must either contain one of 'cmd' or 'args', "
                        "and/or a 'container'.")
    for key in ("cmd", "args"):
        if app.get(key) is None:
            app.pop(key, None)
    _number(errors, app, "instances", 1, 0, integer=True)
    _number(errors, app, "cpus", 1, 0.001)
    _number(errors, app, "mem", 128, 0)
    _number(errors, app, "disk", 0, 0)
    _number(errors, app, "gpus", 0, 0, integer=True)
    _number(errors, app, "backoffSeconds", 1, 0)
    _number(errors, app, "backoffFactor", 1.15, 1)
    _number(errors, app, "maxLaunchDelaySeconds", 300, 0)
    for key, default in (("env", {}), ("labels", {}), ("constraints", []), ("fetch", []),
                         ("dependencies", []), ("executor", ""), ("requirePorts", False),
                         ("killSelection", "YOUNGEST_FIRST"), ("readinessChecks", [])):
        if app.get(key) is None:
            app[key] = default
    for i, c in enumerate(app["constraints"]):
        if not isinstance(c, list) or not 2 <= len(c) <= 3:
            errors.add(f"/constraints({i})", "Each constraint must have either 2 or 3 fields")
    _normalise_container(app, errors)
    _normalise_networks(app, errors, default_network)
    _normalise_ports(app, errors)
    _normalise_health_checks(app, errors)
    _normalise_upgrade(app, errors)
    errors.raise_if_any()
    return app


def port_entries(app: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries that carry service ports: portMappings (container nets) or portDefinitions."""
    if network_mode(app) == "host":
        return list(app.get("portDefinitions") or [])
    return list((app.get("container") or {}).get("portMappings") or [])


def _service_key(app: dict[str, Any]) -> str:
    return "port" if network_mode(app) == "host" else "servicePort"


def service_ports(app: dict[str, Any]) -> list[int]:
    key = _service_key(app)
    return [int(e.get(key, 0)) for e in port_entries(app)]


def assign_service_ports(app: dict[str, Any], others: list[dict[str, Any]],
                         previous: dict[str, Any] | None, port_min: int, port_max: int) -> None:
    """servicePort 0 -> a cluster-unique free port; a requested port used elsewhere -> 422.

    An update that still says 0 keeps the port assigned before at the same index, so re-running
    a deploy with the same JSON changes nothing (and HAProxy keeps its listener).
    """
    key = _service_key(app)
    path = "/portDefinitions" if key == "port" else "/container/portMappings"
    used = {p: o["id"] for o in others for p in service_ports(o) if p}
    entries = port_entries(app)
    errors = Errors()
    seen: set[int] = set()
    for i, entry in enumerate(entries):
        port = int(entry.get(key, 0))
        if port == 0:
            continue
        if port in used:
            errors.add(f"{path}({i})/{key}",
                       f"Requested service port {port} conflicts with a service port "
                       f"in app {used[port]}")
        if port in seen:
            errors.add(f"{path}({i})/{key}", f"Service port {port} is used more than once")
        seen.add(port)
    errors.raise_if_any()
    before = service_ports(previous) if previous else []
    taken = set(used) | seen
    candidates = iter(p for p in range(port_min, port_max + 1) if p not in taken)
    for i, entry in enumerate(entries):
        if int(entry.get(key, 0)) != 0:
            continue
        keep = before[i] if i < len(before) else 0
        if keep and keep not in taken:
            entry[key] = keep
        else:
            entry[key] = next(candidates, 0)
            if entry[key] == 0:
                errors.add(f"{path}({i})/{key}",
                           f"no free service port left in [{port_min}, {port_max}]")
                errors.raise_if_any()
        taken.add(entry[key])


def definition_only(app: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in app.items() if k not in RESPONSE_ONLY}


def is_config_change(old: dict[str, Any], new: dict[str, Any]) -> bool:
    a = {k: v for k, v in definition_only(old).items() if k not in SCALE_ONLY}
    b = {k: v for k, v in definition_only(new).items() if k not in SCALE_ONLY}
    return a != b


def merge_partial(existing: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """PUT ?partialUpdate=true (the default): top-level fields of the body replace the stored."""
    merged = copy.deepcopy(definition_only(existing))
    docker = (body.get("container") or {}).get("docker") or {}
    if "network" in docker and "networks" not in body:
        # A legacy body decides the network itself; the stored canonical one must not win.
        merged.pop("networks", None)
    if "ports" in body and "portDefinitions" not in body:
        merged.pop("portDefinitions", None)
    merged.update(copy.deepcopy(body))
    return merged
