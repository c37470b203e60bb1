"""An app's canonical form: what Marathon 1.10 stores and returns for it.

Pure. `canonical(app)` takes an app file (any accepted form: 1.4 legacy, deprecated fields,
empty collections, relative ids) or Marathon's own `GET /v2/apps/{id}` answer and gives the
same dict for both when Marathon would store them alike. The deploy compares
`canonical(desired)` with `canonical(current)` whole, so a re-run of a converged app is a no-op
and a field deleted from a file is a change.

Upstream: d2iq-archive/marathon v1.10.26,
- src/main/scala/mesosphere/marathon/api/v2/AppNormalization.scala (deprecated fields, network
  translation, port defaults and padding, health-check portIndex, requirePorts, canonical ids),
- src/main/scala/mesosphere/marathon/raml/AppConversion.scala, ContainerConversion.scala,
  HealthCheckConversion.scala (what GET returns: defaults materialised, per-engine drops),
- docs/docs/rest-api/public/api/v2/types/app.raml (defaults, `omitEmpty`, uniqueItems sets).
Rule numbers below are app_rules' index (section 4 networking, 5 health checks, 8 what GET
returns); all paths are in d2iq-archive/marathon tag v1.10.26.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# app.raml App properties (writable) and the deprecated ones 1.10 still reads (rule 2.1: any
# other key is ignored by Marathon's generated reader).
APP_FIELDS = (
    "id", "cmd", "args", "user", "env", "instances", "cpus", "mem", "disk", "gpus", "executor",
    "constraints", "fetch", "storeUrls", "backoffSeconds", "backoffFactor",
    "maxLaunchDelaySeconds", "container", "healthChecks", "readinessChecks", "check",
    "dependencies", "upgradeStrategy", "labels", "acceptedResourceRoles", "residency",
    "secrets", "taskKillGracePeriodSeconds", "unreachableStrategy", "killSelection", "networks",
    "portDefinitions", "requirePorts", "tty", "executorResources", "resourceLimits", "role",
    "version", "versionInfo", "ports", "uris", "ipAddress",
)
DEPRECATED_FIELDS = ("ports", "uris", "ipAddress")
# Fields Marathon owns: never compared, never sent (rule 8.19-8.22).
MARATHON_OWNED = frozenset({
    "version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
    "deployments", "tasks", "lastTaskFailure", "taskStats", "tasksStats",
    "readinessCheckResults",
})
# app.raml `pragma.omitEmpty` (rule 8.4) and acceptedResourceRoles (8.5).
OMIT_EMPTY = ("args", "constraints", "dependencies", "env", "fetch", "healthChecks",
              "readinessChecks", "secrets", "acceptedResourceRoles")
# Rule 2.39 / 8.14.
DEFAULTS: dict[str, Any] = {
    "instances": 1, "cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0, "executor": "",
    "backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300,
    "requirePorts": False, "killSelection": "YOUNGEST_FIRST",
}
DOUBLE_FIELDS = ("cpus", "mem", "disk", "backoffFactor")
LEGACY_NETWORK = {"HOST": "host", "BRIDGE": "container/bridge", "USER": "container"}
# Rule 8.10 (FetchUri.scala isExtract).
EXTRACT_SUFFIXES = (".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".gz", ".tgz", ".tbz2", ".txz",
                    ".zip")
PORT_BASED = ("HTTP", "HTTPS", "TCP", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
MARATHON_SIDE = ("HTTP", "HTTPS", "TCP")


@dataclass(frozen=True)
class MarathonSettings:
    """The Marathon flags that change how an app is normalised or judged.

    mesos_role: `--mesos_role` (default `*`, rule 7.1); default_network_name:
    `--default_network_name` (no default, rule 4.8); mesos_bridge_name: `--mesos_bridge_name`
    (rule 4.11); features: `--enable_features` names (gpu_resources, secrets,
    external_volumes; rules 7.17-7.23).
    """

    mesos_role: str = "*"
    default_network_name: str | None = None
    mesos_bridge_name: str = "mesos-bridge"
    features: frozenset[str] = frozenset()

    @classmethod
    def from_flags(cls, flags: Any) -> MarathonSettings:
        """From a `marathon_flags` dict ({flag name without dashes: value}); bad values ignored
        here (the inventory validation reports them)."""
        if not isinstance(flags, Mapping):
            return cls()
        features = str(flags.get("enable_features") or "")
        return cls(
            mesos_role=str(flags.get("mesos_role") or "*"),
            default_network_name=(str(flags["default_network_name"])
                                  if flags.get("default_network_name") else None),
            mesos_bridge_name=str(flags.get("mesos_bridge_name") or "mesos-bridge"),
            features=frozenset(f.strip() for f in features.split(",") if f.strip()),
        )


DEFAULT_SETTINGS = MarathonSettings()


def canonical_path(raw: str, base: str = "/") -> str:
    """Rules 1.4-1.6: strip slashes, drop empty segments, resolve `.`/`..`, absolute.

    `a//b/` -> `/a/b`; `/../a` -> `/a`; a relative path is resolved against `base`.
    """
    parts = [] if raw.startswith("/") else [p for p in base.split("/") if p]
    for segment in raw.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts:
                parts.pop()
            continue
        parts.append(segment)
    return "/" + "/".join(parts)


def _drop_nulls(value: Any) -> Any:
    """Rule 2.2: a JSON null means 'absent' for every optional or defaulted field."""
    if isinstance(value, Mapping):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _num(value: Any) -> Any:
    """Doubles come back as floats (8.23); 2.0 read as an int32 is 2 (2.3)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else value


def _int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _as_set(items: list[Any]) -> list[Any]:
    """Rule 2.9: uniqueItems arrays are sets; a stable order makes two sets compare equal."""
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(json.dumps(item, sort_keys=True), item)
    return [seen[k] for k in sorted(seen)]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _networks(app: dict[str, Any], settings: MarathonSettings) -> list[dict[str, Any]]:
    """Rules 4.1, 4.3, 4.8, 4.10, 4.11: the networks list after legacy translation."""
    networks = app.get("networks")
    container = app.get("container") if isinstance(app.get("container"), Mapping) else {}
    docker = container.get("docker") if isinstance(container.get("docker"), Mapping) else {}
    ip_address = app.get("ipAddress") if isinstance(app.get("ipAddress"), Mapping) else None
    legacy = docker.get("network")
    if isinstance(networks, list) and networks:
        out = [dict(n) if isinstance(n, Mapping) else {} for n in networks]
    elif isinstance(legacy, str) and legacy.upper() in LEGACY_NETWORK:
        net: dict[str, Any] = {"mode": LEGACY_NETWORK[legacy.upper()]}
        if net["mode"] == "container" and ip_address is not None:
            if ip_address.get("networkName"):
                net["name"] = ip_address["networkName"]
            if ip_address.get("labels"):
                net["labels"] = ip_address["labels"]
        out = [net]
    elif ip_address is not None:
        name = ip_address.get("networkName")
        if name and name == settings.mesos_bridge_name:
            out = [{"mode": "container/bridge"}]
        else:
            out = [{"mode": "container", **({"name": name} if name else {})}]
        if ip_address.get("labels"):
            out[0]["labels"] = ip_address["labels"]
    else:
        out = [{"mode": "host"}]
    for net in out:
        net["mode"] = _lower(net.get("mode", "container"))
        if net["mode"] == "container" and not net.get("name") and settings.default_network_name:
            net["name"] = settings.default_network_name
        if not net.get("labels"):
            net.pop("labels", None)
    return out


def _fetch(app: dict[str, Any]) -> list[dict[str, Any]]:
    """Rules 2.36 and 8.10: explicit fetch with defaults, or deprecated uris converted."""
    items = app.get("fetch")
    out: list[dict[str, Any]] = []
    if isinstance(items, list) and items:
        for item in items:
            if isinstance(item, Mapping):
                out.append({"extract": True, "executable": False, "cache": False, **item})
    elif isinstance(app.get("uris"), list):
        for uri in app["uris"]:
            path = str(uri).split("?", 1)[0].split("#", 1)[0]
            out.append({"uri": uri, "extract": path.endswith(EXTRACT_SUFFIXES),
                        "executable": False, "cache": False})
    return out


def _container(app: dict[str, Any], mode: str) -> dict[str, Any] | None:
    """Rules 3.15, 4.12, 4.23, 4.33, 7.24, 8.8, 8.9: the container as Marathon returns it."""
    raw = app.get("container")
    if not isinstance(raw, Mapping):
        if mode == "host" and app.get("ipAddress") is None:
            return None
        raw = {"type": "MESOS"}  # 4.12 / 4.23
    out = dict(raw)
    out["type"] = _upper(out.get("type", "DOCKER"))
    out["volumes"] = list(out.get("volumes") or [])
    docker = dict(out["docker"]) if isinstance(out.get("docker"), Mapping) else None
    if docker is not None:
        legacy_mappings = docker.pop("portMappings", None)
        docker.pop("network", None)  # 4.33
        if legacy_mappings and not out.get("portMappings"):
            out["portMappings"] = legacy_mappings  # 4.14
        docker.setdefault("forcePullImage", False)
        if out["type"] == "DOCKER":
            docker.setdefault("privileged", False)
            docker["parameters"] = list(docker.get("parameters") or [])
            docker.pop("credential", None)  # 8.9
            docker.pop("pullConfig", None)
        else:
            docker["privileged"] = False  # 8.9: MESOS + image discards these
            docker["parameters"] = []
        out["docker"] = docker
    if out["type"] == "DOCKER":
        out.pop("linuxInfo", None)  # 7.24
    return out


def _discovery_mappings(app: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Rule 4.13: MESOS ipAddress.discovery.ports -> portMappings (no hostPort)."""
    ip_address = app.get("ipAddress")
    if not isinstance(ip_address, Mapping):
        return None
    discovery = ip_address.get("discovery")
    ports = discovery.get("ports") if isinstance(discovery, Mapping) else None
    if not isinstance(ports, list) or not ports:
        return None
    out = []
    for port in ports:
        if isinstance(port, Mapping):
            item = {"containerPort": port.get("number", 0), "protocol": port.get("protocol")}
            for key in ("name", "labels"):
                if key in port:
                    item[key] = port[key]
            out.append(item)
    return out


def _port_mapping(mapping: Mapping[str, Any], mode: str) -> dict[str, Any]:
    """Rules 4.20, 4.25, 4.26, 8.8: defaults of one portMapping."""
    out = dict(mapping)
    out["containerPort"] = _int(out.get("containerPort", 0))
    out["servicePort"] = _int(out.get("servicePort", 0))
    out["protocol"] = _lower(out.get("protocol") or "tcp")
    out["labels"] = dict(out.get("labels") or {})
    if mode == "container/bridge":
        out["hostPort"] = _int(out.get("hostPort", 0))
    elif "hostPort" in out:
        out["hostPort"] = _int(out["hostPort"])
    if not out.get("networkNames"):
        out.pop("networkNames", None)
    return out


def _port_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """Rule 4.15 defaults; labels are omitEmpty (8.4)."""
    out = dict(definition)
    out["port"] = _int(out.get("port", 0))
    out["protocol"] = _lower(out.get("protocol") or "tcp")
    if not out.get("labels"):
        out.pop("labels", None)
    return out


def _ports(app: dict[str, Any], raw: Mapping[str, Any], mode: str) -> None:
    """Rules 3.19, 3.20, 4.16, 4.17, 4.21, 4.22, 4.32: ports per network mode, in place."""
    definitions = raw.get("portDefinitions")
    if definitions is None and isinstance(raw.get("ports"), list):
        definitions = [{"port": p, "protocol": "tcp"} for p in raw["ports"]]  # 4.17
    container = app.get("container")
    if mode == "host":
        if isinstance(container, dict):
            container.pop("portMappings", None)  # 3.19
        if definitions is None:
            definitions = [{"port": 0, "name": "default", "protocol": "tcp"}]  # 4.16
        app["portDefinitions"] = [_port_definition(d) for d in definitions
                                  if isinstance(d, Mapping)]
        return
    app.pop("portDefinitions", None)  # 3.20
    app["requirePorts"] = False  # 4.32
    if not isinstance(container, dict):
        return
    mappings = container.get("portMappings")
    if mappings is None:
        mappings = _discovery_mappings(raw)
    if mappings is None:
        mappings = [{"containerPort": 0, "name": "default", "protocol": "tcp",
                     "servicePort": 0}]  # 4.21
    mappings = [m for m in mappings if isinstance(m, Mapping)]
    raw_count = len(definitions) if isinstance(definitions, list) else 0
    mappings = list(mappings) + [{"containerPort": 0}] * max(0, raw_count - len(mappings))
    container["portMappings"] = [_port_mapping(m, mode) for m in mappings]


def _health_check(check: Mapping[str, Any]) -> dict[str, Any]:
    """Rules 5.1, 5.3, 5.10: one health check as stored and returned."""
    out = dict(check)
    protocol = _upper(out.get("protocol") or ("COMMAND" if "command" in out else "HTTP"))
    out["protocol"] = protocol
    for key, default in (("gracePeriodSeconds", 300), ("intervalSeconds", 60),
                         ("maxConsecutiveFailures", 3), ("timeoutSeconds", 20),
                         ("delaySeconds", 15)):
        out[key] = _int(out.get(key, default))
    out["ipProtocol"] = out.get("ipProtocol") or "IPv4"
    if protocol == "COMMAND":
        for key in ("path", "port", "portIndex", "ignoreHttp1xx"):
            out.pop(key, None)
        out["ipProtocol"] = "IPv4"
        return out
    if "port" not in out and "portIndex" not in out:
        out["portIndex"] = 0  # 5.3: the deploy's complete-replacement PUT always adds it (8.17)
    if protocol in MARATHON_SIDE:
        out["delaySeconds"] = 15
        out["ipProtocol"] = "IPv4"
    if protocol in ("TCP", "MESOS_TCP"):
        out.pop("path", None)
    else:
        # An absent path is probed as `/` (HealthCheckWorker); GET answers then carry `/`.
        out.setdefault("path", "/")
    if protocol in ("HTTP", "HTTPS"):
        out["ignoreHttp1xx"] = bool(out.get("ignoreHttp1xx", False))
    else:
        out.pop("ignoreHttp1xx", None)
    return out


def _readiness_check(check: Mapping[str, Any]) -> dict[str, Any]:
    """Rules 5.12 and 8.18: readiness defaults."""
    out = {"name": "readinessCheck", "protocol": "HTTP", "path": "/", "portName": "http-api",
           "intervalSeconds": 30, "timeoutSeconds": 10, "httpStatusCodesForReady": [200],
           "preserveLastResponse": False, **check}
    out["protocol"] = _upper(out["protocol"])
    out["httpStatusCodesForReady"] = sorted(set(out.get("httpStatusCodesForReady") or [200]))
    return out


def _constraint(item: Any) -> Any:
    """Rule 6.13: [field, OPERATOR, value?]."""
    if isinstance(item, list) and len(item) >= 2 and isinstance(item[1], str):
        return [item[0], item[1].upper(), *item[2:]]
    return item


def is_resident(app: Mapping[str, Any]) -> bool:
    """Rule 7.13: persistent volumes make an app resident."""
    container = app.get("container")
    volumes = container.get("volumes") if isinstance(container, Mapping) else None
    return any(isinstance(v, Mapping) and isinstance(v.get("persistent"), Mapping)
               for v in volumes or [])


def canonical(app: Mapping[str, Any],
              settings: MarathonSettings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """The app as Marathon 1.10 stores it and returns it from GET (shape: an App dict).

    Marathon-owned fields (version, tasks*, deployments, ...) are removed; every default is
    filled in; deprecated fields are converted; empty `omitEmpty` collections are removed;
    sets are sorted; ids and dependencies are canonical. Dynamic service ports (0) stay 0:
    `resolve_dynamic_ports` fills them from the current app before a comparison.
    Expects an app that passes `app_rules.validate_app`; anything else is returned as well as
    it can be, never raising.
    """
    raw = _drop_nulls(copy.deepcopy(dict(app)))
    out: dict[str, Any] = {k: v for k, v in raw.items() if k in APP_FIELDS
                           and k not in MARATHON_OWNED and k not in DEPRECATED_FIELDS}
    if isinstance(out.get("id"), str):
        out["id"] = canonical_path(out["id"])  # 1.4-1.6, 8.11
    if isinstance(out.get("dependencies"), list):
        out["dependencies"] = sorted({canonical_path(str(d)) for d in out["dependencies"]})
    for key, default in DEFAULTS.items():
        out.setdefault(key, default)
    for key in DOUBLE_FIELDS:
        out[key] = _num(out[key])
    for key in ("instances", "gpus", "backoffSeconds", "maxLaunchDelaySeconds"):
        out[key] = _int(out[key])
    out["killSelection"] = _upper(out["killSelection"])
    out["labels"] = dict(out.get("labels") or {})
    fetch = _fetch(raw)
    if fetch:
        out["fetch"] = fetch
    else:
        out.pop("fetch", None)

    networks = _networks(raw, settings)
    out["networks"] = networks
    mode = networks[0]["mode"]
    container = _container(raw, mode)
    if container is None:
        out.pop("container", None)
    else:
        out["container"] = container
    _ports(out, raw, mode)

    if isinstance(out.get("healthChecks"), list):
        out["healthChecks"] = _as_set([_health_check(c) for c in out["healthChecks"]
                                       if isinstance(c, Mapping)])
    if isinstance(out.get("readinessChecks"), list):
        out["readinessChecks"] = [_readiness_check(c) for c in out["readinessChecks"]
                                  if isinstance(c, Mapping)]
    if isinstance(out.get("constraints"), list):
        out["constraints"] = _as_set([_constraint(c) for c in out["constraints"]])
    if isinstance(out.get("acceptedResourceRoles"), list):
        out["acceptedResourceRoles"] = sorted(set(map(str, out["acceptedResourceRoles"])))

    resident = is_resident(out)
    strategy = out.get("upgradeStrategy")
    if not isinstance(strategy, Mapping):
        strategy = ({"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.0} if resident
                    else {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0})
    out["upgradeStrategy"] = {k: _num(v) for k, v in strategy.items()}  # 5.15
    unreachable = out.get("unreachableStrategy")
    if isinstance(unreachable, str) or (unreachable is None and resident):
        out["unreachableStrategy"] = "disabled"  # 5.21, 5.23
    else:
        unreachable = dict(unreachable or {})
        out["unreachableStrategy"] = {
            "inactiveAfterSeconds": _int(unreachable.get("inactiveAfterSeconds", 0)),
            "expungeAfterSeconds": _int(unreachable.get("expungeAfterSeconds", 0))}
    if resident:
        out["residency"] = {"relaunchEscalationTimeoutSeconds": 3600,
                            "taskLostBehavior": "WAIT_FOREVER"}  # 7.13
    else:
        out.pop("residency", None)  # 8.24
    out.setdefault("role", settings.mesos_role)  # 7.1
    # 9.5: a complete replacement (the deploy's PUT ?partialUpdate=false) drops it.
    out.pop("executorResources", None)
    for key in OMIT_EMPTY:
        if key in out and not out[key]:
            del out[key]
    return out


def resolve_dynamic_ports(desired: Mapping[str, Any],
                          current: Mapping[str, Any] | None) -> dict[str, Any]:
    """`desired` with each service port 0 replaced by the port Marathon assigned (rule 8.13).

    A 0 asks Marathon to pick a port; it then returns the number (and reuses it on the next
    PUT, 4.29), so 0 in the file and 10000 in Marathon are the same app. Positions match.
    """
    out = copy.deepcopy(dict(desired))
    if not current:
        return out
    for path, key in ((("portDefinitions",), "port"),
                      (("container", "portMappings"), "servicePort")):
        mine: Any = out
        theirs: Any = current
        for part in path:
            mine = mine.get(part) if isinstance(mine, Mapping) else None
            theirs = theirs.get(part) if isinstance(theirs, Mapping) else None
        if not isinstance(mine, list) or not isinstance(theirs, list):
            continue
        for item, other in zip(mine, theirs, strict=False):
            if (isinstance(item, dict) and isinstance(other, Mapping) and item.get(key) == 0
                    and isinstance(other.get(key), int) and other.get(key)):
                item[key] = other[key]
    return out

