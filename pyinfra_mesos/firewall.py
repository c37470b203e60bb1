"""The host firewall: one nftables table (`table inet pyinfra_mesos`) per host, from the topology.

Pure: `ruleset(topo, name, resolved)` -> a `Ruleset` (sets of addresses and port ranges),
`render(...)` -> the text of /etc/pyinfra-mesos/firewall.nft, `apply_commands()` -> how it is
loaded, `check_operator_network` -> the schema's rule for one operator network. Its two facts,
`LoadedMarker` (the marker of the loaded table) and `ResolvedIPv4` (members named by DNS), are
in deploy/firewall_facts.py.

Members are listed by IPv4 address; a member whose `ip` is a DNS name (validation allows that)
is resolved by the host being configured, at deploy time (`ResolvedIPv4`).

What the table does (templates/nftables-pyinfra-mesos.nft.j2 says why, rule by rule):
- input, policy drop: established/related, loopback, Docker's bridge, ICMP; every packet from a
  cluster member; SSH (22 and the host's `ssh_port`), the load balancers' service ports and
  firewall_extra_open_tcp_ports from anyone; the cluster ports from firewall_operator_networks.
- forward, policy accept: new connections Docker DNATs to a published port get the same rules.

Quorum safety: every member's address is in the `members` set of every host, and the deploy
applies the firewall before any service is (re)configured, so a member added to the inventory is
allowed everywhere before it starts talking. nftables semantics (a table replaced in one `nft -f`
transaction; a drop in any base chain is final, an accept only ends that chain) are from the
nft(8) manual, nftables 1.0.6 (Debian 12).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pyinfra_mesos.cluster_ports import (
    SSH_PORT,
    PortRange,
    host_ports,
    loopback_ports,
    service_range,
)
from pyinfra_mesos.inventory_data import member_value
from pyinfra_mesos.templates import render_template
from pyinfra_mesos.topology import Member, Topology
from pyinfra_mesos.value_checks import is_port

TABLE = "pyinfra_mesos"
RULES_FILE = "/etc/pyinfra-mesos/firewall.nft"
UNIT = "pyinfra-mesos-firewall.service"
TEMPLATE = "nftables-pyinfra-mesos.nft.j2"
MARKER_PREFIX = "pyinfra-mesos sha256:"


@dataclass(frozen=True)
class Ruleset:
    """What one host's table holds: IPv4 addresses / CIDRs as text, port ranges (lo, hi)."""

    host: str
    members: tuple[str, ...]
    operator_networks: tuple[str, ...]
    cluster_tcp_ports: tuple[PortRange, ...]
    open_tcp_ports: tuple[PortRange, ...]
    load_balancer: bool


_get = member_value  # a host's value: its data, else group_data/all.py


def enabled(member: Member) -> bool:
    """firewall_enabled: only True manages the firewall (the schema refuses non-bools)."""
    return _get(member, "firewall_enabled", True) is True


def merge_ranges(ranges: Iterable[PortRange]) -> tuple[PortRange, ...]:
    """Sorted, with overlapping and adjacent ranges joined: nft refuses overlapping elements in
    an interval set ("conflicting intervals specified")."""
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def cluster_tcp_ports(topo: Topology) -> tuple[PortRange, ...]:
    """Every port a member binds for the cluster (cluster_ports.host_ports: the three ZooKeeper
    ports, Mesos master and agent, Marathon, the registry, ZooKeeper's AdminServer when on,
    each agent's task ports), over all members: one set on every host."""
    return merge_ranges(ports for m in topo.all_members
                        for _, _, ports in host_ports(m, topo))


def reserved_service_ports(topo: Topology) -> str:
    """`22 2181 2888 3888 5050-5051 ...`: the ports HAProxy must never bind for an app (SSH,
    every cluster port, and the ports members bind on 127.0.0.1 only, which HAProxy's wildcard
    bind would collide with), in the haproxy bridge's HAPROXY_RESERVED_PORTS form."""
    loopback = [ports for m in topo.all_members for _, _, ports in loopback_ports(m, topo)]
    ranges = merge_ranges([(SSH_PORT, SSH_PORT), *cluster_tcp_ports(topo), *loopback])
    return " ".join(str(low) if low == high else f"{low}-{high}" for low, high in ranges)


def _ssh_ports(member: Member) -> list[PortRange]:
    # 22 always: `ssh_port` may be a forwarded port on the operator's side (Vagrant's 2222 ->
    # 22), and an unused open port answers nothing.
    port = member.data.get("ssh_port")
    ports = [SSH_PORT] + ([port] if is_port(port) else [])
    return [(p, p) for p in ports]


def open_tcp_ports(member: Member, topo: Topology,
                   app_service_ports: Iterable[int] = ()) -> tuple[PortRange, ...]:
    """Ports open to anyone on this host: SSH, HAProxy's service ports on a load balancer
    (Marathon hands them out from marathon_service_port_range on its own hosts, HAProxy binds
    them here; an app file may also name its own servicePort outside that range:
    `app_service_ports`), firewall_extra_open_tcp_ports."""
    ports = _ssh_ports(member)
    if any(m.name == member.name for m in topo.load_balancers):
        for source in (member, *topo.marathons):
            service = service_range(source)
            if service is not None:
                ports.append(service)
        ports += [(p, p) for p in app_service_ports if is_port(p)]
    extra = _get(member, "firewall_extra_open_tcp_ports", [])
    ports += [(p, p) for p in extra if is_port(p)]
    return merge_ranges(ports)


def operator_networks(member: Member) -> tuple[str, ...]:
    """firewall_operator_networks as nft elements, collapsed (no overlapping intervals)."""
    networks = [ipaddress.ip_network(n) for n in _get(member, "firewall_operator_networks", [])]
    collapsed = ipaddress.collapse_addresses(n for n in networks if n.version == 4)
    return tuple(str(n.network_address) if n.prefixlen == 32 else str(n) for n in collapsed)


def _ipv4(address: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(address)
    except ValueError:
        return None


def names_to_resolve(topo: Topology) -> list[str]:
    """Members' addresses that are DNS names (validation allows them: no `ip`, or a name)."""
    return sorted({m.ip for m in topo.all_members if _ipv4(m.ip) is None})


def member_addresses(topo: Topology, resolved: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """Every member's IPv4 address, sorted numerically, each once.

    `resolved`: DNS name -> its IPv4 addresses as the host being configured resolves them
    (`ResolvedIPv4`). Resolving at deploy time, not at load time: at boot the rules load before
    the network, so a name in the file could not be resolved then. ValueError names a member
    whose name has no IPv4 address.
    """
    found: set[ipaddress.IPv4Address] = set()
    for m in topo.all_members:
        literal = _ipv4(m.ip)
        addresses = [literal] if literal else [a for a in map(_ipv4, resolved.get(m.ip, ())) if a]
        if not addresses:
            raise ValueError(f"{m.name}: ip: {m.ip!r} does not resolve to an IPv4 address; the "
                             "firewall lists cluster members by address: set ip to the host's "
                             "IPv4 address (or firewall_enabled = False on every host)")
        found.update(addresses)
    return tuple(str(a) for a in sorted(found))


def ruleset(topo: Topology, name: str,
            resolved: Mapping[str, Iterable[str]] | None = None,
            app_service_ports: Iterable[int] = ()) -> Ruleset:
    """The table for the member called `name`; `resolved` as for `member_addresses`;
    `app_service_ports`: the servicePorts the app files name (open on load balancers).
    ValueError: `name` is not a member, or a member's name does not resolve."""
    member = next((m for m in topo.all_members if m.name == name), None)
    if member is None:
        raise ValueError(f"{name} is not a cluster member")
    return Ruleset(
        host=name,
        members=member_addresses(topo, resolved or {}),
        operator_networks=operator_networks(member),
        cluster_tcp_ports=cluster_tcp_ports(topo),
        open_tcp_ports=open_tcp_ports(member, topo, app_service_ports),
        load_balancer=any(m.name == name for m in topo.load_balancers),
    )


def _elements(ranges: Iterable[PortRange]) -> list[str]:
    return [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges]


def _render(rules: Ruleset, marker: str) -> str:
    return render_template(
        TEMPLATE, host=rules.host, table=TABLE, unit=UNIT, marker=marker,
        members=list(rules.members), operator_networks=list(rules.operator_networks),
        cluster_tcp_ports=_elements(rules.cluster_tcp_ports),
        open_tcp_ports=_elements(rules.open_tcp_ports), load_balancer=rules.load_balancer)


def digest(rules: Ruleset) -> str:
    """sha256 (hex) of the file as rendered with an empty marker: any rule change changes it."""
    return hashlib.sha256(_render(rules, MARKER_PREFIX).encode()).hexdigest()


def marker(rules: Ruleset) -> str:
    """The table's comment, `pyinfra-mesos sha256:<digest>`: what the loaded table is."""
    return MARKER_PREFIX + digest(rules)


def render(rules: Ruleset) -> str:
    """The whole file: atomic replace of our table, the marker in the table's comment."""
    return _render(rules, marker(rules))


# -- the loaded table ---------------------------------------------------------------------------

def parse_loaded_marker(output: Iterable[str]) -> str:
    """The marker from `nft list table inet pyinfra_mesos` output; "" when there is none (no
    table, nft not installed yet, a table someone else wrote)."""
    for line in output:
        text = line.strip()
        if text.startswith(f'comment "{MARKER_PREFIX}') and text.endswith('"'):
            return text[len('comment "'):-1]
    return ""


# -- validation -----------------------------------------------------------------------------------

def check_operator_network(value: Any) -> Iterator[tuple[str, str]]:
    """One firewall_operator_networks item: an IPv4 CIDR ("203.0.113.0/24") or address."""
    if not isinstance(value, str):
        yield "", f"must be a string such as \"203.0.113.0/24\", not {type(value).__name__}"
        return
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        text = value if len(value) <= 60 else value[:57] + "..."
        reason = "has host bits set" if "host bits" in str(exc) else "is not an IPv4 CIDR"
        yield "", f"{text!r} {reason} (like \"203.0.113.0/24\")"
        return
    if network.version == 6:
        yield "", (f"{value!r} is IPv6; the deploy is IPv4 only (the firewall lists IPv4 "
                   "addresses): give an IPv4 network")



# -- applying it ----------------------------------------------------------------------------------

NFT = "/usr/sbin/nft"
ROLLBACK_FILE = "/run/pyinfra-mesos-firewall-rollback.nft"
ROLLBACK_UNIT = "pyinfra-mesos-firewall-rollback"
# How long a loaded table may go unconfirmed before the host puts the previous one back.
ROLLBACK_S = 120


def apply_commands(rules_file: str = RULES_FILE, rollback_s: int = ROLLBACK_S) -> list[str]:
    """Two commands, run one after the other over the deploy's SSH session.

    1. Check the file (`nft -c`), save what is loaded now as a rollback file (our table's
       listing, or nothing: the replace idiom then just deletes the table), arm a transient
       systemd timer that loads it in `rollback_s` seconds, then load the new table (atomic).
    2. A new command over the same session: it only arrives if the session survived the new
       rules. It disarms the timer. If it never arrives, pyinfra fails the host and the host
       puts the previous table back by itself.
    """
    load = (
        "set -e; "
        f"{NFT} -c -f {rules_file}; "
        f"{{ printf 'table inet {TABLE}\\ndelete table inet {TABLE}\\n'; "
        f"{NFT} list table inet {TABLE} 2>/dev/null || true; }} > {ROLLBACK_FILE}; "
        f"systemctl stop {ROLLBACK_UNIT}.timer 2>/dev/null || true; "
        f"systemctl reset-failed {ROLLBACK_UNIT}.service 2>/dev/null || true; "
        f"systemd-run --quiet --unit={ROLLBACK_UNIT} --on-active={int(rollback_s)} "
        f"{NFT} -f {ROLLBACK_FILE}; "
        f"{NFT} -f {rules_file}"
    )
    confirm = f"systemctl stop {ROLLBACK_UNIT}.timer && rm -f {ROLLBACK_FILE}"
    return [load, confirm]
