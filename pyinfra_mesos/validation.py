"""Refuse a bad inventory before any host is touched: one Problem per issue, naming host and field.

Everything here is pure: it reads a `Topology` (built from the inventory and group_data) and
returns `Problem`s. The deploy runs `validate` first and stops on any error; `python -m
pyinfra_mesos check` prints the same lines offline.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pyinfra_mesos import flag_lists
from pyinfra_mesos.inventory_loader import (
    default_data,
    group_data_dirs,
    group_data_keys,
    inventory_file_groups,
)
from pyinfra_mesos.problems import Problem, error, warning
from pyinfra_mesos.topology import Member, Topology, quorum, zk_url

CONSENT_LOG_RESET = "mesos_allow_replicated_log_reset"

# Mesos attribute/resource names and text values: [a-zA-Z0-9_/.-] (docs/attributes-resources.md).
_TEXT = re.compile(r"^[A-Za-z0-9_./-]+$")
_RESOURCE_NAME = re.compile(r"^[A-Za-z0-9_./-]+(\([A-Za-z0-9_./*-]+\))?$")
_RANGES = re.compile(r"^\[\s*\d+\s*-\s*\d+\s*(,\s*\d+\s*-\s*\d+\s*)*\]$")
_SET = re.compile(r"^\{[A-Za-z0-9_./-]+(,[A-Za-z0-9_./-]+)*\}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_NUMERIC_RESOURCES = ("cpus", "mem", "disk", "gpus")


# -- small helpers -------------------------------------------------------------------------------

def _get(member: Member, key: str, default: Any = None) -> Any:
    """A data value, falling back to group_data/all.py (topologies built without pyinfra)."""
    if key in member.data:
        return member.data[key]
    return default_data().get(key, default)


def _as_port(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        return None
    return port if 1 <= port <= 65535 and str(port) == str(value).strip() else None


def parse_ranges(text: Any) -> list[tuple[int, int]] | None:
    """Mesos' range syntax `[31000-32000, 33000-33010]` -> [(31000, 32000), ...]; None if bad."""
    if not isinstance(text, str) or not _RANGES.match(text.strip()):
        return None
    ranges = []
    for part in text.strip()[1:-1].split(","):
        lo, hi = (int(x) for x in part.split("-"))
        if not (1 <= lo <= hi <= 65535):
            return None
        ranges.append((lo, hi))
    return ranges


def _overlap(a: Iterable[tuple[int, int]], b: Iterable[tuple[int, int]]) -> tuple[int, int] | None:
    """The first overlapping stretch of two range lists, or None."""
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo <= hi:
                return lo, hi
    return None


def _show(ports: tuple[int, int]) -> str:
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _collapse(problems: list[Problem]) -> list[Problem]:
    """One line per issue: the same problem on several hosts (a group_data value) is one line."""
    seen: dict[tuple[str, str, str], list[Problem]] = {}
    for p in problems:
        seen.setdefault((p.level, p.field, p.message), []).append(p)
    out = []
    for (level, field, message), same in seen.items():
        hosts = list(dict.fromkeys(p.where for p in same))
        if len(hosts) > 1:
            message = f"{message} (also on {', '.join(hosts[1:])})"
        out.append(Problem(level, hosts[0], field, message))  # type: ignore[arg-type]
    return out


# -- the checks ----------------------------------------------------------------------------------

def validate(topo: Topology, source: str = "inventory") -> list[Problem]:
    """Every problem of this topology; `source` (the inventory path) names cluster-wide ones."""
    problems: list[Problem] = []
    problems += _check_counts(topo, source)
    problems += _check_zookeeper_ids(topo)
    problems += _check_addresses(topo)
    problems += _check_colocation(topo)
    problems += _check_flags(topo)
    problems += _check_agent_data(topo)
    problems += _check_ports(topo)
    return _collapse(problems)


def _odd_count_problem(source: str, group: str, hosts: tuple[Member, ...], what: str,
                       majority: int) -> Problem:
    names = ", ".join(m.name for m in hosts)
    n = len(hosts)
    return error(source, group,
                 f"{n} {what} ({names}): an even number is refused. A majority of {majority} "
                 f"of {n} must be up, so {n} tolerate no more failures than {n - 1} would; "
                 "run 1, 3 or 5")


def _check_counts(topo: Topology, source: str) -> list[Problem]:
    problems = []
    if not topo.masters:
        problems.append(error(source, "masters",
                              "no host in the masters group; add 1, 3 or 5, e.g. "
                              "masters = [(\"m1\", {\"ip\": \"10.0.0.11\", \"zookeeper_id\": 1})]"))
    elif len(topo.masters) % 2 == 0:
        problems.append(_odd_count_problem(source, "masters", topo.masters, "masters",
                                           quorum(len(topo.masters))))
    elif len(topo.masters) > 5:
        problems.append(warning(source, "masters",
                                f"{len(topo.masters)} masters: every write waits for a quorum of "
                                f"{quorum(len(topo.masters))}; 3 or 5 is the usual choice"))
    # An explicit zookeepers group is checked on its own; by default it is the masters.
    if topo.zookeepers and topo.zookeepers != topo.masters and len(topo.zookeepers) % 2 == 0:
        problems.append(_odd_count_problem(source, "zookeepers", topo.zookeepers,
                                           "ZooKeeper nodes", len(topo.zookeepers) // 2 + 1))
    if not topo.agents:
        problems.append(warning(source, "agents",
                                "no host in the agents group: Marathon has nowhere to run apps"))
    return problems


def _check_zookeeper_ids(topo: Topology) -> list[Problem]:
    problems = []
    owner: dict[int, str] = {}
    for m in topo.zookeepers:
        zid = m.data.get("zookeeper_id")
        if zid is None:
            problems.append(error(m.name, "zookeeper_id",
                                  "missing; every ZooKeeper node needs a unique id 1..255, "
                                  "and an id is never renumbered once deployed"))
        elif isinstance(zid, bool) or not isinstance(zid, int):
            problems.append(error(m.name, "zookeeper_id",
                                  f"{zid!r} is not an integer; write it as a number 1..255"))
        elif not 1 <= zid <= 255:
            problems.append(error(m.name, "zookeeper_id",
                                  f"{zid} is outside 1..255 (ZooKeeper's myid range)"))
        elif zid in owner:
            problems.append(error(m.name, "zookeeper_id",
                                  f"{zid} is already used by {owner[zid]}; ids must be unique "
                                  "(a duplicate splits the ensemble)"))
        else:
            owner[zid] = m.name
    return problems


def _address_problem(m: Member) -> Problem | None:
    given = m.data.get("ip")
    address = str(given) if given else m.name
    # Without `ip` the host name is the address others use; either way the fix is `ip`.
    what = (f"{address} is" if given
            else f"no ip set; the host name {address!r} is used as the address and is")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        if given:
            return error(m.name, "ip", f"{address!r} is not a valid IP address")
        if address.lower() == "localhost" or not _HOSTNAME.match(address):
            return error(m.name, "ip", f"{what} not one other hosts can use; set ip")
        return None  # a DNS name: it must resolve the same everywhere, which we cannot see here
    if ip.is_loopback:
        return error(m.name, "ip",
                     f"{what} a loopback address; other hosts cannot reach it. Set ip to the "
                     "address the other cluster hosts use (never 127.x such as Debian's 127.0.1.1)")
    if ip.is_unspecified:
        return error(m.name, "ip", f"{what} not a host address; set ip")
    return None


def _check_addresses(topo: Topology) -> list[Problem]:
    problems = []
    owner: dict[str, str] = {}
    for m in topo.all_members:
        bad = _address_problem(m)
        if bad:
            problems.append(bad)
        elif m.ip in owner:
            problems.append(error(m.name, "ip", f"{m.ip} is also the address of {owner[m.ip]}; "
                                                "each host needs its own"))
        else:
            owner[m.ip] = m.name
    return problems


def _check_colocation(topo: Topology) -> list[Problem]:
    problems = []
    master_names = {m.name for m in topo.masters}
    for m in topo.agents:
        if m.name in master_names:
            problems.append(warning(m.name, "groups",
                                    "host is both a master and an agent: tasks compete with "
                                    "ZooKeeper, the replicated log and Marathon for CPU, memory "
                                    "and ports; keep them apart in production"))
    return problems


# -- flags ---------------------------------------------------------------------------------------

def _computed_flag_functions() -> dict[str, Callable[[Member, Topology], Mapping[str, Any]]] | None:
    """flags.py's computed flags, when that module is there (it is another part of the tree)."""
    try:
        from pyinfra_mesos import flags
    except ImportError:
        return None
    return {"master": flags.master_flags, "agent": flags.agent_flags,
            "marathon": flags.marathon_flags}


def _fallback_flags(kind: str, m: Member, topo: Topology) -> dict[str, Any]:
    """The required flags' computed values, for when flags.py is missing (same data keys)."""
    mesos_zk = (zk_url(topo.zookeepers, _get(m, "zookeeper_mesos_path", "/mesos"),
                       _get(m, "zookeeper_client_port", 2181)) if topo.zookeepers else "")
    if kind == "master":
        return {"work_dir": _get(m, "mesos_master_work_dir"), "zk": mesos_zk,
                "quorum": str(quorum(len(topo.masters))) if topo.masters else ""}
    if kind == "agent":
        return {"work_dir": _get(m, "mesos_agent_work_dir"), "master": mesos_zk}
    return {"master": mesos_zk}


def _check_flag_dict(kind: flag_lists.Kind, m: Member, key: str, user: Any) -> list[Problem]:
    if not isinstance(user, Mapping):
        return [error(m.name, key, f"must be a dict of flag name -> value, not "
                                   f"{type(user).__name__}")]
    problems = []
    for name, suggestion in flag_lists.unknown_flags(kind, [str(n) for n in user]).items():
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        program = "Marathon 1.10" if kind == "marathon" else f"Mesos 1.11 {kind}"
        problems.append(error(m.name, f"{key}.{name}",
                              f"unknown {program} flag (it would refuse to start){hint}"))
    toggles = flag_lists.boolean_flags(kind)
    for name, value in user.items():
        if not isinstance(value, str | int | float | bool):
            problems.append(error(m.name, f"{key}.{name}",
                                  f"value must be a string or number, not {type(value).__name__}"))
        elif name in toggles and value != "":
            problems.append(error(m.name, f"{key}.{name}",
                                  f"{name} is a Marathon toggle that takes no value: give \"\" "
                                  f"to turn it on (not {value!r}; MARATHON_{name.upper()}= is "
                                  "how Marathon reads it), or leave it out"))
    return problems


def _check_flags(topo: Topology) -> list[Problem]:
    problems: list[Problem] = []
    computed = _computed_flag_functions()
    roles: tuple[tuple[flag_lists.Kind, tuple[Member, ...]], ...] = (
        ("master", topo.masters), ("agent", topo.agents), ("marathon", topo.marathons))
    for kind, group in roles:
        key = flag_lists.DATA_KEYS[kind]
        for m in group:
            user = _get(m, key, {})
            if user is None:
                user = {}
            problems += _check_flag_dict(kind, m, key, user)
            if not isinstance(user, Mapping):
                continue
            merged: Mapping[str, Any] | None = None
            if computed is not None:
                try:
                    merged = computed[kind](m, topo)
                except Exception:  # a topology this broken is reported above
                    merged = None
            if merged is None:
                merged = {**_fallback_flags(kind, m, topo), **user}
            else:
                # Names flags.py adds itself; a bad one is a bug there, still worth one line.
                for name, suggestion in flag_lists.unknown_flags(
                        kind, [n for n in merged if n not in user]).items():
                    hint = f"; did you mean {suggestion!r}?" if suggestion else ""
                    problems.append(error(m.name, f"{key}.{name}",
                                          f"computed flag is not a known {kind} flag{hint}"))
            for name in flag_lists.required_flags(kind, merged):
                problems.append(error(m.name, f"{key}.{name}",
                                      f"required {kind} flag is missing or empty (it would "
                                      "refuse to start); remove the empty override or set a value"))
            problems += _check_flag_values(kind, m, key, merged, topo)
    return problems


def _check_flag_values(kind: str, m: Member, key: str, merged: Mapping[str, Any],
                       topo: Topology) -> list[Problem]:
    problems = []
    work_dir = str(merged.get("work_dir") or "")
    if kind in ("master", "agent") and work_dir.startswith("/tmp"):
        problems.append(warning(m.name, f"{key}.work_dir",
                                f"{work_dir} is under /tmp, which is wiped on reboot; the "
                                "replicated log / agent checkpoints would be lost"))
    if kind == "master" and topo.masters and merged.get("quorum") not in (None, ""):
        want = quorum(len(topo.masters))
        if str(merged["quorum"]).strip() != str(want):
            problems.append(error(m.name, f"{key}.quorum",
                                  f"quorum {merged['quorum']} is wrong for {len(topo.masters)} "
                                  f"masters: it must be {want} (more than half); remove the "
                                  "override, the deploy computes it"))
    return problems


# -- agent resources and attributes --------------------------------------------------------------

def _check_agent_data(topo: Topology) -> list[Problem]:
    problems: list[Problem] = []
    for m in topo.agents:
        attributes = m.data.get("mesos_attributes", {}) or {}
        if not isinstance(attributes, Mapping):
            problems.append(error(m.name, "mesos_attributes",
                                  f"must be a dict like {{\"rack\": \"r1\"}}, not "
                                  f"{type(attributes).__name__}"))
        else:
            for name, value in attributes.items():
                field = f"mesos_attributes.{name}"
                if not isinstance(name, str) or not _TEXT.match(name):
                    problems.append(error(m.name, field,
                                          "attribute names use only letters, digits and _ . / -"))
                elif isinstance(value, bool) or not isinstance(value, str | int | float):
                    problems.append(error(m.name, field,
                                          f"value must be text or a number, not {value!r}"))
                elif isinstance(value, str) and not (_TEXT.match(value) or parse_ranges(value)):
                    problems.append(error(m.name, field,
                                          f"{value!r}: text values use only letters, digits "
                                          "and _ . / - (Mesos splits on : and ;)"))
        resources = m.data.get("mesos_resources", {}) or {}
        if not isinstance(resources, Mapping):
            problems.append(error(m.name, "mesos_resources",
                                  f"must be a dict like {{\"cpus\": 2, \"mem\": 2048}}, not "
                                  f"{type(resources).__name__}"))
            continue
        for name, value in resources.items():
            field = f"mesos_resources.{name}"
            if not isinstance(name, str) or not _RESOURCE_NAME.match(name):
                problems.append(error(m.name, field,
                                      "resource names use only letters, digits and _ . / -"))
            elif name == "ports":
                if parse_ranges(value) is None:
                    problems.append(error(m.name, field,
                                          f"{value!r} is not a Mesos port range list like "
                                          "\"[31000-32000]\" (ports 1..65535, low-high)"))
            elif name in _NUMERIC_RESOURCES:
                if not _is_number(value) or float(value) < 0 or (
                        name != "gpus" and float(value) == 0):
                    problems.append(error(m.name, field,
                                          f"{value!r} is not a positive number"
                                          + (" (MB)" if name in ("mem", "disk") else "")))
            elif not (_is_number(value) or parse_ranges(value)
                      or (isinstance(value, str) and _SET.match(value))):
                problems.append(error(m.name, field,
                                      f"{value!r}: a custom resource is a number, a range list "
                                      "\"[a-b]\" or a set \"{a,b}\""))
    return problems


# -- ports ---------------------------------------------------------------------------------------

# (role, data key, what it is); ports every holder of that role binds on its host.
_ROLE_PORTS: tuple[tuple[str, str, str], ...] = (
    ("zookeeper", "zookeeper_client_port", "ZooKeeper client port"),
    ("zookeeper", "zookeeper_peer_port", "ZooKeeper peer port"),
    ("zookeeper", "zookeeper_election_port", "ZooKeeper election port"),
    ("master", "mesos_master_port", "Mesos master port"),
    ("agent", "mesos_agent_port", "Mesos agent port"),
    ("marathon", "marathon_http_port", "Marathon HTTP port"),
    ("registry", "registry_port", "registry port"),
)


def _agent_ports_field(m: Member) -> tuple[str, Any]:
    """Where an agent's task ports come from: mesos_resources.ports, else mesos_agent_ports."""
    resources = m.data.get("mesos_resources") or {}
    if isinstance(resources, Mapping) and "ports" in resources:
        return "mesos_resources.ports", resources["ports"]
    return "mesos_agent_ports", _get(m, "mesos_agent_ports")


def _host_ports(m: Member, topo: Topology) -> tuple[list[tuple[str, str, tuple[int, int]]],
                                                   list[Problem]]:
    """`[(field, what, (lo, hi))]` that this host binds, and problems with the values."""
    roles = topo.roles_of(m.name)
    bound: list[tuple[str, str, tuple[int, int]]] = []
    problems: list[Problem] = []
    for role, key, what in _ROLE_PORTS:
        if role not in roles:
            continue
        value = _get(m, key)
        port = _as_port(value)
        if port is None:
            problems.append(error(m.name, key, f"{value!r} is not a port number 1..65535"))
        else:
            bound.append((key, what, (port, port)))
    # ZooKeeper's AdminServer listens on 8080 unless turned off (admin.enableServer=false).
    if "zookeeper" in roles and _get(m, "zookeeper_admin_server", False):
        value = _get(m, "zookeeper_admin_port", 8080)
        port = _as_port(value)
        if port is None:
            problems.append(error(m.name, "zookeeper_admin_port",
                                  f"{value!r} is not a port number 1..65535"))
        else:
            bound.append(("zookeeper_admin_server", "ZooKeeper AdminServer", (port, port)))
    if "agent" in roles:
        field, value = _agent_ports_field(m)
        ranges = parse_ranges(value)
        if ranges is not None:
            bound += [(field, "agent task ports", r) for r in ranges]
        elif field == "mesos_agent_ports":  # a bad mesos_resources.ports is reported with those
            problems.append(error(m.name, field, f"{value!r} is not a Mesos port range list "
                                                 "like \"[31000-32000]\""))
    return bound, problems


def _service_range(m: Member) -> tuple[tuple[int, int] | None, Problem | None]:
    """Marathon's service ports (--local_port_min/max): the data key, or the user's flags."""
    value = _get(m, "marathon_service_port_range")
    try:
        lo, hi = (int(v) for v in value)
    except (TypeError, ValueError):
        return None, error(m.name, "marathon_service_port_range",
                           f"{value!r} is not a (low, high) pair of ports")
    user = _get(m, "marathon_flags", {}) or {}
    if isinstance(user, Mapping):
        lo = _as_port(user.get("local_port_min", lo)) or lo
        hi = _as_port(user.get("local_port_max", hi)) or hi
    if not (1 <= lo <= hi <= 65535):
        return None, error(m.name, "marathon_service_port_range",
                           f"({lo}, {hi}) is not a low <= high range of ports 1..65535")
    return (lo, hi), None


def _check_ports(topo: Topology) -> list[Problem]:
    problems: list[Problem] = []
    cluster_ports: dict[int, str] = {}
    for m in topo.all_members:
        bound, bad = _host_ports(m, topo)
        problems += bad
        for i, (field_a, what_a, ports_a) in enumerate(bound):
            if ports_a[0] == ports_a[1]:
                cluster_ports.setdefault(ports_a[0], what_a)
            for field_b, what_b, ports_b in bound[:i]:
                clash = _overlap([ports_a], [ports_b])
                if clash:
                    problems.append(error(m.name, field_a, _collision(
                        clash, what_a, field_a, what_b, field_b)))

    # Service ports: HAProxy binds them on the load balancers, and Marathon hands them out, so
    # they must stay clear of every cluster port and of the agents' task ports (facts.md).
    checked: set[tuple[int, int]] = set()
    for m in (*topo.marathons, *topo.load_balancers):
        service, bad = _service_range(m)
        if bad:
            problems.append(bad)
        if service is None or service in checked:
            continue
        checked.add(service)
        inside = sorted(p for p in cluster_ports if service[0] <= p <= service[1])
        if inside:
            names = ", ".join(f"{p} ({cluster_ports[p]})" for p in inside)
            problems.append(error(m.name, "marathon_service_port_range",
                                  f"{_show(service)} contains cluster ports {names}; pick a "
                                  "range clear of them (default 10000-20000)"))
        for agent in topo.agents:
            field, value = _agent_ports_field(agent)
            clash = _overlap([service], parse_ranges(value) or [])
            if clash:
                problems.append(error(agent.name, field,
                                      f"task ports {value} overlap Marathon's service ports "
                                      f"{_show(service)} (marathon_service_port_range) at "
                                      f"{_show(clash)}; keep them apart"))
    return problems


def _collision(clash: tuple[int, int], what_a: str, field_a: str, what_b: str,
               field_b: str) -> str:
    text = f"{_show(clash)}: the {what_a} collides with the {what_b} ({field_b}) on this host"
    if "AdminServer" in what_a + what_b:
        text += ("; ZooKeeper's AdminServer takes 8080, Marathon's port: set "
                 "zookeeper_admin_server = False or move one of them")
    return text


# -- changes between runs ------------------------------------------------------------------------

def check_master_count_change(previous_master_count: int | None, log_exists: bool,
                              master_count: int, allowed: bool,
                              where: str = "masters") -> list[Problem]:
    """Refuse master count changes Mesos' replicated log cannot survive, unless consented to.

    The deploy feeds the facts: how many masters the cluster last ran with (None: unknown or
    new) and whether a replicated log already exists. 1 -> N needs the log wiped (a 1-master log
    cannot gain replicas); shrinking leaves the log with replicas it counts on. Growing 3 -> 5
    is supported (restart the old ones with the new quorum first) and needs no consent.
    """
    new = master_count
    if previous_master_count is None or not log_exists or new == previous_master_count or new == 0:
        return []
    how = f"rerun with --data {CONSENT_LOG_RESET}=true"
    if previous_master_count == 1 and new > 1:
        change = (f"growing from 1 master to {new} needs the existing replicated log wiped "
                  "(Mesos cannot add replicas to a 1-master log); the registry (agents, "
                  "frameworks) is lost and agents re-register")
    elif new < previous_master_count:
        change = (f"shrinking from {previous_master_count} masters to {new} changes the quorum "
                  f"to {quorum(new)} under a log written by {previous_master_count} replicas; "
                  "the replicated log must be reset on the remaining masters")
    else:
        return []
    if allowed:
        return [warning(where, CONSENT_LOG_RESET, f"{change}; going ahead as asked")]
    return [error(where, CONSENT_LOG_RESET, f"{change}. Nothing was changed; to accept, {how}")]


# -- inventory file vs group_data ----------------------------------------------------------------

def group_override_warnings(inventory: str) -> list[Problem]:
    """Keys an inventory file gives a group that a group_data/<group>.py also sets.

    pyinfra lets group_data files outrank the data given to the same group in the inventory
    file (`agents = ([...], {...})`), so such a value is silently lost (facts.md).
    `inventory` is the inventory file's path.
    """
    try:
        groups = inventory_file_groups(inventory)
    except Exception:  # load_inventory reports a file that does not load
        return []
    files: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for directory in group_data_dirs(inventory):
        for group, (file, keys) in group_data_keys(directory).items():
            files.setdefault(group, []).append((str(file), keys))
    problems = []
    for group, value in groups.items():
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Mapping)):
            continue
        for key in value[1]:
            winners = [file for file, keys in files.get(group, []) if key in keys]
            if winners:
                problems.append(warning(inventory, f"{group}.{key}",
                                        f"group {group!r} sets {key!r} here, but {winners[-1]} "
                                        "sets it too and wins (pyinfra: group_data files outrank "
                                        "group data in the inventory file); set it per host, "
                                        f"with --data {key}=..., or in that file"))
    return problems
