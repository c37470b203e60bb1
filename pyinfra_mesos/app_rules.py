"""Marathon 1.10's own validation of one app definition, offline.

Pure. `validate_app(path, app, settings)` returns what Marathon 1.10.26 would refuse with 422
(or fail on with 500) for a `PUT /v2/apps/{id}?partialUpdate=false` of this file, one
`Problem` per violation, as `error: <file>: <field path>: <message> (rule N)`. Deprecated
forms Marathon still accepts are warnings. Rule numbers `S.N` are this project's index, by
section S: 1 ids, 2 field types/ranges/defaults, 3 presence and exclusions, 4 networking,
5 health/readiness/upgrade/kill/unreachable/backoff, 6 constraints, 7 roles/residency/volumes/
GPUs/secrets, 8 normalisation (app_canonical), 9 PUT semantics. Upstream, d2iq-archive/marathon
tag v1.10.26 (formerly mesosphere/marathon): src/main/scala/mesosphere/marathon/api/v2/
validation/AppValidation.scala, NetworkValidation.scala, SchedulingValidation.scala,
state/PathId.scala and state/AppDefinition.scala (`validAppDefinition`), and the RAML types
under docs/docs/rest-api/public/api/v2/types/ (app.raml, appContainer.raml, stringTypes.raml).
Marathon reads a request in this order (api/v2/AppsResource.scala, AppHelpers.scala): the RAML
reader (types, ranges, defaults), `validateOldAppAPI`, AppNormalization, `validateCanonicalAppAPI`,
then the model validator. Checks run on the raw file where Marathon checks the raw request
(the first two) and on `app_canonical.canonical` where it checks the normalised app.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from pyinfra_mesos.app_canonical import (
    APP_FIELDS,
    DEFAULT_SETTINGS,
    MARATHON_OWNED,
    PORT_BASED,
    MarathonSettings,
    canonical,
    canonical_path,
    is_resident,
)
from pyinfra_mesos.problems import Problem, error, warning
from pyinfra_mesos.value_checks import is_integral, is_number

LABEL = r"([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])"
# stringTypes.raml PathId (1.3), matched in full: with fullmatch, as Java's Matcher.matches()
# does, so a trailing newline is refused (Python's `$` alone would let "/x\n" through).
PATH_ID = re.compile(rf"^(/?((\.\.)|(({LABEL}\.)*{LABEL}))?($|/))+$")
SEGMENT = re.compile(rf"^({LABEL}\.)*{LABEL}$")  # PathId.scala ID_PATH_SEGMENT_PATTERN (1.9)
RESERVED_LAST = ("restart", "tasks", "versions", ".", "..")  # 1.10
NETWORK_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$")  # 4.2
PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # LegacyName, 4.15
EXECUTOR = re.compile(r"^(//cmd)$|^/?[^/]+(/[^/]+)*$|^$")  # 2.24
CONSTRAINT_IS = re.compile(r"^[a-zA-Z0-9_/.\-]*$")  # 6.12
PROTOCOLS = ("tcp", "udp", "udp,tcp")
MODES = ("container", "container/bridge", "host")
HC_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_TCP", "MESOS_HTTP", "MESOS_HTTPS")
MESOS_CHECKS = ("MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
OPERATORS = ("UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS")
INT32 = (-(2 ** 31), 2 ** 31 - 1)
INT64 = (-(2 ** 63), 2 ** 63 - 1)
ROLE_FORBIDDEN = set("\t\n\x0b\x0c\r /\x7f")  # 7.4

Add = Callable[[str, str, str], None]


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def validate_app(path: str, app: Any,
                 settings: MarathonSettings = DEFAULT_SETTINGS) -> list[Problem]:
    """Every Marathon 1.10 app rule (see the module docstring) that one app file can break, in
    rule order.

    `path` is the file name used in every line. Never raises for bad input.
    """
    if not isinstance(app, Mapping):
        return [error(path, "(root)", "must be one JSON object (an app)")]
    problems: list[Problem] = []

    def add(field: str, message: str, rule: str) -> None:
        problems.append(error(path, field, f"{message} (Marathon 1.10 rule {rule})"))

    def warn(field: str, message: str) -> None:
        problems.append(warning(path, field, message))

    _field_warnings(app, warn)
    _ids(app, add)
    _types(app, add)
    if any(p.level == "error" for p in problems):
        return problems  # 9.17: step 2 errors hide the later stages
    _combinations(app, add)
    _networking_raw(app, add)
    if any(p.level == "error" for p in problems):
        return problems
    canon = canonical(app, settings)
    _networking(canon, settings, add)
    _health(app, canon, add)
    _readiness(canon, add)
    _scheduling(app, canon, add)
    _constraints(app, add)
    _roles_and_resources(app, canon, settings, add)
    return problems


def _field_warnings(app: Mapping[str, Any], warn: Callable[[str, str], None]) -> None:
    """2.1 (unknown fields ignored), 8.6 (deprecated converted), 8.21 (Marathon-owned)."""
    for key in sorted(set(app) - set(APP_FIELDS) - MARATHON_OWNED):
        warn(key, "is not a Marathon 1.10 app field; Marathon ignores it (typo?)")
    for key in sorted((set(app) & MARATHON_OWNED) | ({"version", "versionInfo"} & set(app))):
        warn(key, "is set by Marathon; it is ignored")
    for key, instead in (("ports", "portDefinitions"), ("uris", "fetch"),
                         ("ipAddress", "networks")):
        if app.get(key) is not None:
            warn(key, f"is deprecated: Marathon 1.10 stores it as {instead}; converges all "
                      "the same")
    container = app.get("container")
    docker = container.get("docker") if isinstance(container, Mapping) else None
    if isinstance(docker, Mapping):
        for key, instead in (("network", "networks"), ("portMappings", "container.portMappings")):
            if docker.get(key) is not None:
                warn(f"container.docker.{key}", f"is deprecated: Marathon 1.10 stores it as "
                                                f"{instead}; converges all the same")
    if app.get("executorResources") is not None:
        warn("executorResources", "is dropped by Marathon 1.10 on a complete replacement "
                                  "(rule 9.5): the deploy does not send it")


def _ids(app: Mapping[str, Any], add: Add) -> None:
    """1.1-1.3, 1.7-1.10, 1.14, 1.15."""
    app_id = app.get("id")
    if not isinstance(app_id, str):
        add("id", "is required: a string like /hello-sinatra", "1.1")
    elif not app_id:
        add("id", "must not be empty", "1.2")
    elif not PATH_ID.fullmatch(app_id):
        add("id", f"{app_id!r} is not a path id: lowercase letters, digits, '-' and '.', "
                  "segments separated by '/', no label starting or ending with '-'", "1.3")
    else:
        canon = canonical_path(app_id)
        segments = [s for s in canon.split("/") if s]
        if not segments and not app_id.strip("/"):
            add("id", "must not be root", "1.8")
        elif not segments:
            add("id", "Path must contain at least one path element", "1.7")
        else:
            for segment in segments:
                if not SEGMENT.fullmatch(segment):
                    add("id", f"segment {segment!r} must fully match the label pattern", "1.9")
            if segments[-1] in RESERVED_LAST:
                add("id", f"must not end with any of the reserved keywords {RESERVED_LAST[:3]}",
                    "1.10")
    deps = app.get("dependencies")
    if isinstance(deps, list):
        for i, dep in enumerate(deps):
            if not isinstance(dep, str):
                continue  # 2.7 reports it
            segments = [s for s in dep.split("/") if s]
            bad = [s for s in segments if s not in (".", "..") and not SEGMENT.fullmatch(s)]
            if bad:
                add(f"dependencies[{i}]", f"segment {bad[0]!r} must fully match the label "
                                          "pattern", "1.14")
            elif segments and segments[-1] in RESERVED_LAST[:3]:
                add(f"dependencies[{i}]", "must not end with a reserved keyword", "1.14")
            elif dep.startswith("/") and any(s in (".", "..") for s in segments):
                add(f"dependencies[{i}]", f"{dep!r}: identifier is not child of '/' "
                                          "(no '.' or '..' in an absolute dependency)", "1.15")


def _check_kind(value: Any, kind: type | tuple[type, ...], field: str, add: Add,
                rule: str = "2.7") -> bool:
    ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in (
        kind if isinstance(kind, tuple) else (kind,)))
    if not ok:
        names = {str: "a string", bool: "a boolean", list: "an array", dict: "an object"}
        wanted = names.get(kind, "a number") if isinstance(kind, type) else "a number"
        add(field, f"must be {wanted}, got {_kind(value)}", rule)
    return ok


def _int_field(app: Mapping[str, Any], key: str, minimum: int | None, add: Add, rule: str,
               prefix: str = "", bounds: tuple[int, int] = INT32) -> None:
    value = app.get(key)
    if value is None:
        return
    field = prefix + key
    if not is_integral(value, *bounds):
        kind = "int64" if bounds == INT64 else "int32"
        add(field, f"must be an integer ({kind}), got {value!r}",
            "2.4" if bounds == INT64 else "2.3")
    elif minimum is not None and value < minimum:
        add(field, f"must be >= {minimum}, got {value!r}", rule)


def _num_field(app: Mapping[str, Any], key: str, minimum: float | None, add: Add, rule: str,
               prefix: str = "", maximum: float | None = None) -> None:
    value = app.get(key)
    if value is None:
        return
    if not is_number(value):
        add(prefix + key, f"must be a number, got {_kind(value)}", "2.7")
    elif minimum is not None and value < minimum:
        add(prefix + key, f"must be >= {minimum:g}, got {value!r}", rule)
    elif maximum is not None and value > maximum:
        add(prefix + key, f"must be <= {maximum:g}, got {value!r}", rule)


def _string_field(app: Mapping[str, Any], key: str, add: Add, min_length: int = 0,
                  rule: str = "2.7", prefix: str = "", max_length: int | None = None) -> None:
    value = app.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        add(prefix + key, f"must be a string, got {_kind(value)}", "2.7")
    elif len(value) < min_length:
        add(prefix + key, f"must be at least {min_length} character(s)", rule)
    elif max_length is not None and len(value) > max_length:
        add(prefix + key, f"must be at most {max_length} characters", rule)


def _enum(value: Any, allowed: tuple[str, ...], field: str, add: Add, rule: str) -> None:
    """2.8: enums match case-insensitively."""
    if value is None:
        return
    if not isinstance(value, str) or value.lower() not in {a.lower() for a in allowed}:
        add(field, f"must be one of {', '.join(allowed)}, got {value!r}", rule)


def _types(app: Mapping[str, Any], add: Add) -> None:
    """Section 2: kinds, ranges, patterns of the RAML reader (step 2)."""
    _int_field(app, "instances", 0, add, "2.11")
    _num_field(app, "cpus", 0.001, add, "2.12")
    _num_field(app, "mem", 0, add, "2.13")
    _num_field(app, "disk", 0, add, "2.14")
    _int_field(app, "gpus", 0, add, "2.15")
    _string_field(app, "cmd", add, 1, "2.16")
    if isinstance(app.get("cmd"), str) and len(app["cmd"]) == 1:
        add("cmd", "must not be an empty string (one character is refused)", "2.17")
    args = app.get("args")
    if args is not None and (not isinstance(args, list)
                             or not all(isinstance(a, str) for a in args)):
        add("args", "must be an array of strings", "2.18")
    _string_field(app, "user", add, rule="2.19")
    _env(app, add)
    labels = app.get("labels")
    if labels is not None:
        if not isinstance(labels, dict):
            add("labels", f"must be an object, got {_kind(labels)}", "2.22")
        else:
            for name, value in labels.items():
                if not isinstance(value, str):
                    add(f"labels.{name}", f"must be a string, got {_kind(value)}", "2.22")
            if labels.get("DCOS_MIGRATION_API_VERSION") and (
                    labels["DCOS_MIGRATION_API_VERSION"] != "v1"
                    or not labels.get("DCOS_PACKAGE_FRAMEWORK_NAME")
                    or not labels.get("DCOS_MIGRATION_API_PATH")):
                add("labels.DCOS_MIGRATION_API_VERSION", "must be v1, and "
                    "DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_MIGRATION_API_PATH must be defined",
                    "2.23")
    executor = app.get("executor")
    if executor is not None and (not isinstance(executor, str)
                                 or not EXECUTOR.fullmatch(executor)):
        add("executor", f"must be '//cmd', a path, or empty; got {executor!r}", "2.24")
    _int_field(app, "backoffSeconds", 0, add, "2.25")
    _num_field(app, "backoffFactor", 1.0, add, "2.26")
    _int_field(app, "maxLaunchDelaySeconds", 0, add, "2.27")
    _int_field(app, "taskKillGracePeriodSeconds", 0, add, "2.28")
    for key in ("requirePorts", "tty"):
        if app.get(key) is not None and not isinstance(app[key], bool):
            add(key, f"must be a boolean, got {_kind(app[key])}", "2.29" if key ==
                "requirePorts" else "2.30")
    _string_field(app, "role", add, 1, "2.31")
    version = app.get("version")
    if version is not None:
        try:
            datetime.datetime.fromisoformat(str(version).replace("Z", "+00:00"))
        except ValueError:
            add("version", f"must be an ISO date-time, got {version!r}", "2.32")
    _resources(app, add)
    _fetch(app, add)
    secrets = app.get("secrets")
    if secrets is not None:
        if not isinstance(secrets, dict):
            add("secrets", f"must be an object, got {_kind(secrets)}", "2.38")
        else:
            for name, value in secrets.items():
                source = value.get("source") if isinstance(value, dict) else None
                if not isinstance(source, str) or not source:
                    add(f"secrets.{name}.source", "must be a non-empty string", "2.38")
    for key in ("constraints", "healthChecks", "readinessChecks", "dependencies", "networks",
                "portDefinitions", "acceptedResourceRoles", "fetch", "uris", "ports"):
        if app.get(key) is not None:
            _check_kind(app[key], list, key, add)
    for key in ("container", "upgradeStrategy", "ipAddress", "residency", "check"):
        if app.get(key) is not None:
            _check_kind(app[key], dict, key, add)
    if isinstance(app.get("dependencies"), list):
        for i, dep in enumerate(app["dependencies"]):
            _check_kind(dep, str, f"dependencies[{i}]", add)
    _enum(app.get("killSelection"), ("YOUNGEST_FIRST", "OLDEST_FIRST"), "killSelection", add,
          "5.20")
    _upgrade_and_unreachable(app, add)


def _env(app: Mapping[str, Any], add: Add) -> None:
    """2.20, 2.21: env values are strings or {"secret": name}; keys non-empty."""
    env = app.get("env")
    if env is None:
        return
    if not isinstance(env, dict):
        add("env", f"must be an object, got {_kind(env)}", "2.20")
        return
    for key, value in env.items():
        if not key:
            add("env", "variable names must not be empty", "2.21")
        if isinstance(value, str):
            continue
        if isinstance(value, dict) and isinstance(value.get("secret"), str):
            continue
        add(f"env.{key}", f"must be a string (or {{\"secret\": name}}), got {_kind(value)}: "
                          "quote it", "2.20")


def _resources(app: Mapping[str, Any], add: Add) -> None:
    """2.33-2.35."""
    executor = app.get("executorResources")
    if isinstance(executor, dict):
        for key, minimum in (("cpus", 0.1), ("mem", 32), ("disk", 10)):
            _num_field(executor, key, minimum, add, "2.33", "executorResources.")
    elif executor is not None:
        add("executorResources", f"must be an object, got {_kind(executor)}", "2.7")
    limits = app.get("resourceLimits")
    if limits is None:
        return
    if not isinstance(limits, dict):
        add("resourceLimits", f"must be an object, got {_kind(limits)}", "2.7")
        return
    for key, default in (("cpus", 1.0), ("mem", 128.0)):
        value = limits.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            if value != "unlimited":
                add(f"resourceLimits.{key}", f"{value!r} is an invalid resource limit: a "
                                             "number or 'unlimited'", "2.34")
        elif not is_number(value):
            add(f"resourceLimits.{key}", "must be a number or 'unlimited'", "2.34")
        else:
            requested = app.get(key, default)
            if is_number(requested) and value < requested:
                add(f"resourceLimits.{key}", f"resource limit must be greater than or equal "
                                             f"to the requested {key} ({requested})", "2.35")


def _valid_uri(text: str) -> bool:
    """2.37: java.net.URI syntax (no spaces or other illegal characters)."""
    if not text or re.search(r"[\s<>\"{}|\\^`]", text):
        return False
    try:
        urllib.parse.urlsplit(text)
    except ValueError:
        return False
    return True


def _fetch(app: Mapping[str, Any], add: Add) -> None:
    """2.36, 2.37, 3.3."""
    fetch = app.get("fetch")
    if isinstance(fetch, list):
        for i, item in enumerate(fetch):
            where = f"fetch[{i}]"
            if not isinstance(item, dict):
                add(where, "must be an object", "2.7")
                continue
            uri = item.get("uri")
            if not isinstance(uri, str):
                add(f"{where}.uri", "is required: a string", "2.36")
            elif not 1 <= len(uri) <= 1024:
                add(f"{where}.uri", "must be 1..1024 characters", "2.36")
            elif not _valid_uri(uri):
                add(f"{where}.uri", "URI has invalid syntax", "2.37")
            _string_field(item, "destPath", add, 1, "2.36", f"{where}.", 1024)
            for key in ("extract", "executable", "cache"):
                if item.get(key) is not None and not isinstance(item[key], bool):
                    add(f"{where}.{key}", "must be a boolean", "2.36")
    uris = app.get("uris")
    if isinstance(uris, list):
        for i, uri in enumerate(uris):
            if not isinstance(uri, str) or not _valid_uri(uri):
                add(f"uris[{i}]", "URI has invalid syntax", "2.37")
        if uris and fetch:
            add("uris", "may not be set in conjunction with fetch", "3.3")


def _upgrade_and_unreachable(app: Mapping[str, Any], add: Add) -> None:
    """3.21, 5.15, 5.21, 5.22."""
    strategy = app.get("upgradeStrategy")
    if isinstance(strategy, dict):
        for key in ("minimumHealthCapacity", "maximumOverCapacity"):
            if strategy.get(key) is None:
                add(f"upgradeStrategy.{key}", "is required when upgradeStrategy is given",
                    "3.21")
            else:
                _num_field(strategy, key, 0.0, add, "5.15", "upgradeStrategy.", 1.0)
    unreachable = app.get("unreachableStrategy")
    if unreachable is None or isinstance(unreachable, str):
        return
    if not isinstance(unreachable, dict):
        add("unreachableStrategy", "must be \"disabled\" or an object", "5.21")
        return
    for key in ("inactiveAfterSeconds", "expungeAfterSeconds"):
        _int_field(unreachable, key, 0, add, "5.21", "unreachableStrategy.", INT64)
    inactive = unreachable.get("inactiveAfterSeconds", 0)
    expunge = unreachable.get("expungeAfterSeconds", 0)
    if is_integral(inactive, *INT64) and is_integral(expunge, *INT64) and inactive > expunge:
        add("unreachableStrategy.inactiveAfterSeconds",
            f"inactiveAfterSeconds ({inactive}) must be less or equal to expungeAfterSeconds "
            f"({expunge})", "5.22")


def _combinations(app: Mapping[str, Any], add: Add) -> None:
    """Section 3: what must be present, what must not be combined."""
    cmd, args = app.get("cmd"), app.get("args")
    container = app.get("container") if isinstance(app.get("container"), dict) else None
    docker = container.get("docker") if container and isinstance(container.get("docker"),
                                                                  dict) else None
    ctype = str((container or {}).get("type") or "DOCKER").upper()
    has_image = bool(docker and docker.get("image"))
    if cmd and args:
        add("cmd", "cmd and args are both set: give one of them", "3.1")
    elif not cmd and not args:
        if container is None:
            add("cmd", "AppDefinition must either contain one of 'cmd' or 'args', and/or a "
                       "'container'", "3.1")
        elif not has_image:
            add("cmd", "a container without an image runs nothing: give cmd or args (or "
                       "container.docker.image)", "3.2")
    networks = app.get("networks")
    ip_address = app.get("ipAddress")
    ports = app.get("ports")
    if ip_address is not None and networks:
        add("ipAddress", "must not specify both networks and ipAddress", "3.4")
    if docker and docker.get("network") is not None and networks:
        add("container.docker.network",
            "must not specify both container.docker.network and networks", "3.5")
    if ip_address is not None and (ports or app.get("portDefinitions")):
        add("ipAddress", "cannot specify both an IP address and port", "3.6")
    definitions = app.get("portDefinitions")
    if isinstance(ports, list) and ports and isinstance(definitions, list) and definitions:
        if [d.get("port", 0) if isinstance(d, dict) else None for d in definitions] != ports:
            add("ports", "cannot specify both ports and port definitions", "3.7")
    if isinstance(ports, list):
        nonzero = [p for p in ports if p]
        if len(nonzero) != len(set(map(str, nonzero))):
            add("ports", "ports must be unique", "3.8")
        for i, port in enumerate(ports):
            if not is_integral(port, *INT32):
                add(f"ports[{i}]", f"must be an integer port, got {port!r}", "2.3")
    if isinstance(ip_address, dict) and ip_address.get("discovery") is not None \
            and ctype == "DOCKER" and container is not None:
        add("ipAddress.discovery", "ipAddress/discovery is not allowed for Docker containers",
            "3.9")
    if container is None:
        return
    legacy_mappings = docker.get("portMappings") if docker else None
    if "portMappings" in container and legacy_mappings:
        add("container.docker.portMappings",
            "cannot specify both portMappings and docker.portMappings", "3.10")
    discovery = ip_address.get("discovery") if isinstance(ip_address, dict) else None
    if ctype == "MESOS" and isinstance(discovery, dict) and discovery.get("ports") \
            and "portMappings" in container:
        add("container.portMappings",
            "container.portMappings and ipAddress.discovery.ports must not both be set", "3.11")
    if docker and isinstance(docker.get("network"), str) and docker["network"].upper() == "NONE":
        add("container.docker.network", "unsupported docker network type NONE", "3.12")
    elif docker and docker.get("network") is not None:
        _enum(docker["network"], ("HOST", "BRIDGE", "USER"), "container.docker.network", add,
              "2.8")
    _enum(container.get("type"), ("DOCKER", "MESOS"), "container.type", add, "2.8")
    if ctype == "MESOS" and docker:
        for key in ("network", "parameters", "portMappings"):
            if docker.get(key):
                add(f"container.docker.{key}", "must be empty for a MESOS container", "3.13")
    if docker and docker.get("credential") is not None:
        add("container.docker.credential", "must be empty (deprecated)", "3.14")
    if ctype == "DOCKER" and docker is None:
        add("container.docker", "not defined: a DOCKER container needs docker.image", "3.15")
    if docker is not None and (not isinstance(docker.get("image"), str) or not docker["image"]):
        if ctype == "DOCKER" or "image" in docker:
            add("container.docker.image", "is required and must not be empty", "3.16")
    if docker and docker.get("pullConfig") is not None:
        if ctype == "DOCKER":
            add("container.docker.pullConfig",
                "pullConfig is not supported with Docker containerizer", "3.17")
        else:
            secret = docker["pullConfig"].get("secret") if isinstance(
                docker["pullConfig"], dict) else None
            if secret not in (app.get("secrets") or {}):
                add("container.docker.pullConfig.secret",
                    "pullConfig.secret must refer to an existing secret", "3.18")
    if ctype == "DOCKER" and app.get("check") is not None:
        add("check", "AppDefinition must not use 'checks' if using docker", "3.22")


def _networking_raw(app: Mapping[str, Any], add: Add) -> None:
    """4.1, 4.2, 4.14, 4.15, 4.20: items read before normalisation."""
    networks = app.get("networks")
    if isinstance(networks, list):
        for i, net in enumerate(networks):
            if not isinstance(net, dict):
                add(f"networks[{i}]", "must be an object", "2.7")
                continue
            _enum(net.get("mode"), MODES, f"networks[{i}].mode", add, "4.1")
            name = net.get("name")
            if name is not None and (not isinstance(name, str)
                                     or not NETWORK_NAME.fullmatch(name)
                                     or len(name) > 63):
                add(f"networks[{i}].name", f"{name!r} must match {NETWORK_NAME.pattern} and be "
                                           "1..63 characters", "4.2")
    definitions = app.get("portDefinitions")
    if isinstance(definitions, list):
        for i, item in enumerate(definitions):
            _port_item(item, f"portDefinitions[{i}]", ("port",), add, "4.15")
    container = app.get("container") if isinstance(app.get("container"), dict) else {}
    docker = container.get("docker") if isinstance(container.get("docker"), dict) else {}
    for where, mappings in (("container.portMappings", container.get("portMappings")),
                            ("container.docker.portMappings", docker.get("portMappings"))):
        if mappings is None:
            continue
        if not isinstance(mappings, list):
            add(where, "must be an array", "2.7")
            continue
        for i, item in enumerate(mappings):
            _port_item(item, f"{where}[{i}]", ("containerPort", "hostPort", "servicePort"),
                       add, "4.20")
        names = [m.get("name") for m in mappings if isinstance(m, dict) and m.get("name")]
        if len(names) != len(set(names)):
            add(where, "Port names must be unique.", "4.14" if "docker" in where else "4.24")


def _port_item(item: Any, where: str, keys: tuple[str, ...], add: Add, rule: str) -> None:
    if not isinstance(item, dict):
        add(where, "must be an object", "2.7")
        return
    for key in keys:
        value = item.get(key)
        if value is not None and (not is_integral(value, *INT32) or not 0 <= value <= 65535):
            add(f"{where}.{key}", f"must be an integer port 0..65535, got {value!r}", rule)
    _enum(item.get("protocol"), PROTOCOLS, f"{where}.protocol", add, rule)
    name = item.get("name")
    if name is not None and (not isinstance(name, str) or not PORT_NAME.fullmatch(name)):
        add(f"{where}.name", f"{name!r} must match {PORT_NAME.pattern}", rule)
    labels = item.get("labels")
    if labels is not None and (not isinstance(labels, dict)
                               or not all(isinstance(v, str) for v in labels.values())):
        add(f"{where}.labels", "must be an object of strings", rule)


def _networking(canon: Mapping[str, Any], settings: MarathonSettings, add: Add) -> None:
    """4.4-4.9, 4.18, 4.19, 4.27, 4.28 on the normalised app."""
    networks = canon["networks"]
    modes = [n["mode"] for n in networks]
    hosts, bridges = modes.count("host"), modes.count("container/bridge")
    if (hosts and len(modes) > 1) or (bridges and len(modes) > 1):
        add("networks", "May specify a single host network, single bridge network, or else "
                        "1-to-n container networks", "4.4")
    for i, net in enumerate(networks):
        if net["mode"] == "host" and (net.get("name") or net.get("labels")):
            add(f"networks[{i}]", "Host networks may not have names or labels", "4.5")
        if net["mode"] == "container/bridge" and net.get("name"):
            add(f"networks[{i}].name", "Bridge networks may not have names", "4.6")
    container_nets = [n for n in networks if n["mode"] == "container"]
    names = [n.get("name") for n in container_nets]
    if len(names) != len(set(names)):
        add("networks", "Duplicate networks are not allowed", "4.7")
    if any(not n.get("name") for n in container_nets):
        add("networks", "Network name must be specified when container network is selected "
                        "(or set marathon_flags default_network_name)", "4.8")
    container = canon.get("container") or {}
    if container.get("type") == "DOCKER" and len(container_nets) > 1:
        add("networks", "may only specify a single container network when using the Docker "
                        "container engine", "4.9")
    definitions = canon.get("portDefinitions") or []
    pd_names = [d.get("name") for d in definitions if d.get("name")]
    if len(pd_names) != len(set(pd_names)):
        add("portDefinitions", "Port names must be unique.", "4.18")
    pd_ports = [d["port"] for d in definitions if d.get("port")]
    if len(pd_ports) != len(set(pd_ports)):
        add("portDefinitions", "Ports must be unique.", "4.19")
    declared = {n.get("name") for n in networks if n.get("name")}
    declared_explicit = declared - {settings.default_network_name}
    for i, mapping in enumerate(container.get("portMappings") or []):
        names_given = mapping.get("networkNames") or []
        if len(container_nets) > 1 and "hostPort" in mapping and len(names_given) != 1:
            add(f"container.portMappings[{i}].networkNames",
                "networkNames must be a single item list when hostPort is specified and more "
                "than one container network is defined", "4.27")
        for name in names_given:
            if name not in declared_explicit:
                add(f"container.portMappings[{i}].networkNames",
                    f"{name!r} is not one of ({', '.join(sorted(declared_explicit))})", "4.28")


def _port_count(canon: Mapping[str, Any]) -> int:
    container = canon.get("container") or {}
    if "portMappings" in container:
        return len(container["portMappings"])
    return len(canon.get("portDefinitions") or [])


def _health(app: Mapping[str, Any], canon: Mapping[str, Any], add: Add) -> None:
    """5.1, 5.4-5.9 on the checks as given (Marathon validates them before the conversion
    that rewrites ipProtocol and delaySeconds, 5.10), against the normalised ports."""
    raw = app.get("healthChecks") or []
    checks = [c for c in raw if isinstance(c, dict)]
    if len(checks) != len(raw):
        add("healthChecks", "every health check must be an object", "2.7")
    count = _port_count(canon)
    container = canon.get("container") or {}
    for i, check in enumerate(checks):
        where = f"healthChecks[{i}]"
        protocol = check.get("protocol") or "HTTP"
        protocol = protocol.upper() if isinstance(protocol, str) else protocol
        _enum(protocol, HC_PROTOCOLS, f"{where}.protocol", add, "5.1")
        for key in ("gracePeriodSeconds", "intervalSeconds", "maxConsecutiveFailures",
                    "delaySeconds"):
            _int_field(check, key, 0, add, "5.1", f"{where}.")
        _int_field(check, "timeoutSeconds", None, add, "5.1", f"{where}.")
        for key in ("port", "portIndex"):
            value = check.get(key)
            if value is not None and (not is_integral(value, *INT32) or not 0 <= value <= 65535):
                add(f"{where}.{key}", f"must be 0..65535, got {value!r}", "5.1")
        _enum(check.get("ipProtocol"), ("IPv4", "IPv6"), f"{where}.ipProtocol", add, "5.1")
        if "command" in check and protocol != "COMMAND":
            add(f"{where}.protocol", f"illegal protocol {protocol} specified with command: "
                                     "use COMMAND", "5.8")
            continue
        if protocol == "COMMAND":
            if "command" not in check:
                add(f"{where}.command", "illegal protocol COMMAND for non-command health "
                                        "check", "5.9")
            continue
        if protocol in PORT_BASED and check.get("port") is None:
            index = check.get("portIndex", 0)
            if not is_integral(index, *INT32) or not 0 <= index < count:
                add(f"{where}.portIndex", "Health check port indices must address an element "
                                          f"of the ports array or container port mappings "
                                          f"(the app has {count} port(s))",
                    "5.4" if protocol in ("HTTP", "HTTPS", "TCP") else "5.5")
        if check.get("ipProtocol") == "IPv6" and not (
                protocol in MESOS_CHECKS and container.get("type") == "DOCKER"):
            add(f"{where}.ipProtocol", "IPv6 can only be used for container type DOCKER and "
                                       "Mesos http/https/tcp health checks", "5.7")
    if sum(1 for c in checks if str(c.get("protocol")).upper() in MESOS_CHECKS) > 1:
        add("healthChecks", "AppDefinition can contain at most one Mesos health check", "5.6")
    check = canon.get("check")
    if isinstance(check, dict):
        for key in ("intervalSeconds", "timeoutSeconds", "delaySeconds"):
            _int_field(check, key, 0, add, "5.26", "check.")
        for kind in ("http", "tcp"):
            part = check.get(kind)
            if isinstance(part, dict) and part.get("portIndex") is not None:
                index = part["portIndex"]
                if not is_integral(index, *INT32) or not 0 <= index < count:
                    add(f"check.{kind}.portIndex", "check port index must address an element "
                                                   "of the ports", "5.26")


def _readiness(canon: Mapping[str, Any], add: Add) -> None:
    """5.11-5.14."""
    checks = canon.get("readinessChecks") or []
    if len(checks) > 1:
        add("readinessChecks", f"got {len(checks)}, expected 1 or less", "5.11")
    container = canon.get("container") or {}
    if "portMappings" in container:
        port_names = {m.get("name") for m in container["portMappings"]}
    else:
        port_names = {d.get("name") for d in canon.get("portDefinitions") or []}
    for i, check in enumerate(checks):
        where = f"readinessChecks[{i}]"
        _string_field(check, "name", add, 1, "5.12", f"{where}.")
        _enum(check.get("protocol"), ("HTTP", "HTTPS"), f"{where}.protocol", add, "5.12")
        _string_field(check, "path", add, 1, "5.12", f"{where}.", 1024)
        name = check.get("portName")
        if not isinstance(name, str) or not PORT_NAME.fullmatch(name):
            add(f"{where}.portName", f"{name!r} must match {PORT_NAME.pattern}", "5.12")
        _int_field(check, "intervalSeconds", 0, add, "5.12", f"{where}.")
        _int_field(check, "timeoutSeconds", 1, add, "5.12", f"{where}.")
        interval, timeout = check.get("intervalSeconds"), check.get("timeoutSeconds")
        if is_integral(interval, *INT32) and is_integral(timeout, *INT32) and timeout >= interval:
            add(f"{where}.timeoutSeconds", f"got {timeout}, expected less than {interval}",
                "5.13")
        if name not in port_names:
            add(f"{where}.portName", f"No port definition reference for portName {name}",
                "5.14")


def _scheduling(app: Mapping[str, Any], canon: Mapping[str, Any], add: Add) -> None:
    """5.16-5.18, 5.24 (resident and single-instance apps)."""
    strategy = canon["upgradeStrategy"]
    resident = is_resident(canon) or app.get("residency") is not None
    if resident and strategy.get("maximumOverCapacity") != 0:
        add("upgradeStrategy.maximumOverCapacity",
            f"got {strategy.get('maximumOverCapacity')}, expected 0.0 (resident app)", "5.16")
    if resident and canon["unreachableStrategy"] != "disabled" and \
            app.get("unreachableStrategy") is not None:
        add("unreachableStrategy", "unreachableStrategy must be disabled for resident tasks",
            "5.24")
    if canon["labels"].get("MARATHON_SINGLE_INSTANCE_APP") == "true":
        if canon["instances"] > 1:
            add("instances", "Single instance app may only have one instance", "5.17")
        if strategy != {"minimumHealthCapacity": 0.0, "maximumOverCapacity": 0.0}:
            add("upgradeStrategy", "a single instance app needs minimumHealthCapacity 0 and "
                                   "maximumOverCapacity 0", "5.18")


def _constraints(app: Mapping[str, Any], add: Add) -> None:
    """6.1-6.12."""
    constraints = app.get("constraints")
    if not isinstance(constraints, list):
        return
    for i, item in enumerate(constraints):
        where = f"constraints[{i}]"
        if not isinstance(item, list) or not all(isinstance(p, str) for p in item):
            add(where, "must be an array of strings", "6.1")
            continue
        if len(item) not in (2, 3):
            add(where, "Each constraint must have either 2 or 3 fields", "6.2")
            continue
        field, operator = item[0], item[1]
        value = item[2] if len(item) == 3 else None
        if not field:
            add(where, "illegal constraint specification: empty field", "6.3")
        if operator.upper() not in OPERATORS:
            add(where, f"operator must be one of the following {', '.join(OPERATORS)}", "6.4")
            continue
        if operator != operator.upper():
            add(where, f"write the operator in upper case ({operator.upper()}): Marathon "
                       "1.10 fails on other cases", "6.5")
        op = operator.upper()
        if op == "UNIQUE" and value is not None:
            add(where, "UNIQUE does not accept a value", "6.6")
        if op == "GROUP_BY" and value is not None and not _int32_text(value):
            add(where, "GROUP BY must define an integer value or else no value at all", "6.8")
        if op == "MAX_PER" and (value is None or not _int32_text(value)):
            add(where, "MAX_PER requires an integer value", "6.9")
        if op in ("LIKE", "UNLIKE"):
            if value is None:
                add(where, "LIKE and UNLIKE require a non-empty, regular expression value",
                    "6.10")
            else:
                try:
                    re.compile(value)
                except re.error:
                    add(where, f"{value!r} is not a valid regular expression", "6.11")
        if op == "IS" and value is not None and not CONSTRAINT_IS.fullmatch(value):
            add(where, "IS only supports Mesos text and float values (no ranges or sets)",
                "6.12")


def _int32_text(text: str) -> bool:
    if not re.fullmatch(r"[+-]?\d+", text):
        return False
    return INT32[0] <= int(text) <= INT32[1]


def _roles_and_resources(app: Mapping[str, Any], canon: Mapping[str, Any],
                         settings: MarathonSettings, add: Add) -> None:
    """7.2-7.6, 7.8, 7.10-7.12, 7.15, 7.17-7.24."""
    role = canon.get("role")
    if isinstance(app.get("role"), str) and role != settings.mesos_role \
            and canon["id"].count("/") == 1:
        add("role", f"got {role!r}, expected one of: [{settings.mesos_role}] (marathon_flags "
                    "mesos_role)", "7.2")
    accepted = app.get("acceptedResourceRoles")
    resident = is_resident(canon) or app.get("residency") is not None
    if isinstance(accepted, list):
        if not accepted:
            add("acceptedResourceRoles", "must not be empty", "7.3")
        for i, name in enumerate(accepted):
            if not isinstance(name, str) or name in ("", ".", "..") or name.startswith("-") \
                    or ROLE_FORBIDDEN & set(name):
                add(f"acceptedResourceRoles[{i}]", "A role name must not be empty, '.', '..', "
                    f"start with '-' or contain whitespace, '/' or DEL; got {name!r}", "7.4")
            elif name not in ("*", role):
                add(f"acceptedResourceRoles[{i}]",
                    f"acceptedResourceRoles can only contain * and {role}", "7.5")
        if resident and accepted and set(accepted) != {"*"}:
            add("acceptedResourceRoles",
                'A resident app must have `acceptedResourceRoles = ["*"]`.', "7.6")
    if resident and role == "*":
        add("role", "Resident apps cannot have the role *", "7.8")
    container = canon.get("container") or {}
    engine = container.get("type")
    volumes = container.get("volumes") or []
    external_names: list[str] = []
    for i, volume in enumerate(volumes):
        where = f"container.volumes[{i}]"
        if not isinstance(volume, dict):
            add(where, "must be an object", "2.7")
            continue
        if "secret" in volume:
            if "secrets" not in settings.features or volume["secret"] not in (
                    app.get("secrets") or {}):
                add(f"{where}.secret", "volume.secret must refer to an existing secret (and "
                                       "the secrets feature must be enabled)", "7.23")
            continue
        mode = volume.get("mode")
        if mode is None or str(mode).upper() not in ("RO", "RW"):
            add(f"{where}.mode", "is required: RO or RW", "7.15")
        persistent = volume.get("persistent")
        if isinstance(persistent, dict):
            path = volume.get("containerPath")
            if not isinstance(path, str) or not path or path in (".", "..") or "/" in path:
                add(f"{where}.containerPath", "must be non-empty, not '.' or '..', and "
                                              "contain no '/'", "7.10")
            if str(mode).upper() != "RW":
                add(f"{where}.mode", "does not equal RW", "7.11")
            size = persistent.get("size")
            if not is_number(size) or size <= 0:
                add(f"{where}.persistent.size", f"got {size}, expected more than 0", "7.11")
            if persistent.get("maxSize") is not None:
                if persistent.get("type", "root") != "mount":
                    add(f"{where}.persistent.maxSize", "Only mount volumes can have maxSize",
                        "7.12")
                elif is_number(size) and persistent["maxSize"] <= size:
                    add(f"{where}.persistent.maxSize", "Max size must be larger than size",
                        "7.12")
            if persistent.get("constraints") and persistent.get("type", "root") == "root":
                add(f"{where}.persistent.constraints",
                    "Constraints on root volumes are not supported", "7.12")
            for j, c in enumerate(persistent.get("constraints") or []):
                if not (isinstance(c, list) and len(c) == 3 and c[0] == "path"
                        and str(c[1]).upper() in ("LIKE", "UNLIKE")):
                    add(f"{where}.persistent.constraints[{j}]",
                        "Unsupported constraint: use [\"path\", \"LIKE\"|\"UNLIKE\", regex]",
                        "6.14")
        elif isinstance(volume.get("external"), dict):
            external = volume["external"]
            if "external_volumes" not in settings.features:
                add(f"{where}.external", "needs marathon_flags enable_features "
                                         "external_volumes", "7.17")
            name = external.get("name")
            if not name:
                add(f"{where}.external.name", "must not be empty", "7.17")
            external_names.append(str(name))
            if external.get("provider") == "dvdi":
                if canon["instances"] > 1:
                    add("instances", "Number of instances is limited to 1 with a dvdi "
                                     "external volume", "7.17")
                if canon["upgradeStrategy"].get("maximumOverCapacity") != 0:
                    add("upgradeStrategy.maximumOverCapacity", "got "
                        f"{canon['upgradeStrategy'].get('maximumOverCapacity')}, expected 0.0",
                        "5.19")
        elif "hostPath" in volume or "containerPath" in volume:
            for key in ("containerPath", "hostPath"):
                if not isinstance(volume.get(key), str) or not volume.get(key):
                    add(f"{where}.{key}", "must not be empty", "7.15")
    if len(external_names) != len(set(external_names)):
        add("container.volumes", "Volume names must be unique", "7.17")
    gpus = canon.get("gpus", 0)
    if is_integral(gpus, *INT32) and gpus > 0:
        if engine == "DOCKER":
            add("gpus", "GPU resources only work with the Mesos containerizer", "7.18")
        if "gpu_resources" not in settings.features:
            add("gpus", "Feature gpu_resources is not enabled. Enable with marathon_flags "
                        "enable_features", "7.19")
    secrets = app.get("secrets") or {}
    if secrets and "secrets" not in settings.features:
        add("secrets", "Feature secrets is not enabled. Enable with marathon_flags "
                       "enable_features", "7.20")
    for key, value in (app.get("env") or {}).items():
        if isinstance(value, dict):
            if "secrets" not in settings.features:
                add(f"env.{key}", "use of secret-references in the environment requires the "
                                  "secrets feature to be enabled", "7.21")
            elif value.get("secret") not in secrets:
                add(f"env.{key}", f"references an undefined secret {value.get('secret')!r}",
                    "7.22")
    linux = container.get("linuxInfo")
    if engine == "MESOS" and isinstance(linux, dict):
        seccomp = linux.get("seccomp")
        if isinstance(seccomp, dict) and bool(seccomp.get("profileName")) == bool(
                seccomp.get("unconfined")):
            add("container.linuxInfo.seccomp", "Seccomp unconfined must be true when Profile "
                                               "is NOT defined (and false when it is)", "7.24")
        ipc = linux.get("ipcInfo")
        if isinstance(ipc, dict) and ipc.get("mode") == "SHARE_PARENT" and \
                ipc.get("shmSize") is not None:
            add("container.linuxInfo.ipcInfo.shmSize", "must be empty with SHARE_PARENT",
                "7.24")
