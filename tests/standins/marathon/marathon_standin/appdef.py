"""App definitions: validation (422 details), legacy->canonical normalisation, defaults, ports.

Marathon 1.5+ accepts the 1.4 Docker form but only ever returns the canonical one
(d2iq-archive/marathon v1.10.26 api/v2/AppNormalization.scala; docs/REAL-CONTRACTS.md);
clients such as the HAProxy bridge must therefore be tested against canonical output, which
is why this module never keeps a deprecated field.
"""

from __future__ import annotations

import copy
from typing import Any

from . import appnorm, appread

RESPONSE_ONLY = {
    "version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
    "deployments", "tasks", "lastTaskFailure", "taskStats", "readinessCheckResults",
    "storeUrls",
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
    """'foo', '/foo/' and '/a/../foo' are all the absolute id '/foo' (PathId.scala)."""
    return appnorm.canonical_id(raw)


def network_mode(app: dict[str, Any]) -> str:
    return appnorm.network_mode(app)


def _raise(details: dict[str, list[str]], message: str) -> None:
    if details:
        raise Invalid([{"path": p, "errors": e} for p, e in details.items()], message)


def normalise(raw: Any, default_network: str | None = None, update: bool = False,
              bridge_name: str = "mesos-bridge", mesos_role: str = "*") -> dict[str, Any]:
    """A request body -> the app as Marathon 1.10 stores and returns it (without version).

    Steps as AppHelpers.scala: the RAML reader (422 "Invalid JSON"), the deprecated-field
    checks, their conversion, the canonical checks (422 "Object is not valid"), the stored
    form. `update`: the body is a merged partial update (portIndex defaults always, 5.3).
    """
    if not isinstance(raw, dict):
        raise Invalid([{"path": "/", "errors": ["error.expected.jsobject"]}], "Invalid JSON")
    app = copy.deepcopy({k: v for k, v in raw.items() if k not in RESPONSE_ONLY})
    _raise(appread.read(app), "Invalid JSON")
    problems = appnorm.Problems()
    appnorm.check_deprecated(app, problems)
    _raise(problems.by_path, "Object is not valid")
    raw_ports = appnorm.convert_deprecated(app, bridge_name)
    appnorm.normalise_ports(app, raw_ports)
    declares_ports = update or raw_ports > 0 or network_mode(app) != "host"
    appnorm.normalise_health(app, declares_ports)
    appnorm.validate(app, problems)
    for i, network in enumerate(app["networks"]):
        if network["mode"] == "container" and not network.get("name"):
            if default_network:
                network["name"] = default_network  # filled after validation (rule 4.8)
            else:
                problems.add(f"/networks({i})",
                             "Network name must be specified when container network is selected.")
    _raise(problems.by_path, "Object is not valid")
    return appnorm.stored_form(app, mesos_role)


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
    container = body.get("container") if isinstance(body.get("container"), dict) else {}
    docker = container.get("docker") if isinstance(container.get("docker"), dict) else {}
    if ("network" in docker or "ipAddress" in body) and "networks" not in body:
        # A legacy body decides the network itself; the stored canonical one must not win.
        merged.pop("networks", None)
    if ("ports" in body or "networks" in body or "ipAddress" in body) and \
            "portDefinitions" not in body:
        merged.pop("portDefinitions", None)
    if "uris" in body and "fetch" not in body:
        merged.pop("fetch", None)
    merged.update(copy.deepcopy(body))
    return merged
