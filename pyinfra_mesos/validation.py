"""Refuse a bad inventory before any host is touched: one Problem per issue, naming host and field.

Everything here is pure: it reads a `Topology` (built from the inventory and group_data) and
returns `Problem`s. The deploy runs `validate` first and stops on any error; `python -m
pyinfra_mesos check` prints the same lines offline.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pyinfra_mesos import flag_lists
from pyinfra_mesos.cluster_ports import agent_port_ranges, host_ports, loopback_ports, service_range
from pyinfra_mesos.common import work_dir_problem
from pyinfra_mesos.credentials import ZOOKEEPER_PRINCIPALS
from pyinfra_mesos.flags import (
    agent_flags,
    flag_value,
    marathon_flags,
    master_flags,
    zk_digest_user,
)
from pyinfra_mesos.inventory_data import (
    default_data,
    group_data_dirs,
    group_data_keys,
    member_value,
)
from pyinfra_mesos.inventory_loader import inventory_file_groups
from pyinfra_mesos.known_keys import unknown_group_message, unknown_key_message, unknown_keys
from pyinfra_mesos.problems import Problem, error, warning
from pyinfra_mesos.schema import check_member
from pyinfra_mesos.topology import (
    ROLE_GROUPS,
    Member,
    Topology,
    quorum,
    topology_from_inventory,
)
from pyinfra_mesos.value_checks import HOSTNAME, duration, has_control, is_digits, is_int, is_number

__all__ = ["check_groups",
           "group_override_warnings", "host_ports", "inventory_groups", "loopback_ports",
           "service_range", "validate", "validate_inventory", "validate_names"]


# -- small helpers -------------------------------------------------------------------------------

_get = member_value  # a host's value: its data, else group_data/all.py


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
    problems += _check_host_names(topo)
    problems += _check_addresses(topo)
    problems += _check_colocation(topo)
    problems += _check_unknown_keys(topo)
    schema = [p for m in topo.all_members for p in check_member(m.name, m.data)]
    problems += schema
    problems += _check_work_dirs(topo)
    problems += _check_flags(topo, {p.where for p in schema})
    problems += _check_zookeeper_principals(topo, {p.where for p in schema})
    problems += _check_ports(topo)
    return _collapse(problems)


def validate_inventory(inventory: Any, path: str | None) -> list[Problem]:
    """`validate` plus the inventory's groups: what `check` and deploy.py both run.

    `inventory` is a pyinfra `Inventory`; `path` its file (None when unknown, e.g. the API).
    """
    problems = check_groups(inventory_groups(inventory), path)
    return problems + validate(topology_from_inventory(inventory), source=path or "inventory")


def validate_names(inventory: Any, path: str | None) -> list[Problem]:
    """Only the unknown-group and unknown-key rules: what deploy_apps.py (tasks/apps.py)
    checks, which touches Marathon alone and so skips the cluster rules."""
    problems = check_groups(inventory_groups(inventory), path)
    return problems + _collapse(_check_unknown_keys(topology_from_inventory(inventory)))


def inventory_groups(inventory: Any) -> dict[str, list[str]]:
    """`{group: [host name, ...]}` of a pyinfra `Inventory`, including the empty groups pyinfra
    makes for group_data files no inventory group matches (pyinfra_cli/inventory.py)."""
    return {name: [getattr(h, "name", str(h)) for h in hosts]
            for name, hosts in inventory.groups.items()}


def check_groups(groups: Mapping[str, Sequence[str]], path: str | None) -> list[Problem]:
    """Refuse groups the deploy does not know: their hosts would get no role (a typo such as
    `agent = [...]` leaves those hosts out of the cluster) and a group_data/<typo>.py would
    apply to nobody. Allowed: topology.ROLE_GROUPS and the group pyinfra names after the
    inventory file; an empty group (a group_data file) also when another inventory file next
    to this one has its name (it is that inventory's file-name group)."""
    where = path or "inventory"
    all_hosts = {h for hosts in groups.values() for h in hosts}
    siblings: set[str] = set()
    file_group = None
    if path is not None:
        file_group = Path(path).name.rsplit(".", 1)[0]
        siblings = {p.stem for p in Path(path).resolve().parent.glob("*.py")}
    problems = []
    for name, hosts in groups.items():
        if name in ROLE_GROUPS or name == file_group:
            continue
        if path is None and hosts and set(hosts) == all_hosts:
            continue  # the file-name group pyinfra adds holds exactly every host
        if not hosts and name in siblings:
            continue
        what = (f"{len(hosts)} host(s) ({', '.join(list(hosts)[:3])}) would get no role; "
                if hosts else f"group_data/{name}.py applies to no host; ")
        problems.append(error(where, name, f"{unknown_group_message(name)} ({what}rename it)"))
    return problems


def _check_unknown_keys(topo: Topology) -> list[Problem]:
    """Every data key nothing reads is refused (known_keys.py): a typo would silently keep
    the default on every host that has it."""
    problems = []
    for m in topo.all_members:
        for key in unknown_keys(m.data):
            field = key if isinstance(key, str) else repr(key)
            problems.append(error(m.name, field, unknown_key_message(field)))
    return problems


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
        elif not is_int(zid):
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


# IPv6 is refused rather than half supported: ZooKeeper's `server.N=host:peer:election` lines and
# the `zk://host:port,.../path` URLs this deploy writes (topology.py) put the address unbracketed
# before a `:port`, which ZooKeeper, Mesos and Marathon then cannot parse.
_IPV6_REFUSAL = ("this deploy supports IPv4 only: the ZooKeeper server lines and zk:// URLs "
                 "it writes do not bracket IPv6 addresses; give the host's IPv4 address")


def _address_problem(m: Member) -> Problem | None:
    given = m.data.get("ip")
    if given is not None and given != "" and not isinstance(given, str):
        return error(m.name, "ip", f"must be a string such as \"10.0.0.11\", not "
                                   f"{type(given).__name__} {given!r}")
    address = given if given else m.name
    # Without `ip` the host name is the address others use; either way the fix is `ip`.
    what = (f"{address} is" if given
            else f"no ip set; the host name {address!r} is used as the address and is")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        if given:
            return error(m.name, "ip", f"{address!r} is not a valid IP address")
        if address.lower() == "localhost" or not HOSTNAME.fullmatch(address):
            return error(m.name, "ip", f"{what} not one other hosts can use; set ip")
        return None  # a DNS name: it must resolve the same everywhere, which we cannot see here
    if ip.is_loopback:
        return error(m.name, "ip",
                     f"{what} a loopback address; other hosts cannot reach it. Set ip to the "
                     "address the other cluster hosts use (never 127.x such as Debian's 127.0.1.1)")
    if ip.version == 6:
        return error(m.name, "ip", f"{what} an IPv6 address; {_IPV6_REFUSAL}")
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved or ip.is_link_local:
        return error(m.name, "ip", f"{what} not a unicast address other hosts can use (multicast, "
                                   "link-local, broadcast and reserved ranges are not); set ip")
    return None


def _check_host_names(topo: Topology) -> list[Problem]:
    """Inventory names go into /etc/hosts on every host (common.hosts_entries)."""
    problems = []
    for m in topo.all_members:
        try:
            ipaddress.ip_address(m.name)
            continue  # an address as the name: _check_addresses judges it
        except ValueError:
            pass
        if not HOSTNAME.fullmatch(m.name):
            problems.append(error(m.name, "name",
                                  "not a host name (RFC 1123: labels of letters, digits and "
                                  "inner hyphens, separated by dots); it is written to "
                                  "/etc/hosts on every host"))
    return problems


# Roles whose programs take the address itself: Mesos' --ip and Marathon's LIBPROCESS_IP are
# IPv4 addresses (libprocess refuses a name), and ZooKeeper members are listed by address.
ADDRESS_ROLES = frozenset({"master", "agent", "marathon", "zookeeper"})


def _check_addresses(topo: Topology) -> list[Problem]:
    problems = []
    owner: dict[str, str] = {}
    for m in topo.all_members:
        bad = _address_problem(m)
        if bad is None and topo.roles_of(m.name) & ADDRESS_ROLES:
            try:
                ipaddress.ip_address(m.ip)
            except ValueError:
                roles = ", ".join(sorted(topo.roles_of(m.name) & ADDRESS_ROLES))
                bad = error(m.name, "ip", f"{m.ip!r} is a name; a {roles} host needs its IPv4 "
                                          "address (Mesos --ip and LIBPROCESS_IP take an "
                                          "address, not a name): set ip")
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


# -- work_dir ------------------------------------------------------------------------------------

def _check_work_dirs(topo: Topology) -> list[Problem]:
    problems = []
    for group, key in ((topo.masters, "mesos_master_work_dir"),
                       (topo.agents, "mesos_agent_work_dir")):
        for m in group:
            bad = work_dir_problem(m.name, key, _get(m, key))
            if bad:
                problems.append(bad)
    return problems


# -- ZooKeeper digest principals ----------------------------------------------------------------

def _check_zookeeper_principals(topo: Topology, hosts_with_bad_data: set[str]) -> list[Problem]:
    """Mesos and Marathon must be two ZooKeeper principals: Marathon's znodes are for its digest
    alone (CREATOR_ALL_ACL), so one user for both would let the masters write Marathon's state.
    The generated users come from credentials.ZOOKEEPER_PRINCIPALS."""
    problems = []
    for m in topo.all_members:
        if m.name in hosts_with_bad_data or not _get(m, "zookeeper_acls", True):
            continue
        users = {service: zk_digest_user(str(_get(m, key, "") or f"{generated}:"))
                 for service, (key, _, generated) in ZOOKEEPER_PRINCIPALS.items()}
        user = users["mesos"]
        if user == users["marathon"]:
            problems.append(error(m.name, "zookeeper_marathon_credentials",
                                  f"the user {user!r} is also zookeeper_mesos_credentials' user: "
                                  "Mesos and Marathon need two ZooKeeper principals"))
    return problems


# -- flags ---------------------------------------------------------------------------------------

# What the deploy computes per program (flags.py, driven by flag_tables.py).
_PROGRAM_FLAGS: dict[flag_lists.Kind, Callable[[Member, Topology], Mapping[str, Any]]] = {
    "master": master_flags, "agent": agent_flags, "marathon": marathon_flags}


_MAX_INT_FLAG = 2**63 - 1  # stout parses integer flags into 64-bit types


def _flag_value_problem(kind: flag_lists.Kind, name: str, value: Any) -> str | None:
    """What is wrong with one flag value, or None. Every value must be one line; where the
    upstream default shows the flag's type (bool, int, duration) the value must be of it."""
    if isinstance(value, str):
        if has_control(value):
            return (f"{value[:40]!r} holds a newline or another control character (the value "
                    "goes into an env file, one line per flag)")
    elif not (isinstance(value, bool) or is_number(value)):
        return f"value must be a string or number, not {type(value).__name__} {value!r:.40}"
    form = flag_lists.value_form(kind, name)
    text = flag_value(value)
    if text == "" and name not in flag_lists.boolean_flags(kind):
        return "empty value; leave the flag out to get its default"
    if form == "bool" and text not in ("true", "false"):
        return f"{value!r:.40} is not true or false"
    if form == "int" and (isinstance(value, bool) or not is_digits(text)
                          or int(text) > _MAX_INT_FLAG):
        return f"{value!r:.40} is not a whole number 0..{_MAX_INT_FLAG}"
    if form == "duration" and not isinstance(value, bool) and list(duration(text)):
        return f"{value!r:.40} is not a Mesos duration such as 30secs or 5mins"
    return None


def _check_flag_dict(kind: flag_lists.Kind, m: Member, key: str, user: Any,
                     topo: Topology) -> list[Problem]:
    if not isinstance(user, Mapping):
        return [error(m.name, key, f"must be a dict of flag name -> value, not "
                                   f"{type(user).__name__}")]
    problems = []
    names = [n for n in user if isinstance(n, str) and not has_control(n)]
    for name in user:
        if name not in names:
            problems.append(error(m.name, key, f"flag name {name!r:.40} is not a flag name"))
    for name, suggestion in flag_lists.unknown_flags(kind, names).items():
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        problems.append(error(m.name, f"{key}.{name}",
                              f"{flag_lists.unknown_flag_effect(kind)}{hint}"))
    toggles = flag_lists.boolean_flags(kind)
    known = flag_lists.known_flags(kind)
    for name in names:
        value = user[name]
        refusal = flag_lists.override_refusal(kind, name) if name in known else None
        bad_value = _flag_value_problem(kind, name, value)
        if refusal and name == "quorum" and topo.masters:
            want = quorum(len(topo.masters))
            refusal += (f"; for {len(topo.masters)} masters it must be {want} (more than half), "
                        "and the deploy sets exactly that")
        if refusal:
            problems.append(error(m.name, f"{key}.{name}", f"{name} is {refusal}"
                                  if refusal.startswith("a secret") else
                                  f"not allowed here: {refusal}"))
        elif bad_value:
            problems.append(error(m.name, f"{key}.{name}", bad_value))
        elif name in toggles and value != "":
            problems.append(error(m.name, f"{key}.{name}",
                                  f"{name} is a Marathon toggle that takes no value: give \"\" "
                                  f"to turn it on (not {value!r}; MARATHON_{name.upper()}= is "
                                  "how Marathon reads it), or leave it out"))
    return problems


def _check_flags(topo: Topology, hosts_with_bad_data: set[str]) -> list[Problem]:
    """The flag dicts, and flags.py's merged result on hosts whose data passed the schema."""
    problems: list[Problem] = []
    roles: tuple[tuple[flag_lists.Kind, tuple[Member, ...]], ...] = (
        ("master", topo.masters), ("agent", topo.agents), ("marathon", topo.marathons))
    for kind, group in roles:
        key = flag_lists.DATA_KEYS[kind]
        for m in group:
            user = _get(m, key, {})
            if user is None:
                user = {}
            found = _check_flag_dict(kind, m, key, user, topo)
            problems += found
            if found or m.name in hosts_with_bad_data:
                continue  # the merged flags would only repeat what is reported
            problems += _check_merged(kind, m, topo, key, user)
    return problems


def _check_merged(kind: flag_lists.Kind, m: Member, topo: Topology, key: str,
                  user: Mapping[str, Any]) -> list[Problem]:
    """What flags.py makes of good data: known names, required flags set (a bug there if not)."""
    problems = []
    try:
        # As the deploy sees the host: group_data/all.py under the host's own data.
        merged = _PROGRAM_FLAGS[kind](Member(m.name, m.ip, {**default_data(), **m.data}), topo)
    except Exception as exc:  # good data that flags.py cannot compute: one line, not a crash
        return [error(m.name, key, f"the deploy cannot compute the {kind} flags "
                                   f"({type(exc).__name__}: {exc})")]
    for name, suggestion in flag_lists.unknown_flags(
            kind, [n for n in merged if n not in user]).items():
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        problems.append(error(m.name, f"{key}.{name}",
                              f"computed flag is not a known {kind} flag{hint}"))
    for name in flag_lists.required_flags(kind, merged):
        problems.append(error(m.name, f"{key}.{name}",
                              f"required {kind} flag is missing or empty (it would "
                              "refuse to start)"))
    return problems


# -- ports ---------------------------------------------------------------------------------------

def _check_ports(topo: Topology) -> list[Problem]:
    problems: list[Problem] = []
    cluster_ports: dict[int, str] = {}
    for m in topo.all_members:
        bound = [*host_ports(m, topo), *loopback_ports(m, topo)]
        for i, (field_a, what_a, ports_a) in enumerate(bound):
            if ports_a[0] == ports_a[1]:
                cluster_ports.setdefault(ports_a[0], what_a)
            for field_b, what_b, ports_b in bound[:i]:
                clash = _overlap([ports_a], [ports_b])
                if clash:
                    problems.append(error(m.name, field_a, _collision(
                        clash, what_a, field_a, what_b, field_b)))

    # Service ports: HAProxy binds them on the load balancers, and Marathon hands them out, so
    # they must stay clear of every cluster port and of the agents' task ports (a port taken
    # twice fails one of the two binds with EADDRINUSE).
    checked: set[tuple[int, int]] = set()
    for m in (*topo.marathons, *topo.load_balancers):
        service = service_range(m)
        if service is None or service in checked:
            continue
        checked.add(service)
        inside = sorted(p for p in cluster_ports if service[0] <= p <= service[1])
        if inside:
            names = ", ".join(f"{p} ({cluster_ports[p]})" for p in inside)
            problems.append(error(m.name, "marathon_service_port_range",
                                  f"{_show(service)} contains cluster ports {names}; pick a "
                                  f"range clear of them{_default_service_range()}"))
        for agent in topo.agents:
            field, value, ranges = agent_port_ranges(agent)
            clash = _overlap([service], ranges)
            if clash:
                problems.append(error(agent.name, field,
                                      f"task ports {value} overlap Marathon's service ports "
                                      f"{_show(service)} (marathon_service_port_range) at "
                                      f"{_show(clash)}; keep them apart"))
    return problems


def _default_service_range() -> str:
    """` (default 10000-20000)`: group_data/all.py's marathon_service_port_range, if valid."""
    default = service_range(Member("group_data/all.py", "", {}))
    return f" (default {_show(default)})" if default else ""


def _collision(clash: tuple[int, int], what_a: str, field_a: str, what_b: str,
               field_b: str) -> str:
    text = f"{_show(clash)}: the {what_a} collides with the {what_b} ({field_b}) on this host"
    if "AdminServer" in what_a + what_b:
        text += ("; ZooKeeper's AdminServer is on (zookeeper_admin_server = True): set it "
                 "False, or move zookeeper_admin_port or the other port")
    return text


# -- inventory file vs group_data ----------------------------------------------------------------

def group_override_warnings(inventory: str) -> list[Problem]:
    """Keys an inventory file gives a group that a group_data/<group>.py also sets.

    pyinfra lets group_data files outrank the data given to the same group in the inventory
    file (`agents = ([...], {...})`), so such a value is silently lost (README.md, group data;
    pyinfra 3 pyinfra_cli/inventory.py).
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
