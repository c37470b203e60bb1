"""Marathon app definitions from apps/*.json: load, normalise, validate, override, compare.

Pure: no host, no network. The field rules come from Marathon's RAML types as summarised in
shared/reference/marathon-api.md; what Marathon would answer 422 for, we say before any host is
touched, as `error: <file>: <field>: <message>` lines.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyinfra_mesos.marathon_client import matches
from pyinfra_mesos.problems import Problem, error, warning
from pyinfra_mesos.topology import Topology

# stringTypes.raml PathId.
PATH_ID = re.compile(
    r"^(\/?((\.\.)|(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*"
    r"([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9]))?($|\/))+$"
)

# app.raml App (writable fields), including the deprecated ones Marathon 1.10 still accepts.
APP_KEYS = frozenset({
    "id", "cmd", "args", "cpus", "mem", "disk", "gpus", "instances", "user", "env", "labels",
    "constraints", "acceptedResourceRoles", "role", "container", "networks", "portDefinitions",
    "requirePorts", "healthChecks", "readinessChecks", "check", "upgradeStrategy",
    "unreachableStrategy", "killSelection", "taskKillGracePeriodSeconds", "backoffSeconds",
    "backoffFactor", "maxLaunchDelaySeconds", "fetch", "dependencies", "executor",
    "resourceLimits", "secrets", "tty", "executorResources", "storeUrls",
    # deprecated, normalised or accepted by 1.10
    "ports", "uris", "ipAddress", "residency",
})
# What GET returns but a definition should not carry (an app copied out of Marathon's answer).
READ_ONLY_KEYS = frozenset({
    "version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
    "deployments", "tasks", "lastTaskFailure", "taskStats", "readinessCheckResults",
})
NETWORK_MODES = ("container", "container/bridge", "host")
CONTAINER_TYPES = ("DOCKER", "MESOS")
LEGACY_NETWORK_MODE = {"BRIDGE": "container/bridge", "HOST": "host", "USER": "container"}

# Ports the cluster itself listens on (facts.md: ZooKeeper, Mesos, Marathon) plus ssh: HAProxy on
# a co-located host could not bind a servicePort there.
CLUSTER_PORTS = {22: "ssh", 2181: "ZooKeeper client", 2888: "ZooKeeper peer",
                 3888: "ZooKeeper election", 5050: "Mesos master", 5051: "Mesos agent",
                 8080: "Marathon"}
DEFAULT_AGENT_PORTS = "[31000-32000]"


@dataclass(frozen=True)
class LoadedApp:
    path: str
    app: dict[str, Any]

    @property
    def name(self) -> str:
        """The id without the leading slash: the key users give in `apps_instances`."""
        return str(self.app.get("id", "")).strip("/")


def load_apps(directory: str) -> tuple[list[LoadedApp], list[Problem]]:
    """Every *.json in `directory`, sorted by file name; unreadable files become problems."""
    root = Path(directory)
    if not root.is_dir():
        return [], [error(directory, "apps_dir", "is not a directory")]
    apps: list[LoadedApp] = []
    problems: list[Problem] = []
    for path in sorted(root.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            problems.append(error(str(path), "(file)", f"cannot be read: {e}"))
            continue
        except json.JSONDecodeError as e:
            problems.append(error(str(path), "(json)",
                                  f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"))
            continue
        if not isinstance(data, dict):
            problems.append(error(str(path), "(root)", "must be one JSON object (an app)"))
            continue
        apps.append(LoadedApp(str(path), data))
    return apps, problems


def normalise_app(app: Mapping[str, Any]) -> dict[str, Any]:
    """The Marathon 1.5+ form of `app` (what Marathon returns), without read-only fields.

    Legacy 1.4: container.docker.network BRIDGE|HOST|USER + container.docker.portMappings
    -> networks[{mode}] + container.portMappings (docs/docs/upgrade/network-api-migration.md).
    Without this, a legacy file would never compare equal to Marathon's answer and every run
    would PUT it again.
    """
    out = copy.deepcopy(dict(app))
    for key in READ_ONLY_KEYS:
        out.pop(key, None)
    if isinstance(out.get("id"), str) and not out["id"].startswith("/"):
        out["id"] = "/" + out["id"]
    container = out.get("container")
    if isinstance(container, dict) and isinstance(container.get("docker"), dict):
        docker = container["docker"]
        network = docker.pop("network", None)
        mappings = docker.pop("portMappings", None)
        if isinstance(network, str) and "networks" not in out:
            out["networks"] = [{"mode": LEGACY_NETWORK_MODE.get(network.upper(), network)}]
        if mappings is not None and "portMappings" not in container:
            container["portMappings"] = mappings
        if network is not None and network.upper() == "BRIDGE":
            # In 1.4 bridge apps, portDefinitions were ignored; 1.5+ refuses them with bridge.
            out.pop("portDefinitions", None)
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _port_problems(where: str, field: str, value: Any) -> list[Problem]:
    if value is None:
        return []
    if not _is_int(value) or not 0 <= value <= 65535:
        return [error(where, field, f"must be an integer port 0..65535, got {value!r}")]
    return []


def port_mappings(app: Mapping[str, Any]) -> list[Any]:
    """container.portMappings, or the legacy container.docker.portMappings."""
    container = app.get("container")
    if not isinstance(container, Mapping):
        return []
    found = container.get("portMappings")
    docker = container.get("docker")
    if found is None and isinstance(docker, Mapping):
        found = docker.get("portMappings")
    return found if isinstance(found, list) else []


def service_ports(app: Mapping[str, Any]) -> list[int]:
    """The fixed (non-zero) service ports the app asks for, bridge or host networking."""
    ports: list[Any] = [m.get("servicePort") for m in port_mappings(app)
                        if isinstance(m, Mapping)]
    if not ports:
        ports = [d.get("port") for d in app.get("portDefinitions") or []
                 if isinstance(d, Mapping)]
        if not ports and isinstance(app.get("ports"), list):
            ports = list(app["ports"])
    return [p for p in ports if _is_int(p) and p > 0]


def validate_app(path: str, app: Any) -> list[Problem]:
    """Field checks for one app definition (what Marathon would refuse with 422)."""
    if not isinstance(app, Mapping):
        return [error(path, "(root)", "must be one JSON object (an app)")]
    problems: list[Problem] = []
    add = problems.append

    app_id = app.get("id")
    if not isinstance(app_id, str) or not app_id.strip("/"):
        add(error(path, "id", "is required: a path like /hello-sinatra"))
    elif not PATH_ID.match(app_id):
        add(error(path, "id", f"{app_id!r} is not a Marathon path id (lowercase letters, "
                              "digits, '-' and '.', segments separated by '/')"))

    for key in sorted(set(app) - APP_KEYS - READ_ONLY_KEYS):
        add(error(path, key, "is not a Marathon app field (typo?)"))
    for key in sorted(set(app) & READ_ONLY_KEYS):
        add(warning(path, key, "is read-only (Marathon sets it); it is ignored"))
    for key in ("ports", "uris", "ipAddress"):
        if key in app:
            replacement = {"ports": "portDefinitions", "uris": "fetch",
                           "ipAddress": "networks"}[key]
            add(warning(path, key, f"is deprecated since Marathon 1.5: use {replacement}"))

    if "cmd" in app and "args" in app and app["cmd"] is not None and app["args"] is not None:
        add(error(path, "cmd", "cmd and args are both set: give one of them"))
    if "cmd" in app and app["cmd"] is not None and (not isinstance(app["cmd"], str)
                                                    or not app["cmd"]):
        add(error(path, "cmd", "must be a non-empty string"))
    if "args" in app and app["args"] is not None and (
            not isinstance(app["args"], list)
            or not all(isinstance(a, str) for a in app["args"])):
        add(error(path, "args", "must be a list of strings"))

    if "instances" in app and (not _is_int(app["instances"]) or app["instances"] < 0):
        add(error(path, "instances", f"must be an integer >= 0, got {app['instances']!r}"))
    for key, minimum in (("cpus", 0.001), ("mem", 0), ("disk", 0), ("gpus", 0)):
        if key in app and (not _is_number(app[key]) or app[key] < minimum):
            add(error(path, key, f"must be a number >= {minimum:g}, got {app[key]!r}"))

    for key in ("labels", "env"):
        value = app.get(key)
        if value is not None and not isinstance(value, Mapping):
            add(error(path, key, "must be an object"))
    if isinstance(app.get("labels"), Mapping):
        for name, value in app["labels"].items():
            if not isinstance(value, str):
                add(error(path, f"labels.{name}", "label values must be strings"))

    problems += _container_problems(path, app)
    problems += _network_problems(path, app)
    problems += _health_check_problems(path, app)

    strategy = app.get("upgradeStrategy")
    if isinstance(strategy, Mapping):
        for key in ("minimumHealthCapacity", "maximumOverCapacity"):
            value = strategy.get(key)
            if value is not None and (not _is_number(value) or not 0 <= value <= 1):
                add(error(path, f"upgradeStrategy.{key}",
                          f"must be between 0 and 1, got {value!r}"))
    elif strategy is not None:
        add(error(path, "upgradeStrategy", "must be an object"))
    return problems


def _container_problems(path: str, app: Mapping[str, Any]) -> list[Problem]:
    container = app.get("container")
    if container is None:
        return []
    if not isinstance(container, Mapping):
        return [error(path, "container", "must be an object")]
    problems: list[Problem] = []
    ctype = container.get("type", "DOCKER")
    if ctype not in CONTAINER_TYPES:
        problems.append(error(path, "container.type", f"must be one of {CONTAINER_TYPES}"))
    docker = container.get("docker")
    if ctype == "DOCKER":
        image = docker.get("image") if isinstance(docker, Mapping) else None
        if not isinstance(image, str) or not image.strip():
            problems.append(error(path, "container.docker.image",
                                  "is required for a DOCKER container (e.g. \"nginx:1.25\")"))
    if isinstance(docker, Mapping) and "network" in docker and docker["network"] is not None:
        if str(docker["network"]).upper() not in LEGACY_NETWORK_MODE | {"NONE": ""}:
            problems.append(error(path, "container.docker.network",
                                  "must be BRIDGE, HOST, USER or NONE (deprecated: use networks)"))
    where = "container.portMappings"
    if isinstance(docker, Mapping) and docker.get("portMappings") is not None:
        where = "container.docker.portMappings"
        if container.get("portMappings") is not None:
            problems.append(error(path, where, "given twice: keep container.portMappings only"))
    mappings = container.get("portMappings", docker.get("portMappings")
                             if isinstance(docker, Mapping) else None)
    if mappings is None:
        return problems
    if not isinstance(mappings, list):
        return problems + [error(path, where, "must be a list")]
    for i, mapping in enumerate(mappings):
        if not isinstance(mapping, Mapping):
            problems.append(error(path, f"{where}[{i}]", "must be an object"))
            continue
        for key in ("containerPort", "hostPort", "servicePort"):
            problems += _port_problems(path, f"{where}[{i}].{key}", mapping.get(key))
        protocol = mapping.get("protocol", "tcp")
        if protocol not in ("tcp", "udp", "udp,tcp"):
            problems.append(error(path, f"{where}[{i}].protocol", "must be tcp, udp or udp,tcp"))
    return problems


def _network_problems(path: str, app: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    networks = app.get("networks")
    if networks is not None:
        if not isinstance(networks, list):
            return [error(path, "networks", "must be a list")]
        modes = [n.get("mode", "container") if isinstance(n, Mapping) else None
                 for n in networks]
        for i, mode in enumerate(modes):
            if mode not in NETWORK_MODES:
                problems.append(error(path, f"networks[{i}].mode",
                                      f"must be one of {', '.join(NETWORK_MODES)}"))
        if len(set(modes)) > 1 or (len(modes) > 1 and modes[0] != "container"):
            problems.append(error(path, "networks", "one host network, one container/bridge "
                                                    "network, or container networks; not mixed"))
    definitions = app.get("portDefinitions")
    if definitions is not None:
        if not isinstance(definitions, list):
            return problems + [error(path, "portDefinitions", "must be a list")]
        for i, definition in enumerate(definitions):
            if not isinstance(definition, Mapping):
                problems.append(error(path, f"portDefinitions[{i}]", "must be an object"))
                continue
            problems += _port_problems(path, f"portDefinitions[{i}].port",
                                       definition.get("port"))
    if isinstance(app.get("ports"), list):
        for i, port in enumerate(app["ports"]):
            problems += _port_problems(path, f"ports[{i}]", port)
    return problems


def _health_check_problems(path: str, app: Mapping[str, Any]) -> list[Problem]:
    checks = app.get("healthChecks")
    if checks is None:
        return []
    if not isinstance(checks, list):
        return [error(path, "healthChecks", "must be a list")]
    problems: list[Problem] = []
    normalised = normalise_app(app)
    port_count = len(port_mappings(normalised)) or len(normalised.get("portDefinitions") or [])
    for i, check in enumerate(checks):
        if not isinstance(check, Mapping):
            problems.append(error(path, f"healthChecks[{i}]", "must be an object"))
            continue
        index = check.get("portIndex")
        if index is not None and (not _is_int(index) or not 0 <= index < max(port_count, 1)):
            problems.append(error(path, f"healthChecks[{i}].portIndex",
                                  f"{index!r} does not name one of the app's {port_count} ports"))
    return problems


def parse_port_ranges(text: Any) -> list[tuple[int, int]]:
    """Mesos' ports resource `[31000-32000, 40000-40100]` -> [(31000, 32000), (40000, 40100)]."""
    found = re.findall(r"(\d+)\s*-\s*(\d+)", str(text or ""))
    return [(int(a), int(b)) for a, b in found]


def _agent_port_ranges(topo: Topology) -> list[tuple[str, int, int]]:
    ranges: list[tuple[str, int, int]] = []
    for agent in topo.agents:
        resources = agent.data.get("mesos_resources") or {}
        text = (resources.get("ports") if isinstance(resources, Mapping) else None) \
            or agent.data.get("mesos_agent_ports") or DEFAULT_AGENT_PORTS
        ranges += [(agent.name, a, b) for a, b in parse_port_ranges(text)]
    return ranges


def _reserved_ports(topo: Topology) -> dict[int, str]:
    """Ports HAProxy could not take on a load balancer (cluster services may share the host)."""
    reserved = dict(CLUSTER_PORTS)
    for member in topo.all_members:
        data = member.data
        for key, what in (("marathon_http_port", "Marathon"),
                          ("zookeeper_client_port", "ZooKeeper client"),
                          ("zookeeper_peer_port", "ZooKeeper peer"),
                          ("zookeeper_election_port", "ZooKeeper election"),
                          ("mesos_master_port", "Mesos master"),
                          ("mesos_agent_port", "Mesos agent")):
            if _is_int(data.get(key)):
                reserved.setdefault(data[key], what)
    lb_names = {m.name for m in topo.load_balancers}
    for registry in topo.registries:
        port = registry.data.get("registry_port", 5000)
        if registry.name in lb_names and _is_int(port):
            reserved.setdefault(port, "registry")
    return reserved


def validate_app_dir(path: str, topo: Topology) -> list[Problem]:
    """Every app file, then what only shows across apps or against the cluster."""
    loaded, problems = load_apps(path)
    for item in loaded:
        problems += validate_app(item.path, item.app)

    ids: dict[str, str] = {}
    ports: dict[int, str] = {}
    agent_ranges = _agent_port_ranges(topo)
    reserved = _reserved_ports(topo)
    for item in loaded:
        app_id = item.app.get("id")
        if isinstance(app_id, str):
            key = app_id.strip("/")
            if key in ids:
                problems.append(error(item.path, "id", f"{app_id!r} is also the id in {ids[key]}"))
            ids.setdefault(key, item.path)
        normalised = normalise_app(item.app)
        for port in service_ports(normalised):
            field = "servicePort" if port_mappings(normalised) else "portDefinitions.port"
            if port in ports and ports[port] != item.path:
                problems.append(error(item.path, field,
                                      f"{port} is also the service port of {ports[port]}"))
            ports.setdefault(port, item.path)
            if port in reserved:
                problems.append(error(item.path, field, f"{port} is the {reserved[port]} port; "
                                                        "HAProxy could not listen on it"))
            for agent, low, high in agent_ranges:
                if low <= port <= high:
                    problems.append(error(item.path, field, (
                        f"{port} is inside agent {agent}'s ports resource [{low}-{high}]: "
                        "a task could get it as host port. Use 10000-20000")))
                    break
    return problems


def validate_instance_overrides(apps: Sequence[LoadedApp],
                                overrides: Any) -> list[Problem]:
    """`apps_instances` must name known apps and give integers >= 0."""
    if overrides in (None, {}):
        return []
    if not isinstance(overrides, Mapping):
        return [error("apps_instances", "apps_instances",
                      'must be a mapping like {"hello-sinatra": 3}')]
    known = {item.name for item in apps}
    problems = []
    for name, count in overrides.items():
        if str(name).strip("/") not in known:
            problems.append(error("apps_instances", str(name),
                                  f"no app with this id (known: {', '.join(sorted(known))})"))
        if not _is_int(count) or count < 0:
            problems.append(error("apps_instances", str(name),
                                  f"instances must be an integer >= 0, got {count!r}"))
    return problems


def apply_instance_overrides(apps: Sequence[dict[str, Any]],
                             overrides: Mapping[str, int]) -> list[dict[str, Any]]:
    """Copies of `apps` with `instances` replaced where `overrides` names the app id."""
    wanted = {str(k).strip("/"): v for k, v in (overrides or {}).items()}
    result = []
    for app in apps:
        app = copy.deepcopy(app)
        name = str(app.get("id", "")).strip("/")
        if name in wanted:
            app["instances"] = wanted[name]
        result.append(app)
    return result


def needs_update(desired: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """True when Marathon lacks the app or differs in a field the user set.

    Marathon's answer carries every default, so this compares the user's fields only
    (`marathon_client.matches`); a field deleted from the file does not count, except in
    labels and env, which the user owns entirely.
    """
    if not current:
        return True
    return not matches(normalise_app(desired), current)


def differences(desired: Mapping[str, Any], current: Mapping[str, Any] | None) -> list[str]:
    """The top-level fields that differ, for `--dry` output (`instances: 1 -> 3`)."""
    if not current:
        return ["(new app)"]
    wanted = normalise_app(desired)
    out = []
    for key in sorted(wanted):
        if not matches(wanted[key], current.get(key), key):
            now = json.dumps(current.get(key), sort_keys=True)
            new = json.dumps(wanted[key], sort_keys=True)
            if len(now) + len(new) > 160:
                out.append(f"{key}: changed")
            else:
                out.append(f"{key}: {now} -> {new}")
    return out
