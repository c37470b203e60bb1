"""The ports the cluster binds, per host: one table that `check`, the firewall and the app
checks all read.

Shapes: a port list is `[(field, what, (lo, hi))]`: the data key a problem should name, words
for it, and an inclusive range (a single port is `(p, p)`). Values the schema refuses are left
out here (the schema reports them once). Data come from the host, else group_data/all.py
(`inventory_data.member_value`): no default port is written in this module.

Sources: ZooKeeper's client/peer/election ports and AdminServer (ZooKeeper 3.8 admin guide,
`admin.enableServer`, `admin.serverPort`); Mesos' master and agent `--port` and the agent's
`ports` resource (apache/mesos docs/configuration/master.md, agent.md,
docs/attributes-resources.md, 1.11); Marathon's `--http_port` and `--local_port_min/max`
(d2iq-archive/marathon docs/docs/command-line-flags.md, 1.10).
"""

from __future__ import annotations

from typing import Any

from pyinfra_mesos.agent_data import agent_ports, parse_ranges
from pyinfra_mesos.inventory_data import member_value
from pyinfra_mesos.topology import Member, Topology
from pyinfra_mesos.value_checks import is_int, is_port

PortRange = tuple[int, int]
BoundPorts = list[tuple[str, str, PortRange]]

# sshd's port: never a cluster port, never a service port; the firewall always opens it.
SSH_PORT = 22

# (role, data key, what it is): ports every holder of that role binds on its host.
ROLE_PORTS: tuple[tuple[str, str, str], ...] = (
    ("zookeeper", "zookeeper_client_port", "ZooKeeper client port"),
    ("zookeeper", "zookeeper_peer_port", "ZooKeeper peer port"),
    ("zookeeper", "zookeeper_election_port", "ZooKeeper election port"),
    ("master", "mesos_master_port", "Mesos master port"),
    ("agent", "mesos_agent_port", "Mesos agent port"),
    ("marathon", "marathon_http_port", "Marathon HTTP port"),
    ("registry", "registry_port", "registry port"),
)

# (role, data key, what it is): ports a role binds on 127.0.0.1 only. The firewall has no rule
# for them (loopback is always accepted), but nothing else on the host may take them: a wildcard
# bind of the same port (HAProxy's service ports included) fails with EADDRINUSE.
LOOPBACK_PORTS: tuple[tuple[str, str, str], ...] = (
    ("registry", "registry_push_port", "registry push port (127.0.0.1)"),
)

# ZooKeeper's AdminServer, when zookeeper_admin_server is True; it listens on
# zookeeper_admin_port (ZooKeeper's own default is 8080, Marathon's port).
ADMIN_SERVER = ("zookeeper_admin_server", "zookeeper_admin_port", "ZooKeeper AdminServer")


def _table_ports(m: Member, topo: Topology, table: tuple[tuple[str, str, str], ...]
                 ) -> BoundPorts:
    roles = topo.roles_of(m.name)
    bound: BoundPorts = []
    for role, key, what in table:
        port = member_value(m, key)
        if role in roles and is_port(port):
            bound.append((key, what, (port, port)))
    return bound


def agent_port_ranges(agent: Member) -> tuple[str, Any, list[PortRange]]:
    """`(field, value, ranges)` of an agent's task ports: its `ports(...)` resource, else
    mesos_agent_ports (agent_data.agent_ports); `ranges` is [] when the value is not Mesos'
    range syntax (the schema reports that)."""
    field, value = agent_ports(agent.data, member_value(agent, "mesos_agent_ports"))
    return field, value, parse_ranges(value) or []


def host_ports(m: Member, topo: Topology) -> BoundPorts:
    """Every port this host binds for the cluster on its address: its roles' ports, the
    AdminServer when on, an agent's task ports."""
    roles = topo.roles_of(m.name)
    bound = _table_ports(m, topo, ROLE_PORTS)
    switch, key, what = ADMIN_SERVER
    if "zookeeper" in roles and member_value(m, switch) is True:
        port = member_value(m, key)
        if is_port(port):
            bound.append((switch, what, (port, port)))
    if "agent" in roles:
        field, _, ranges = agent_port_ranges(m)
        bound += [(field, "agent task ports", r) for r in ranges]
    return bound


def loopback_ports(m: Member, topo: Topology) -> BoundPorts:
    """The ports this host binds on 127.0.0.1 only; as host_ports."""
    return _table_ports(m, topo, LOOPBACK_PORTS)


def service_range(m: Member) -> PortRange | None:
    """Marathon's service ports (--local_port_min/max), from marathon_service_port_range;
    None when the value is not a (low, high) pair of ports (the schema reports that)."""
    value = member_value(m, "marathon_service_port_range")
    if (isinstance(value, list | tuple) and len(value) == 2 and all(is_int(v) for v in value)
            and 1 <= value[0] <= value[1] <= 65535):
        return value[0], value[1]
    return None


def reserved_ports(topo: Topology) -> dict[int, str]:
    """`{port: what}` no app's servicePort may take, as HAProxy binds it on every load balancer:
    SSH and every single port a member binds (host_ports and loopback_ports) on any member."""
    reserved = {SSH_PORT: "SSH port"}
    for member in topo.all_members:
        for _, what, (low, high) in host_ports(member, topo) + loopback_ports(member, topo):
            if low == high:
                reserved.setdefault(low, what)
    return reserved
