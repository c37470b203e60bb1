"""The cluster's shape, derived from inventory groups without touching any host.

Roles default to co-location: ZooKeeper and Marathon run on the masters, HAProxy on the agents.
An explicit `zookeepers`, `marathon` or `load_balancers` group overrides that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ROLE_GROUPS = ("masters", "agents", "zookeepers", "marathon", "load_balancers", "registry")

# Roles whose hosts run Docker (agents run app containers, Marathon runs in one) and install
# aventer-mesos (masters and agents).
DOCKER_ROLES = frozenset({"agent", "marathon"})
MESOS_ROLES = frozenset({"master", "agent"})

# Not a task file: the one operation every cluster host shares here, so that no agent operation
# starts before every master and Marathon restart ended (pyinfra orders operations per host
# chain, pyinfra api/state.py get_op_order; apache/mesos docs/upgrades.md: masters first).
SETTLED_BARRIER = "Masters and Marathon settled before any agent operation"

# The deploy's task files in the order deploy.py includes them (the order the cluster comes up:
# ZooKeeper before the masters that elect through it, masters before Marathon and the agents),
# each with the roles whose hosts include it; None: every host with a role. tasks/apps.py, which
# talks to Marathon from one host, follows them.
ROLE_TASKS: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("tasks/common.py", None),
    # Before any service: every member is allowed everywhere before it starts talking.
    ("tasks/firewall.py", None),
    ("tasks/docker.py", DOCKER_ROLES),
    ("tasks/zookeeper.py", frozenset({"zookeeper"})),
    ("tasks/mesos_package.py", MESOS_ROLES),
    ("tasks/mesos_master.py", frozenset({"master"})),
    ("tasks/marathon.py", frozenset({"marathon"})),
    (SETTLED_BARRIER, None),
    ("tasks/mesos_agent.py", frozenset({"agent"})),
    ("tasks/haproxy.py", frozenset({"load_balancer"})),
    ("tasks/registry.py", frozenset({"registry"})),
)
# Every task file a host may include (ROLE_TASKS without the barrier), plus tasks/apps.py, which
# deploy.py includes for every host with a role.
TASK_FILES: tuple[str, ...] = (*(task for task, _ in ROLE_TASKS if task != SETTLED_BARRIER),
                               "tasks/apps.py")


def tasks_for(roles: Iterable[str]) -> list[str]:
    """The ROLE_TASKS entries (task files and SETTLED_BARRIER) a host with `roles` runs, in
    order; [] for a host with no role."""
    roles = set(roles)
    if not roles:
        return []
    return [task for task, wanted in ROLE_TASKS if wanted is None or wanted & roles]


@dataclass(frozen=True)
class Member:
    """One inventory host as the topology sees it: its name, the address others use, its data."""

    name: str
    ip: str
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def zookeeper_id(self) -> Any:
        return self.data.get("zookeeper_id")


@dataclass(frozen=True)
class Topology:
    masters: tuple[Member, ...]
    agents: tuple[Member, ...]
    zookeepers: tuple[Member, ...]
    marathons: tuple[Member, ...]
    load_balancers: tuple[Member, ...]
    registries: tuple[Member, ...]

    @property
    def all_members(self) -> tuple[Member, ...]:
        """Every cluster host once, in inventory order (masters first)."""
        seen: dict[str, Member] = {}
        for group in (self.masters, self.zookeepers, self.marathons, self.agents,
                      self.load_balancers, self.registries):
            for member in group:
                seen.setdefault(member.name, member)
        return tuple(seen.values())

    def roles_of(self, name: str) -> set[str]:
        roles = set()
        for role, group in (("master", self.masters), ("agent", self.agents),
                            ("zookeeper", self.zookeepers), ("marathon", self.marathons),
                            ("load_balancer", self.load_balancers),
                            ("registry", self.registries)):
            if any(m.name == name for m in group):
                roles.add(role)
        return roles


def advertised_address(name: str, data: Mapping[str, Any]) -> str:
    """The address other cluster members use for this host: `ip` data, else its name.

    Never what the host resolves for itself: Debian maps the hostname to 127.0.1.1, and a master
    advertising that is unreachable for everyone else.
    """
    ip = data.get("ip")
    return str(ip) if ip else name


def members(hosts: Iterable[tuple[str, Mapping[str, Any]]]) -> tuple[Member, ...]:
    return tuple(Member(name, advertised_address(name, data), data) for name, data in hosts)


def build_topology(groups: Mapping[str, Iterable[tuple[str, Mapping[str, Any]]]]) -> Topology:
    """Build the topology from `{group: [(host name, host data), ...]}`."""
    masters = members(groups.get("masters", ()))
    agents = members(groups.get("agents", ()))
    zookeepers = members(groups.get("zookeepers", ())) or masters
    marathons = members(groups.get("marathon", ())) or masters
    load_balancers = members(groups.get("load_balancers", ())) or agents
    registries = members(groups.get("registry", ()))
    return Topology(masters, agents, zookeepers, marathons, load_balancers, registries)


def topology_from_inventory(inventory: Any) -> Topology:
    """Build the topology from a pyinfra `Inventory` (no connection is made)."""
    groups = {}
    for group in ROLE_GROUPS:
        hosts = inventory.get_group(group, default=[])
        groups[group] = [(host.name, host.data.dict()) for host in hosts]
    return build_topology(groups)


def quorum(master_count: int) -> int:
    """Mesos' replicated-log quorum: strictly more than half of the masters (1/1, 3/2, 5/3)."""
    if master_count < 1:
        raise ValueError("a cluster needs at least one master")
    return master_count // 2 + 1


def zookeeper_server_lines(zookeepers: Iterable[Member], peer_port: int,
                           election_port: int) -> list[str]:
    """`server.N=host:peer:election` for every ensemble member, ordered by id; the ports are
    the data's zookeeper_peer_port and zookeeper_election_port."""
    ordered = sorted(zookeepers, key=lambda m: int(m.zookeeper_id))
    return [f"server.{m.zookeeper_id}={m.ip}:{peer_port}:{election_port}" for m in ordered]


def zk_url(zookeepers: Iterable[Member], path: str, client_port: int) -> str:
    """`zk://h1:2181,h2:2181,h3:2181/path`, the form Mesos and Marathon take; `client_port` is
    the data's zookeeper_client_port.

    Addresses go in unbracketed, so IPv4 or host names only; validation refuses IPv6 `ip`s.
    """
    hosts = ",".join(f"{m.ip}:{client_port}" for m in zookeepers)
    return f"zk://{hosts}/{path.strip('/')}"


def member_port(member: Member, key: str) -> int:
    """The port data key `key` (`marathon_http_port`, `mesos_master_port`, ...) of `member`.

    Read from the member's data only: the inventory loaders (pyinfra's, inventory_loader's)
    merge group_data/all.py, which defines every port key, so no default port is written in
    code. KeyError when the data lacks the key (a topology built without group_data).
    """
    return int(member.data[key])


def mesos_master_url(member: Member) -> str:
    """`http://<ip>:<mesos_master_port>` of one Mesos master."""
    return f"http://{member.ip}:{member_port(member, 'mesos_master_port')}"


def marathon_url(member: Member, local: bool = False) -> str:
    """`http://<ip>:<marathon_http_port>` of one Marathon; `local`: `http://127.0.0.1:<port>`,
    for a client on that Marathon's own host."""
    address = "127.0.0.1" if local else member.ip
    return f"http://{address}:{member_port(member, 'marathon_http_port')}"


def marathon_urls(marathons: Iterable[Member], local: str | None = None) -> list[str]:
    """The URL of every Marathon, for a client that tries them in turn (any instance proxies
    to the leader): inventory order, except that the member named `local` (the host the client
    runs on) comes first and on 127.0.0.1."""
    ordered = sorted(marathons, key=lambda m: m.name != local)
    return [marathon_url(m, local=m.name == local) for m in ordered]
