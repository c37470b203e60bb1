"""Marathon app definitions from apps/*.json: load, validate, override, compare.

Pure: no host, no network. Validation is Marathon 1.10's own (`app_rules`), the comparison is
canonical form against canonical form (`app_canonical`), so what `check` accepts Marathon
accepts, and a re-run of a converged app changes nothing. Problems are
`error: <file>: <field>: <message>` lines, reported before any host is touched.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyinfra_mesos.app_canonical import (
    DEFAULT_SETTINGS,
    MarathonSettings,
    canonical,
    resolve_dynamic_ports,
)
from pyinfra_mesos.app_rules import validate_app as _validate_app
from pyinfra_mesos.app_secrets import mask_app
from pyinfra_mesos.cluster_ports import agent_port_ranges, reserved_ports, service_range
from pyinfra_mesos.haproxy_model import network_mode
from pyinfra_mesos.haproxy_model import service_ports as listener_ports
from pyinfra_mesos.problems import Problem, error, warning
from pyinfra_mesos.topology import Member, Topology
from pyinfra_mesos.value_checks import is_int


@dataclass(frozen=True)
class LoadedApp:
    path: str
    app: dict[str, Any]

    @property
    def name(self) -> str:
        """The id without the leading slash: the key users give in `apps_instances`."""
        return str(self.app.get("id", "")).strip("/")


def _not_json(name: str) -> Any:
    """Python's json reads NaN and Infinity, which are not JSON: Marathon's parser refuses them,
    and the client would send them as they are."""
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key given twice in one object: JSON readers disagree on which wins, so refuse it."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def load_apps(directory: str) -> tuple[list[LoadedApp], list[Problem]]:
    """Every *.json in `directory`, sorted by file name; unreadable files become problems."""
    root = Path(directory)
    if not root.is_dir():
        return [], [error(directory, "apps_dir", "is not a directory")]
    apps: list[LoadedApp] = []
    problems: list[Problem] = []
    for path in sorted(root.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"),
                              parse_constant=_not_json, object_pairs_hook=_unique_keys)
        except ValueError as e:
            if isinstance(e, json.JSONDecodeError):
                problems.append(error(str(path), "(json)", f"invalid JSON at line {e.lineno} "
                                                           f"column {e.colno}: {e.msg}"))
            else:
                problems.append(error(str(path), "(json)", str(e)))
            continue
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


def settings_of(topo: Topology | None) -> MarathonSettings:
    """The Marathon flags of the cluster (the first Marathon host's `marathon_flags`)."""
    if topo is None or not topo.marathons:
        return MarathonSettings()
    return MarathonSettings.from_flags(topo.marathons[0].data.get("marathon_flags"))


def validate_app(path: str, app: Any,
                 settings: MarathonSettings = DEFAULT_SETTINGS) -> list[Problem]:
    """Marathon 1.10's validation of one app file (app_rules.validate_app); never raises."""
    try:
        return _validate_app(path, app, settings)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as e:
        # A shape no rule foresaw: still one line, never a traceback.
        return [error(path, "(app)", f"cannot be read as a Marathon app: {e}")]


def normalise_app(app: Mapping[str, Any],
                  settings: MarathonSettings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """The app's canonical form (app_canonical.canonical): what Marathon stores and returns."""
    return canonical(app, settings)


def service_ports(app: Mapping[str, Any]) -> list[int]:
    """The fixed (non-zero) service ports of a canonical app: the ports HAProxy binds, read by
    the bridge's own rule (haproxy_model.service_ports).

    Host mode: portDefinitions[].port; other modes: portMappings[].servicePort (rule 8.7).
    """
    return [port for _, port, _ in listener_ports(app)]


def app_dir_service_ports(directory: str, topo: Topology | None = None) -> list[int]:
    """Every fixed servicePort the app files in `directory` name, sorted, each once: what
    HAProxy binds on the load balancers for them (the firewall opens these to everyone).
    Files that do not load are skipped (validation reports them)."""
    loaded, _ = load_apps(directory)
    settings = settings_of(topo)
    return sorted({port for item in loaded if isinstance(item.app, Mapping)
                   for port in service_ports(normalise_app(item.app, settings))})


def validate_app_dir(path: str, topo: Topology, overrides: Any = None) -> list[Problem]:
    """Every app file (Marathon 1.10's rules), then what shows only across apps or against
    the cluster, then the `apps_instances` overrides: the one check `check` and the deploy run.

    `overrides` defaults to the first Marathon host's `apps_instances` (what `--data` sets).
    """
    loaded, problems = load_apps(path)
    settings = settings_of(topo)
    for item in loaded:
        problems += validate_app(item.path, item.app, settings)
    if overrides is None and topo.marathons:
        overrides = topo.marathons[0].data.get("apps_instances")
    problems += validate_instance_overrides(loaded, overrides)
    valid = [item for item in loaded
             if not any(p.where == item.path and p.level == "error" for p in problems)]
    problems += _id_problems(valid)
    problems += _port_problems(valid, topo, settings)
    return problems


def _id_problems(loaded: Sequence[LoadedApp]) -> list[Problem]:
    """Duplicate ids, 1.17 (an app id that is another app's group) and 1.19 (cycles)."""
    problems: list[Problem] = []
    ids: dict[str, str] = {}
    deps: dict[str, list[str]] = {}
    for item in loaded:
        canon = canonical(item.app)
        app_id = canon["id"]
        if app_id in ids:
            problems.append(error(item.path, "id", f"{app_id!r} is also the id in {ids[app_id]}"))
        ids.setdefault(app_id, item.path)
        deps[app_id] = list(canon.get("dependencies") or [])
    for app_id, where in ids.items():
        for other in ids:
            if other.startswith(app_id + "/"):
                problems.append(error(where, "id", f"{app_id!r} is also the group of {other!r}"
                                      ": Groups and Applications may not have the same "
                                      "identifier (Marathon 1.10 rule 1.17)"))
                break
    for app_id in sorted(deps):
        seen: set[str] = set()
        stack = list(deps[app_id])
        while stack:
            dep = stack.pop()
            if dep == app_id:
                problems.append(error(ids[app_id], "dependencies", "Dependency graph has "
                                      "cyclic dependencies (Marathon 1.10 rule 1.19)"))
                break
            if dep not in seen:
                seen.add(dep)
                stack += deps.get(dep, [])
    return problems


def _port_problems(loaded: Sequence[LoadedApp], topo: Topology,
                   settings: MarathonSettings) -> list[Problem]:
    """Service ports as Marathon stores them (canonical): unique across apps, not a cluster
    port, not in an agent's ports resource; requirePorts host ports not held by HAProxy."""
    problems: list[Problem] = []
    ports: dict[int, str] = {}
    agent_ranges = [(agent.name, low, high) for agent in topo.agents
                    for low, high in agent_port_ranges(agent)[2]]
    reserved = reserved_ports(topo)
    # Where a fixed service port belongs: Marathon's own range (group_data/all.py's default).
    service = service_range(topo.marathons[0] if topo.marathons else Member("", "", {}))
    advice = f" Use {service[0]}-{service[1]}" if service else ""
    canons = [(item, canonical(item.app, settings)) for item in loaded]
    for item, canon in canons:
        field = "portDefinitions.port" if network_mode(canon) == "host" \
            else "container.portMappings.servicePort"
        for port in service_ports(canon):
            if port in ports and ports[port] != item.path:
                problems.append(error(item.path, field,
                                      f"{port} is also the service port of {ports[port]}"))
            ports.setdefault(port, item.path)
            if port in reserved:
                problems.append(error(item.path, field, f"{port} is the {reserved[port]}; "
                                                        "HAProxy could not listen on it"))
            for agent, low, high in agent_ranges:
                if low <= port <= high:
                    problems.append(error(item.path, field, (
                        f"{port} is inside agent {agent}'s ports resource [{low}-{high}]: "
                        f"a task could get it as host port.{advice}")))
                    break
    problems += _require_ports_problems(canons, set(ports), topo)
    return problems


def _require_ports_problems(canons: Sequence[tuple[LoadedApp, dict[str, Any]]],
                            held: set[int], topo: Topology) -> list[Problem]:
    """A host-mode `requirePorts` app needs its portDefinitions ports free on the agent; HAProxy
    binds every app's service port on each load balancer, so on an agent that is also a load
    balancer the task can never launch (the deploy would wait its whole timeout)."""
    lb_names = {m.name for m in topo.load_balancers}
    agents = [a.name for a in topo.agents]
    shared = [a for a in agents if a in lb_names]
    problems: list[Problem] = []
    for item, canon in canons:
        if network_mode(canon) != "host" or not canon.get("requirePorts"):
            continue
        for port in service_ports(canon):
            if port not in held or not shared:
                continue
            where = ", ".join(shared)
            if len(shared) == len(agents):
                problems.append(error(item.path, "requirePorts", (
                    f"port {port} is a service port HAProxy binds on every load balancer, and "
                    f"every agent is one ({where}): the task can never launch. Use "
                    "requirePorts false, or load_balancers that are not agents")))
            else:
                problems.append(warning(item.path, "requirePorts", (
                    f"port {port} is a service port HAProxy binds on agents {where}: the task "
                    "can launch only on the other agents")))
    return problems


def validate_instance_overrides(apps: Sequence[LoadedApp],
                                overrides: Any) -> list[Problem]:
    """`apps_instances` must name known apps and give integers >= 0 (rule 2.11)."""
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
        if not is_int(count) or count < 0:
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


@dataclass(frozen=True)
class Change:
    """One difference between the canonical desired and current app.

    path: dotted field path (`env.DB_URL`, `healthChecks`); kind: added | changed | removed;
    secret: True for env values, which are never printed.
    """

    path: str
    kind: str
    old: Any = None
    new: Any = None
    secret: bool = False

    def describe(self) -> str:
        """`env.X: changed (*** -> ***)`, `instances: 1 -> 3`, `healthChecks: removed`."""
        if self.path == "(new app)":
            return self.path
        if self.secret:
            return {"added": f"{self.path}: added (***)", "removed": f"{self.path}: removed",
                    "changed": f"{self.path}: changed (*** -> ***)"}[self.kind]
        old = json.dumps(self.old, sort_keys=True)
        new = json.dumps(self.new, sort_keys=True)
        if self.kind == "added":
            return f"{self.path}: added {new}" if len(new) <= 120 else f"{self.path}: added"
        if self.kind == "removed":
            return f"{self.path}: removed"
        if len(old) + len(new) > 160:
            return f"{self.path}: changed"
        return f"{self.path}: {old} -> {new}"


# Whose entries are shown one by one (env values masked: issue 10).
PER_KEY = ("env", "labels", "secrets")


def compare(desired: Mapping[str, Any], current: Mapping[str, Any] | None,
            settings: MarathonSettings = DEFAULT_SETTINGS,
            digest_key: bytes | None = None) -> tuple[dict[str, Any], list[Change]]:
    """(what to PUT, the changes): canonical(desired) against canonical(current), whole.

    The PUT body is the canonical desired app with dynamic service ports (0) resolved to the
    ports Marathon assigned, so the comparison and the PUT agree. `current` None: the app
    does not exist; every field is an addition (reported as one `(new app)` change).
    `digest_key`: `current` was masked on the host with this key (app_secrets.mask_app); the
    desired side is masked the same way for the comparison only (the PUT body is not). None:
    `current` is raw, and both sides are masked here with an empty key. Masking commutes with
    `canonical` (it leaves those values as they are), so the comparison stays exact (a
    changed secret is a changed digest) and no Change carries a secret value.
    """
    want = canonical(desired, settings)
    if current is None:
        return want, [Change("(new app)", "added")]
    have = canonical(current, settings)
    want = resolve_dynamic_ports(want, have)
    if digest_key is None:  # `current` is raw: mask both, so no Change holds a secret either
        have, view = mask_app(have, b""), mask_app(want, b"")
    else:
        view = mask_app(want, digest_key)
    changes: list[Change] = []
    for key in sorted(set(view) | set(have)):
        old, new = have.get(key), view.get(key)
        if old == new:
            continue
        if key in PER_KEY and isinstance(old or {}, Mapping) and isinstance(new or {},
                                                                            Mapping):
            old_map, new_map = dict(old or {}), dict(new or {})
            for name in sorted(set(old_map) | set(new_map)):
                if old_map.get(name) == new_map.get(name):
                    continue
                kind = ("added" if name not in old_map else
                        "removed" if name not in new_map else "changed")
                changes.append(Change(f"{key}.{name}", kind, old_map.get(name),
                                      new_map.get(name), secret=key != "labels"))
            continue
        kind = "added" if key not in have else "removed" if key not in view else "changed"
        changes.append(Change(key, kind, old, new))
    return want, changes
