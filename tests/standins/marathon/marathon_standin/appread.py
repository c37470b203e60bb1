"""Step 2 of Marathon 1.10.26's app processing: the generated RAML reader (types, ranges,
enums, defaults). Failures are 422 "Invalid JSON" with play-json error keys, all collected.

Sources (d2iq-archive/marathon v1.10.26): docs/docs/rest-api/public/api/v2/types/app.raml,
environmentVariable.raml, healthCheck.raml, network.raml, appContainer.raml; play-json 2.8.1
Reads; the rules are numbered as in pyinfra_mesos/app_rules.py (2.x, 4.1, 5.1, 5.20).
"""

from __future__ import annotations

import re
from typing import Any

# app.raml PathId pattern (rule 1.3), matched in full.
PATH_ID = re.compile(
    r"^(\/?((\.\.)|(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*"
    r"([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9]))?($|\/))+$"
)
INT32 = 2**31 - 1
# field -> (default, minimum, integral) for the top-level numbers (rules 2.11-2.15, 2.25-2.27).
NUMBERS: dict[str, tuple[float | None, float, bool]] = {
    "instances": (1, 0, True), "cpus": (1.0, 0.001, False), "mem": (128.0, 0, False),
    "disk": (0.0, 0, False), "gpus": (0, 0, True), "backoffSeconds": (1, 0, True),
    "backoffFactor": (1.15, 1, False), "maxLaunchDelaySeconds": (300, 0, True),
    "taskKillGracePeriodSeconds": (None, 0, True),
}
# Enums are read case-insensitively and written in canonical case (rule 2.8).
ENUMS = {
    "container_type": ["DOCKER", "MESOS"],
    "network_mode": ["container", "container/bridge", "host"],
    "health_protocol": ["HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_TCP", "MESOS_HTTP",
                        "MESOS_HTTPS"],
    "port_protocol": ["tcp", "udp", "udp,tcp"],
    "kill_selection": ["YOUNGEST_FIRST", "OLDEST_FIRST"],
    "docker_network": ["BRIDGE", "HOST", "USER", "NONE"],
    "ip_protocol": ["IPv4", "IPv6"],
}
# healthCheck.raml numbers: default, minimum (timeoutSeconds has none, rule 5.1).
HEALTH_NUMBERS = {"gracePeriodSeconds": (300, 0), "intervalSeconds": (60, 0),
                  "maxConsecutiveFailures": (3, 0), "timeoutSeconds": (20, None),
                  "delaySeconds": (15, 0)}


class Reader:
    """Collects "Invalid JSON" details: path -> error keys."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, key: str) -> None:
        self.errors.setdefault(path, []).append(key)

    def number(self, obj: dict[str, Any], key: str, path: str, default: Any, minimum: Any,
               integral: bool, maximum: Any = None) -> None:
        value = obj.get(key)
        if value is None:  # rule 2.2: null is absent
            if default is None:
                obj.pop(key, None)
            else:
                obj[key] = default
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, "error.expected.jsnumber")
            return
        if integral:
            if not float(value).is_integer() or abs(value) > INT32:
                self.add(path, "error.expected.int")
                return
            obj[key] = value = int(value)
        else:
            obj[key] = value = float(value)
        if minimum is not None and value < minimum:
            self.add(path, "error.min")
        if maximum is not None and value > maximum:
            self.add(path, "error.max")

    def enum(self, obj: dict[str, Any], key: str, path: str, kind: str,
             default: str | None) -> None:
        value = obj.get(key)
        if value is None:
            if default is None:
                obj.pop(key, None)
            else:
                obj[key] = default
            return
        if not isinstance(value, str):
            self.add(path, "error.expected.jsstring")
            return
        canonical = {v.lower(): v for v in ENUMS[kind]}.get(value.lower())
        if canonical is None:
            self.add(path, "error.unknown.enum.literal")
        else:
            obj[key] = canonical

    def string(self, obj: dict[str, Any], key: str, path: str, min_length: int = 0) -> None:
        value = obj.get(key)
        if value is None:
            obj.pop(key, None)
        elif not isinstance(value, str):
            self.add(path, "error.expected.jsstring")
        elif len(value) < min_length:
            self.add(path, "error.minLength")

    def kind(self, obj: dict[str, Any], key: str, path: str, kind: type) -> bool:
        """True when obj[key] is present (not null) and of JSON `kind` (dict/list/bool)."""
        value = obj.get(key)
        if value is None:
            obj.pop(key, None)
            return False
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            name = {dict: "jsobject", list: "jsarray", bool: "jsboolean"}[kind]
            self.add(path, f"error.expected.{name}")
            return False
        return True


def read(app: dict[str, Any]) -> dict[str, list[str]]:
    """Apply the reader to `app` in place (defaults, canonical enums); return the errors."""
    r = Reader()
    raw_id = app.get("id")
    if raw_id is None:
        r.add("/id", "error.path.missing")
    elif not isinstance(raw_id, str):
        r.add("/id", "error.expected.jsstring")
    elif raw_id == "":
        r.add("/id", "error.minLength")
    elif not PATH_ID.fullmatch(raw_id):
        r.add("/id", "error.pattern")
    for key, (default, minimum, integral) in NUMBERS.items():
        r.number(app, key, f"/{key}", default, minimum, integral)
    r.string(app, "cmd", "/cmd", 1)
    r.string(app, "user", "/user")
    r.string(app, "executor", "/executor")
    app.setdefault("executor", "")
    r.enum(app, "killSelection", "/killSelection", "kill_selection", "YOUNGEST_FIRST")
    if r.kind(app, "requirePorts", "/requirePorts", bool) is False:
        app.setdefault("requirePorts", False)
    _strings(r, app, "args", "/args")
    _strings(r, app, "uris", "/uris")
    _env(r, app)
    _labels(r, app, "labels", "/labels")
    _constraints(r, app)
    if r.kind(app, "dependencies", "/dependencies", list):
        for i, dep in enumerate(app["dependencies"]):
            if not isinstance(dep, str):
                r.add(f"/dependencies({i})", "error.expected.jsstring")
    _ports(r, app)
    _container(r, app)
    _networks(r, app)
    _health_checks(r, app)
    _upgrade(r, app)
    return r.errors


def _strings(r: Reader, app: dict[str, Any], key: str, path: str) -> None:
    if r.kind(app, key, path, list):
        for i, item in enumerate(app[key]):
            if not isinstance(item, str):
                r.add(f"{path}({i})", "error.expected.jsstring")


def _env(r: Reader, app: dict[str, Any]) -> None:
    """environmentVariable.raml: a string or {"secret": "<name>"} (rule 2.20); anything else
    fails as the secret alternative: error.path.missing at /env/<KEY>/secret."""
    if not r.kind(app, "env", "/env", dict):
        return
    for key, value in app["env"].items():
        if isinstance(value, str):
            continue
        if isinstance(value, dict) and isinstance(value.get("secret"), str):
            continue
        if isinstance(value, dict) and "secret" in value:
            r.add(f"/env/{key}/secret", "error.expected.jsstring")
        else:
            r.add(f"/env/{key}/secret", "error.path.missing")


def _labels(r: Reader, obj: dict[str, Any], key: str, path: str) -> None:
    if r.kind(obj, key, path, dict):
        for name, value in obj[key].items():
            if not isinstance(value, str):
                r.add(f"{path}/{name}", "error.expected.jsstring")


def _constraints(r: Reader, app: dict[str, Any]) -> None:
    if not r.kind(app, "constraints", "/constraints", list):
        return
    for i, constraint in enumerate(app["constraints"]):
        if not isinstance(constraint, list):
            r.add(f"/constraints({i})", "error.expected.jsarray")
            continue
        for j, part in enumerate(constraint):
            if not isinstance(part, str):
                r.add(f"/constraints({i})({j})", "error.expected.jsstring")


def _port_number(r: Reader, obj: dict[str, Any], key: str, path: str, default: Any) -> None:
    r.number(obj, key, f"{path}/{key}", default, 0, True, 65535)


def _ports(r: Reader, app: dict[str, Any]) -> None:
    if r.kind(app, "ports", "/ports", list):
        for i, port in enumerate(app["ports"]):
            if isinstance(port, bool) or not isinstance(port, int):
                r.add(f"/ports({i})", "error.expected.int")
    if r.kind(app, "portDefinitions", "/portDefinitions", list):
        for i, pd in enumerate(app["portDefinitions"]):
            path = f"/portDefinitions({i})"
            if not isinstance(pd, dict):
                r.add(path, "error.expected.jsobject")
                continue
            _port_number(r, pd, "port", path, 0)
            r.enum(pd, "protocol", f"{path}/protocol", "port_protocol", "tcp")
            r.string(pd, "name", f"{path}/name")
            _labels(r, pd, "labels", f"{path}/labels")


def _mappings(r: Reader, mappings: Any, path: str) -> None:
    if not isinstance(mappings, list):
        r.add(path, "error.expected.jsarray")
        return
    for i, pm in enumerate(mappings):
        item = f"{path}({i})"
        if not isinstance(pm, dict):
            r.add(item, "error.expected.jsobject")
            continue
        _port_number(r, pm, "containerPort", item, 0)
        _port_number(r, pm, "hostPort", item, None)
        _port_number(r, pm, "servicePort", item, 0)
        r.enum(pm, "protocol", f"{item}/protocol", "port_protocol", "tcp")
        r.string(pm, "name", f"{item}/name")
        _labels(r, pm, "labels", f"{item}/labels")


def _container(r: Reader, app: dict[str, Any]) -> None:
    if not r.kind(app, "container", "/container", dict):
        return
    container = app["container"]
    r.enum(container, "type", "/container/type", "container_type", "DOCKER")
    if container.get("portMappings") is not None:
        _mappings(r, container["portMappings"], "/container/portMappings")
    else:
        container.pop("portMappings", None)
    if r.kind(container, "docker", "/container/docker", dict):
        docker = container["docker"]
        if docker.get("image") is None:
            r.add("/container/docker/image", "error.path.missing")
        else:
            r.string(docker, "image", "/container/docker/image", 1)
        r.enum(docker, "network", "/container/docker/network", "docker_network", None)
        if docker.get("portMappings") is not None:
            _mappings(r, docker["portMappings"], "/container/docker/portMappings")
        for key in ("forcePullImage", "privileged"):
            if not r.kind(docker, key, f"/container/docker/{key}", bool):
                docker.setdefault(key, False)
    if r.kind(container, "volumes", "/container/volumes", list) is False:
        container.setdefault("volumes", [])


def _networks(r: Reader, app: dict[str, Any]) -> None:
    if not r.kind(app, "networks", "/networks", list):
        return
    for i, network in enumerate(app["networks"]):
        path = f"/networks({i})"
        if not isinstance(network, dict):
            r.add(path, "error.expected.jsobject")
            continue
        r.enum(network, "mode", f"{path}/mode", "network_mode", "container")  # rule 4.1
        r.string(network, "name", f"{path}/name", 1)
        _labels(r, network, "labels", f"{path}/labels")


def _health_checks(r: Reader, app: dict[str, Any]) -> None:
    if not r.kind(app, "healthChecks", "/healthChecks", list):
        return
    for i, hc in enumerate(app["healthChecks"]):
        path = f"/healthChecks({i})"
        if not isinstance(hc, dict):
            r.add(path, "error.expected.jsobject")
            continue
        r.enum(hc, "protocol", f"{path}/protocol", "health_protocol", "HTTP")
        r.enum(hc, "ipProtocol", f"{path}/ipProtocol", "ip_protocol", "IPv4")
        for key, (default, minimum) in HEALTH_NUMBERS.items():
            r.number(hc, key, f"{path}/{key}", default, minimum, True)
        for key in ("port", "portIndex"):
            _port_number(r, hc, key, path, None)
        r.string(hc, "path", f"{path}/path")
        if not r.kind(hc, "ignoreHttp1xx", f"{path}/ignoreHttp1xx", bool):
            hc.setdefault("ignoreHttp1xx", False)


def _upgrade(r: Reader, app: dict[str, Any]) -> None:
    if not r.kind(app, "upgradeStrategy", "/upgradeStrategy", dict):
        app["upgradeStrategy"] = {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0}
        return
    strategy = app["upgradeStrategy"]
    for key in ("minimumHealthCapacity", "maximumOverCapacity"):
        path = f"/upgradeStrategy/{key}"
        if strategy.get(key) is None:
            r.add(path, "error.path.missing")  # rule 3.21: both required when given
        else:
            r.number(strategy, key, path, None, 0, False, 1)
