"""Steps 3-8 of Marathon 1.10.26's app processing after the reader (appread.py): checks on the
deprecated fields, their conversion, the canonical checks, defaults and the stored form.

Sources (d2iq-archive/marathon v1.10.26, src/main/scala/mesosphere/marathon/):
api/v2/validation/AppValidation.scala (validateOldAppAPI, validateCanonicalAppAPI),
api/v2/AppNormalization.scala, raml/AppConversion.scala, state/PathId.scala and app.raml's
`pragma.omitEmpty`; rule numbers are pyinfra_mesos/app_rules.py's index. Validation failures are
422 "Object is not valid" with `{path, errors}` details grouped by path.
"""

from __future__ import annotations

from typing import Any

OMIT_EMPTY = ("args", "constraints", "dependencies", "env", "fetch", "healthChecks",
              "readinessChecks", "secrets")
RESERVED_LAST = {"restart", "tasks", "versions"}
LABEL = r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$"
ARCHIVES = (".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".gz", ".tgz", ".tbz2", ".txz", ".zip")
CONSTRAINT_OPERATORS = ("UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS")
MARATHON_CHECKS = {"HTTP", "HTTPS", "TCP"}


class Problems:
    """Validation failures, path -> messages, in the order found."""

    def __init__(self) -> None:
        self.by_path: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.by_path.setdefault(path, []).append(message)


def canonical_path(raw: str) -> list[str]:
    """PathId.scala: split on '/', drop empty parts, resolve '.' and '..' (a '..' at the root
    is ignored); relative ids resolve against the root (rules 1.4-1.6, 1.16)."""
    out: list[str] = []
    for part in raw.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
            continue
        out.append(part)
    return out


def canonical_id(raw: str) -> str:
    return "/" + "/".join(canonical_path(raw))


def check_deprecated(app: dict[str, Any], problems: Problems) -> None:
    """validateOldAppAPI (AppValidation.scala 262-290, rules 3.3-3.9)."""
    container = app.get("container") or {}
    docker = container.get("docker") or {}
    if app.get("uris") and app.get("fetch"):
        problems.add("/uris", "may not be set in conjunction with fetch")
    if docker.get("network") is not None and app.get("networks"):
        problems.add("/", "must not specify both container.docker.network and networks")
    if app.get("ipAddress") is not None and app.get("networks"):
        problems.add("/", "must not specify both networks and ipAddress")
    ports = [p for p in app.get("ports") or [] if p != 0]
    if len(ports) != len(set(ports)):
        problems.add("/", "ports must be unique")
    if app.get("ipAddress") is not None and (app.get("ports") or app.get("portDefinitions")):
        problems.add("/", "cannot specify both an IP address and port")
    if app.get("ports") and app.get("portDefinitions") and [
            pd.get("port", 0) for pd in app["portDefinitions"]] != app["ports"]:
        problems.add("/", "cannot specify both ports and port definitions")
    ip = app.get("ipAddress")
    if isinstance(ip, dict) and ip.get("discovery") is not None and \
            container.get("type") == "DOCKER":
        problems.add("/ipAddress", "ipAddress/discovery is not allowed for Docker containers")


def _fetch_item(uri: str) -> dict[str, Any]:
    """FetchUri.scala: `extract` only for archive extensions (rule 8.10)."""
    path = uri.split("?", 1)[0].split("#", 1)[0]
    return {"uri": uri, "extract": path.endswith(ARCHIVES), "executable": False, "cache": False}


def convert_deprecated(app: dict[str, Any], bridge_name: str) -> int:
    """AppNormalization forDeprecated (rules 4.10-4.14, 4.17, 8.10): uris, ipAddress,
    docker.network, docker.portMappings, ports. Returns how many port definitions the raw
    request had (for padding, rule 4.22)."""
    uris = app.pop("uris", None)
    if uris:
        app["fetch"] = [_fetch_item(u) for u in uris]
    for item in app.get("fetch") or []:
        if isinstance(item, dict):
            item.setdefault("extract", True)
            item.setdefault("executable", False)
            item.setdefault("cache", False)
    ip = app.pop("ipAddress", None)
    container = app.get("container")
    docker = container.get("docker") if isinstance(container, dict) else None
    network = docker.pop("network", None) if isinstance(docker, dict) else None
    ip_name = ip.get("networkName") if isinstance(ip, dict) else None
    ip_labels = ip.get("labels") if isinstance(ip, dict) else None
    if network is not None:
        mode = {"HOST": "host", "BRIDGE": "container/bridge", "USER": "container"}[network]
        net: dict[str, Any] = {"mode": mode}
        if mode == "container" and ip_name:
            net["name"] = ip_name
        if mode != "host" and ip_labels:
            net["labels"] = ip_labels
        app["networks"] = [net]
    elif ip is not None:
        if ip_name == bridge_name:
            app["networks"] = [{"mode": "container/bridge"}]
        else:
            app["networks"] = [{"mode": "container", **({"name": ip_name} if ip_name else {})}]
        if ip_labels:
            app["networks"][0]["labels"] = ip_labels
        if container is None:  # rule 4.12
            app["container"] = container = {"type": "MESOS", "volumes": []}
    if isinstance(docker, dict) and docker.get("portMappings") is not None:
        legacy = docker.pop("portMappings")
        if container.get("portMappings") is None:
            container["portMappings"] = legacy
    elif isinstance(docker, dict):
        docker.pop("portMappings", None)
    ports = app.pop("ports", None)
    if ports is not None and app.get("portDefinitions") is None:
        app["portDefinitions"] = [{"port": p, "protocol": "tcp"} for p in ports]
    return len(app.get("portDefinitions") or [])


def network_mode(app: dict[str, Any]) -> str:
    networks = app.get("networks") or [{"mode": "host"}]
    return str(networks[0].get("mode", "container"))


def normalise_ports(app: dict[str, Any], raw_port_count: int) -> None:
    """Per network mode (rules 3.19, 3.20, 4.3, 4.16, 4.21-4.25, 4.32, 8.7)."""
    if not app.get("networks"):
        app["networks"] = [{"mode": "host"}]
    mode = network_mode(app)
    container = app.get("container")
    if mode == "host":
        if isinstance(container, dict):
            container.pop("portMappings", None)
        if app.get("portDefinitions") is None:
            app["portDefinitions"] = [{"port": 0, "name": "default", "protocol": "tcp"}]
        return
    app.pop("portDefinitions", None)
    app["requirePorts"] = False
    if not isinstance(container, dict):  # rule 4.23
        app["container"] = container = {"type": "MESOS", "volumes": []}
    mappings = container.get("portMappings")
    if mappings is None:
        mappings = [{"containerPort": 0, "name": "default", "protocol": "tcp", "servicePort": 0}]
    while len(mappings) < raw_port_count:  # rule 4.22: padded, numbers not copied
        mappings.append({"containerPort": 0, "protocol": "tcp", "servicePort": 0})
    for pm in mappings:
        pm.setdefault("containerPort", 0)
        pm.setdefault("servicePort", 0)
        pm.setdefault("protocol", "tcp")
        pm.setdefault("labels", {})
        if mode == "container/bridge":
            pm.setdefault("hostPort", 0)
    container["portMappings"] = mappings


def port_indices(app: dict[str, Any]) -> int:
    """How many ports a portIndex may address (AppValidation.portIndices)."""
    mappings = (app.get("container") or {}).get("portMappings")
    if mappings:
        return len(mappings)
    return len(app.get("portDefinitions") or [])


def normalise_health(app: dict[str, Any], declares_ports: bool) -> None:
    """portIndex 0 default (rule 5.3) and the per-protocol stored form (rule 5.10)."""
    for hc in app.get("healthChecks") or []:
        protocol = hc["protocol"]
        if protocol != "COMMAND" and declares_ports and "port" not in hc and "portIndex" not in hc:
            hc["portIndex"] = 0
        if protocol in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
            hc.setdefault("path", "/")
        else:
            hc.pop("path", None)
        if protocol in MARATHON_CHECKS:
            hc["delaySeconds"], hc["ipProtocol"] = 15, "IPv4"
        if protocol not in ("HTTP", "HTTPS"):
            hc.pop("ignoreHttp1xx", None)


def validate(app: dict[str, Any], problems: Problems) -> None:
    """validateCanonicalAppAPI and the model validator: the rules the cases rely on most."""
    path = canonical_path(app["id"])
    if not path:
        problems.add("/id", "Path must contain at least one path element")
    elif path[-1] in RESERVED_LAST:
        problems.add("/id", "must not end with any of the following reserved keywords: "
                            "restart, tasks, versions")
    cmd, args = app.get("cmd"), app.get("args")
    if cmd is not None and len(cmd) <= 1:
        problems.add("/cmd", "must not be an empty string")
    container = app.get("container")
    has_container = isinstance(container, dict) and (
        container.get("docker") is not None or container.get("type") == "MESOS")
    if not ((bool(cmd) ^ bool(args)) or (not (cmd and args) and has_container)):
        problems.add("/", "AppDefinition must either contain one of 'cmd' or 'args', "
                          "and/or a 'container'.")
    if isinstance(container, dict) and container.get("type") == "DOCKER" and \
            container.get("docker") is None:
        problems.add("/container/docker", "not defined")
    _validate_networks(app, problems)
    indices = port_indices(app)
    mesos_checks = 0
    for i, hc in enumerate(app.get("healthChecks") or []):
        protocol = hc["protocol"]
        mesos_checks += protocol.startswith("MESOS_")
        if protocol in MARATHON_CHECKS or protocol.startswith("MESOS_"):
            index = hc.get("portIndex")
            ok = (0 <= index < indices) if index is not None else (
                hc.get("port") is not None or indices == 1)
            if not ok:
                problems.add(f"/healthChecks({i})", "Health check port indices must address "
                             "an element of the ports array or container port mappings.")
        if hc.get("ipProtocol") == "IPv6" and not (
                protocol.startswith("MESOS_") and (container or {}).get("type") == "DOCKER"):
            problems.add(f"/healthChecks({i})", "IPv6 can only be used for container type "
                         "DOCKER and Mesos http/https/tcp health checks")
        if protocol == "COMMAND":
            # The stand-in cannot run a command inside the task: refused, never faked.
            problems.add(f"/healthChecks({i})/protocol",
                         "COMMAND health checks are not supported by the stand-in")
    if mesos_checks > 1:
        problems.add("/", "AppDefinition can contain at most one Mesos health check")
    _validate_ports(app, problems)
    _validate_constraints(app, problems)
    for key, value in (app.get("env") or {}).items():
        if key == "":
            problems.add("/env", "must not be empty")
        if isinstance(value, dict):
            problems.add(f"/env/{key}", "use of secret-references in the environment requires "
                         "the secrets feature to be enabled")


def _validate_networks(app: dict[str, Any], problems: Problems) -> None:
    """NetworkValidation.scala (rules 4.4-4.9)."""
    networks = app["networks"]
    modes = [n["mode"] for n in networks]
    if not (modes in (["host"], ["container/bridge"]) or
            (modes and all(m == "container" for m in modes))):
        problems.add("/networks", "May specify a single host network, single bridge network, "
                                  "or else 1-to-n container networks")
    for i, n in enumerate(networks):
        if n["mode"] == "host" and (n.get("name") or n.get("labels")):
            problems.add(f"/networks({i})", "Host networks may not have names or labels")
        if n["mode"] == "container/bridge" and n.get("name"):
            problems.add(f"/networks({i})", "Bridge networks may not have names")
    names = [n.get("name") for n in networks if n["mode"] == "container"]
    if len(names) != len(set(names)):
        problems.add("/networks", "Duplicate networks are not allowed")
    container = app.get("container") or {}
    if container.get("type") == "DOCKER" and len(names) > 1:
        problems.add("/networks", "may only specify a single container network when using the "
                                  "Docker container engine")


def _validate_ports(app: dict[str, Any], problems: Problems) -> None:
    definitions = app.get("portDefinitions") or []
    names = [pd.get("name") for pd in definitions if pd.get("name")]
    if len(names) != len(set(names)):
        problems.add("/portDefinitions", "Port names must be unique.")
    numbers = [pd.get("port") for pd in definitions if pd.get("port")]
    if len(numbers) != len(set(numbers)):
        problems.add("/portDefinitions", "Ports must be unique.")
    mappings = (app.get("container") or {}).get("portMappings") or []
    names = [pm.get("name") for pm in mappings if pm.get("name")]
    if len(names) != len(set(names)):
        problems.add("/container/portMappings", "Port names must be unique.")


def _validate_constraints(app: dict[str, Any], problems: Problems) -> None:
    """SchedulingValidation.scala (rules 6.2-6.12)."""
    for i, constraint in enumerate(app.get("constraints") or []):
        path = f"/constraints({i})"
        if not 2 <= len(constraint) <= 3:
            problems.add(path, "Each constraint must have either 2 or 3 fields")
            continue
        field, operator = constraint[0], constraint[1].upper()
        value = constraint[2] if len(constraint) == 3 else None
        if not field:
            problems.add(path, "illegal constraint specification")
        if operator not in CONSTRAINT_OPERATORS:
            problems.add(path, "Constraint operator must be one of the following UNIQUE, "
                               "CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER or IS")
        elif operator == "UNIQUE" and value is not None:
            problems.add(path, "UNIQUE does not accept a value")
        elif operator == "MAX_PER" and not _is_int(value):
            problems.add(path, "MAX_PER requires an integer value")
        elif operator == "GROUP_BY" and value is not None and not _is_int(value):
            problems.add(path, "GROUP BY must define an integer value or else no value at all")
        elif operator in ("LIKE", "UNLIKE") and value is None:
            problems.add(path, "LIKE and UNLIKE require a non-empty, regular expression value")


def _is_int(value: str | None) -> bool:
    try:
        return value is not None and abs(int(value)) <= 2**31 - 1 and value.strip() == value
    except ValueError:
        return False


def stored_form(app: dict[str, Any], mesos_role: str) -> dict[str, Any]:
    """What GET returns (rules 8.2-8.9, 8.14): defaults filled, empty omitEmpty fields and
    the deprecated ones gone, canonical ids and dependencies."""
    app["id"] = canonical_id(app["id"])
    if app.get("dependencies"):
        app["dependencies"] = sorted({canonical_id(d) for d in app["dependencies"]})
    if app.get("constraints"):
        unique: list[list[str]] = []
        for c in app["constraints"]:
            item = [c[0], c[1].upper(), *c[2:]]
            if item not in unique:
                unique.append(item)
        app["constraints"] = unique
    if app.get("healthChecks"):
        unique_checks: list[dict[str, Any]] = []
        for hc in app["healthChecks"]:
            if hc not in unique_checks:
                unique_checks.append(hc)
        app["healthChecks"] = unique_checks
    app.setdefault("labels", {})
    app.setdefault("role", mesos_role)
    app.setdefault("unreachableStrategy", {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0})
    for pd in app.get("portDefinitions") or []:
        pd.setdefault("port", 0)
        pd.setdefault("protocol", "tcp")
        pd.setdefault("labels", {})
    container = app.get("container")
    if isinstance(container, dict):
        container.setdefault("volumes", [])
        docker = container.get("docker")
        if isinstance(docker, dict):
            docker.setdefault("forcePullImage", False)
            docker.setdefault("privileged", False)
            docker.setdefault("parameters", [])
            for gone in ("credential", "pullConfig"):
                if container.get("type") == "DOCKER":
                    docker.pop(gone, None)
    for key in OMIT_EMPTY:
        if not app.get(key):
            app.pop(key, None)
    if not app.get("acceptedResourceRoles"):
        app.pop("acceptedResourceRoles", None)
    app.pop("residency", None)
    return app
