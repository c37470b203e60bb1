"""The cluster's status as data: raw answers from the hosts in, a ClusterStatus with its problems
out. Pure: no SSH, no clock (pyinfra_mesos/status_collect.py gathers the answers).

What each answer means, by its upstream source:
- ZooKeeper `srvr` (four-letter word, always allowed in 3.5+): `Mode: leader|follower|standalone`
  and `Zxid: 0x...`; a member that runs but has no quorum answers "This ZooKeeper instance is not
  currently serving requests" (apache/zookeeper 3.8, zookeeper-docs/.../zookeeperAdmin.md, "The
  Four Letter Words"). A healthy ensemble of N > 1 has one leader and N - 1 followers; a
  `standalone` member in a multi-member ensemble serves a tree of its own (split).
- Mesos `GET /redirect` on a master: 307 with `Location: //<leader hostname>:<port>` (also on the
  leader itself), 503 when no leader is elected (apache/mesos 1.11.0 src/master/http.cpp;
  docs/REAL-CONTRACTS.md). Masters started without --zk each elect themselves
  (src/master/main.cpp): only comparing the leader across masters shows it.
- Mesos `GET /master/state` on the leader: `slaves[]` (`hostname`, `pid`, `active`) and
  `frameworks[]` (`name`, `id`, `active`, `connected`) (src/master/readonly_handler.cpp).
- Marathon `GET /v2/leader` -> `{"leader": "host:port"}` (every instance proxies it to the
  leader: LeaderProxyFilter, d2iq-archive/marathon v1.10.26 HttpBindings.scala), 404 "There is
  no leader" on a leader-less instance (docs/.../v2/leader.raml); `GET /v2/apps` ->
  `apps[]` with `instances`, `tasksRunning`, `tasksHealthy`, `healthChecks` (apps.raml).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyinfra_mesos.haproxy_model import in_group, service_ports
from pyinfra_mesos.topology import Member, Topology, member_port
from pyinfra_mesos.value_checks import is_digits

# The marker line the collector's curl writes after the body (status_collect.curl_command).
HTTP_MARK = "@@pyinfra-mesos-http"
# curl's exit codes that mean "no HTTP answer" (curl(1) EXIT CODES).
CURL_ERRORS = {6: "cannot resolve the host", 7: "connection refused or unreachable",
               28: "timed out", 52: "empty reply", 56: "connection reset"}


@dataclass(frozen=True)
class Failed:
    """A request that produced no answer: SSH failed, or the command timed out."""

    reason: str


Raw = str | Failed


@dataclass(frozen=True)
class HttpAnswer:
    """One curl run: HTTP status (0: none), the absolute redirect target, the body, curl's rc."""

    status: int
    location: str
    body: str
    curl_rc: int

    def describe(self) -> str:
        if self.status:
            return f"HTTP {self.status}"
        return f"no answer ({CURL_ERRORS.get(self.curl_rc, f'curl exit {self.curl_rc}')})"

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body)


def parse_http(raw: Raw) -> HttpAnswer | Failed:
    """The collector's curl output (`<body>\\n@@pyinfra-mesos-http <code> [<url>] <rc>`)."""
    if isinstance(raw, Failed):
        return raw
    body, sep, tail = raw.rpartition("\n" + HTTP_MARK)
    if not sep:
        if raw.startswith(HTTP_MARK):
            body, tail = "", raw[len(HTTP_MARK):]
        else:
            return Failed(f"unexpected curl output: {raw.strip()[:100]!r}")
    parts = tail.split()
    if len(parts) < 2 or not is_digits(parts[0]) or not is_digits(parts[-1].removeprefix("-")):
        return Failed(f"unexpected curl output: {tail.strip()[:100]!r}")
    location = parts[1] if len(parts) >= 3 else ""
    return HttpAnswer(int(parts[0]), location, body, int(parts[-1]))


# -- ZooKeeper -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZkMember:
    name: str
    address: str
    mode: str  # leader | follower | standalone | not serving | unreachable | unknown
    zxid: str | None = None
    detail: str = ""


def parse_srvr(raw: Raw) -> tuple[str, str | None, str]:
    """(mode, zxid, detail) from a `srvr` answer."""
    if isinstance(raw, Failed):
        return "unreachable", None, raw.reason
    text = raw.strip()
    if not text:
        return "unreachable", None, "no answer on the client port"
    if "not currently serving" in text:
        return "not serving", None, "running without a quorum"
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    mode = fields.get("Mode")
    if not mode:
        return "unknown", None, text.splitlines()[0][:100]
    return mode, fields.get("Zxid"), ""


def zookeeper_members(topo: Topology, srvr: Mapping[str, Raw]) -> tuple[ZkMember, ...]:
    found = []
    for member in topo.zookeepers:
        mode, zxid, detail = parse_srvr(srvr.get(member.name, Failed("not asked")))
        found.append(ZkMember(member.name, member.ip, mode, zxid, detail))
    return tuple(found)


def zookeeper_problems(members: Sequence[ZkMember]) -> list[str]:
    """Healthy: one member `standalone` (or leader); else exactly one leader, the rest followers."""
    if not members:
        return []
    modes = ", ".join(f"{m.name}={m.mode}" for m in members)
    if len(members) == 1:
        return [] if members[0].mode in ("standalone", "leader") else [
            f"ZooKeeper: the only member is not serving ({modes})"]
    problems = []
    leaders = [m for m in members if m.mode == "leader"]
    standalone = [m for m in members if m.mode == "standalone"]
    if standalone:
        problems.append(f"ZooKeeper: {', '.join(m.name for m in standalone)} standalone in a "
                        f"{len(members)}-member ensemble (split: it serves a tree of its own)")
    if len(leaders) != 1:
        problems.append(f"ZooKeeper: {len(leaders)} leaders, want exactly 1 ({modes})")
    for m in members:
        if m.mode not in ("leader", "follower", "standalone"):
            problems.append(f"ZooKeeper: {m.name} is {m.mode}"
                            + (f": {m.detail}" if m.detail else ""))
    return problems


# -- Mesos masters, agents, frameworks ---------------------------------------------------------


@dataclass(frozen=True)
class MasterView:
    name: str
    address: str  # ip:port this master serves on
    leader: str | None  # host:port of the leader it names, None when it names none
    answer: str


def address_of(location: str) -> str:
    """`http://10.0.0.1:5050/` or `//10.0.0.1:5050` or `master@10.0.0.1:5050` -> `10.0.0.1:5050`."""
    text = location.rpartition("@")[2] if "@" in location and "//" not in location else location
    text = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", text).lstrip("/")
    return text.split("/", 1)[0]


def master_view(member: Member, port: int, raw: Raw) -> MasterView:
    answer = parse_http(raw)
    here = f"{member.ip}:{port}"
    if isinstance(answer, Failed):
        return MasterView(member.name, here, None, answer.reason)
    if answer.status in (301, 302, 303, 307, 308) and answer.location:
        return MasterView(member.name, here, address_of(answer.location), answer.describe())
    if answer.status == 503:
        return MasterView(member.name, here, None, "HTTP 503: no leader elected")
    return MasterView(member.name, here, None, answer.describe())


def mesos_leader(views: Sequence[MasterView]) -> tuple[str | None, list[str]]:
    """(the leader every master names, problems)."""
    named = {v.leader for v in views}
    problems = [f"Mesos: {v.name} knows no leader ({v.answer})" for v in views if not v.leader]
    leaders = sorted(n for n in named if n)
    if len(leaders) > 1:
        seen = ", ".join(f"{v.name}->{v.leader}" for v in views if v.leader)
        problems.append(f"Mesos: masters disagree on the leader ({seen})")
    if len(leaders) == 1 and not problems:
        return leaders[0], []
    return (leaders[0] if len(leaders) == 1 else None), problems


def member_for_address(members: Sequence[Member], address: str) -> Member | None:
    """The member whose ip or name is the host part of `host:port`."""
    host = address.rpartition(":")[0] if re.search(r":\d+$", address) else address
    return next((m for m in members if host in (m.ip, m.name)), None)


@dataclass(frozen=True)
class AgentStatus:
    name: str
    address: str
    state: str  # active | inactive | not registered | unknown


def _slave_matches(slave: Mapping[str, Any], member: Member) -> bool:
    names = {member.name, member.ip}
    if slave.get("hostname") in names:
        return True
    return address_of(str(slave.get("pid", ""))).rpartition(":")[0] in names


def agent_statuses(topo: Topology, state: Mapping[str, Any] | None) -> tuple[AgentStatus, ...]:
    """Each inventory agent as the leader's /master/state `slaves[]` shows it (by name or ip)."""
    slaves = [s for s in (state or {}).get("slaves") or [] if isinstance(s, Mapping)]
    found = []
    for member in topo.agents:
        if state is None:
            found.append(AgentStatus(member.name, member.ip, "unknown"))
            continue
        matches = [s for s in slaves if _slave_matches(s, member)]
        if not matches:
            status = "not registered"
        elif any(s.get("active", True) for s in matches):
            status = "active"
        else:
            status = "inactive"
        found.append(AgentStatus(member.name, member.ip, status))
    return tuple(found)


@dataclass(frozen=True)
class FrameworkStatus:
    name: str
    id: str
    active: bool
    connected: bool


def framework_statuses(state: Mapping[str, Any] | None) -> tuple[FrameworkStatus, ...]:
    frameworks = [f for f in (state or {}).get("frameworks") or [] if isinstance(f, Mapping)]
    return tuple(FrameworkStatus(str(f.get("name", "")), str(f.get("id", "")),
                                 bool(f.get("active", False)), bool(f.get("connected", False)))
                 for f in frameworks)


# -- Marathon ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarathonView:
    name: str
    address: str
    leader: str | None
    answer: str


def marathon_view(member: Member, port: int, raw: Raw) -> MarathonView:
    answer = parse_http(raw)
    here = f"{member.ip}:{port}"
    if isinstance(answer, Failed):
        return MarathonView(member.name, here, None, answer.reason)
    if answer.status == 200:
        try:
            leader = answer.json().get("leader")
        except (ValueError, AttributeError):
            return MarathonView(member.name, here, None, "HTTP 200 but not a JSON object")
        return MarathonView(member.name, here, str(leader) if leader else None, "HTTP 200")
    if answer.status == 404:
        return MarathonView(member.name, here, None, "HTTP 404: no leader")
    if answer.status == 401:
        return MarathonView(member.name, here, None,
                            "HTTP 401: the credentials on the host are not Marathon's")
    return MarathonView(member.name, here, None, answer.describe())


def marathon_leader(views: Sequence[MarathonView]) -> tuple[str | None, list[str]]:
    problems = [f"Marathon: {v.name} names no leader ({v.answer})" for v in views if not v.leader]
    leaders = sorted({v.leader for v in views if v.leader})
    if len(leaders) > 1:
        seen = ", ".join(f"{v.name}->{v.leader}" for v in views if v.leader)
        problems.append(f"Marathon: instances disagree on the leader ({seen})")
    return (leaders[0] if len(leaders) == 1 else None), problems


@dataclass(frozen=True)
class AppStatus:
    id: str
    instances: int
    running: int
    healthy: int
    health_checks: int
    service_ports: tuple[int, ...] = ()


def app_statuses(apps_json: Mapping[str, Any]) -> tuple[AppStatus, ...]:
    """From `GET /v2/apps`; ValueError when the answer has no `apps` list."""
    apps = apps_json.get("apps")
    if not isinstance(apps, list):
        raise ValueError("the answer has no 'apps' list")
    found = []
    for app in sorted((a for a in apps if isinstance(a, Mapping)), key=lambda a: str(a.get("id"))):
        ports = tuple(port for _, port, proto in service_ports(app) if "tcp" in proto.split(","))
        found.append(AppStatus(str(app.get("id")), int(app.get("instances") or 0),
                               int(app.get("tasksRunning") or 0), int(app.get("tasksHealthy") or 0),
                               len(app.get("healthChecks") or []), ports))
    return tuple(found)


def app_problems(apps: Sequence[AppStatus]) -> list[str]:
    problems = []
    for app in apps:
        if app.running < app.instances:
            problems.append(f"Marathon: app {app.id}: {app.running} of {app.instances} "
                            "instances running")
        if app.health_checks and app.healthy < app.instances:
            problems.append(f"Marathon: app {app.id}: {app.healthy} of {app.instances} "
                            "instances healthy")
    return problems


# -- Load balancers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortStatus:
    port: int
    app_id: str
    serving: bool | None  # None: not probed


@dataclass(frozen=True)
class LoadBalancerStatus:
    name: str
    address: str
    ports: tuple[PortStatus, ...]
    error: str = ""


def exposed_ports(apps_json: Mapping[str, Any], group: str) -> list[tuple[int, str]]:
    """(servicePort, app id) pairs a load balancer with this HAPROXY_GROUP must serve: the
    bridge's own rule (pyinfra_mesos/haproxy_model.py, marathon-lb's HAPROXY_GROUP)."""
    apps = apps_json.get("apps")
    pairs = []
    for app in apps if isinstance(apps, list) else []:
        if isinstance(app, Mapping) and in_group(app, group):
            pairs += [(port, str(app.get("id"))) for _, port, proto in service_ports(app)
                      if "tcp" in proto.split(",")]
    return sorted(set(pairs))


def parse_port_probe(raw: Raw) -> dict[int, bool] | Failed:
    """`<port> open|closed` lines (status_collect.port_probe_command) as {port: serving}."""
    if isinstance(raw, Failed):
        return raw
    found: dict[int, bool] = {}
    for line in raw.splitlines():
        parts = line.split()
        if len(parts) == 2 and is_digits(parts[0]) and parts[1] in ("open", "closed"):
            found[int(parts[0])] = parts[1] == "open"
    return found


def load_balancer_status(member: Member, wanted: Sequence[tuple[int, str]],
                         raw: Raw | None) -> LoadBalancerStatus:
    if raw is None:
        return LoadBalancerStatus(member.name, member.ip,
                                  tuple(PortStatus(p, a, None) for p, a in wanted),
                                  "not probed: Marathon's apps are unknown" if wanted else "")
    probe = parse_port_probe(raw)
    if isinstance(probe, Failed):
        return LoadBalancerStatus(member.name, member.ip,
                                  tuple(PortStatus(p, a, None) for p, a in wanted), probe.reason)
    return LoadBalancerStatus(member.name, member.ip,
                              tuple(PortStatus(p, a, probe.get(p)) for p, a in wanted))


def load_balancer_problems(lbs: Sequence[LoadBalancerStatus]) -> list[str]:
    problems = []
    for lb in lbs:
        if lb.error and lb.ports:
            problems.append(f"load balancer {lb.name}: {lb.error}")
            continue
        for port in lb.ports:
            if port.serving is False:
                problems.append(f"load balancer {lb.name}: not serving port {port.port} "
                                f"({port.app_id})")
            elif port.serving is None and not lb.error:
                problems.append(f"load balancer {lb.name}: port {port.port} ({port.app_id}) "
                                "was not probed")
    return problems


# -- the whole cluster ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RawAnswers:
    """What the collector brought back, keyed by inventory host name."""

    srvr: Mapping[str, Raw] = field(default_factory=dict)
    redirect: Mapping[str, Raw] = field(default_factory=dict)
    master_state: Raw | None = None  # /master/state from the leader (None: not asked)
    marathon_leader: Mapping[str, Raw] = field(default_factory=dict)
    apps: Raw | None = None  # /v2/apps (None: not asked)
    lb_ports: Mapping[str, Raw] = field(default_factory=dict)
    unreachable: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterStatus:
    zookeeper: tuple[ZkMember, ...]
    masters: tuple[MasterView, ...]
    mesos_leader: str | None
    agents: tuple[AgentStatus, ...]
    frameworks: tuple[FrameworkStatus, ...]
    marathons: tuple[MarathonView, ...]
    marathon_leader: str | None
    apps: tuple[AppStatus, ...]
    load_balancers: tuple[LoadBalancerStatus, ...]
    unreachable: Mapping[str, str]
    problems: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return not self.problems


def _json_object(raw: Raw | None, what: str, problems: list[str]) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    answer = parse_http(raw)
    if isinstance(answer, Failed):
        problems.append(f"{what}: {answer.reason}")
        return None
    if answer.status != 200:
        problems.append(f"{what}: {answer.describe()}")
        return None
    try:
        value = answer.json()
    except ValueError:
        value = None
    if not isinstance(value, Mapping):
        problems.append(f"{what}: the answer is not a JSON object")
        return None
    return value


def framework_name(topo: Topology) -> str:
    """Marathon's framework name: marathon_flags' framework_name, else Marathon's default."""
    for member in topo.marathons:
        flags = member.data.get("marathon_flags") or {}
        if isinstance(flags, Mapping) and flags.get("framework_name"):
            return str(flags["framework_name"])
    return "marathon"


def build_status(topo: Topology, raw: RawAnswers) -> ClusterStatus:
    """The ClusterStatus of the answers, every problem as one line."""
    problems: list[str] = [f"unreachable: {reason}" for reason in raw.unreachable.values()]

    zk = zookeeper_members(topo, raw.srvr)
    problems += zookeeper_problems(zk)

    masters = tuple(master_view(m, member_port(m, "mesos_master_port"),
                                raw.redirect.get(m.name, Failed("not asked")))
                    for m in topo.masters)
    leader, leader_problems = mesos_leader(masters)
    problems += leader_problems
    if leader and member_for_address(topo.masters, leader) is None:
        problems.append(f"Mesos: the leader {leader} is not a master of the inventory")
    state = _json_object(raw.master_state, "Mesos: the leader's /master/state", problems)
    agents = agent_statuses(topo, state)
    # "unknown" (no state from a leader) is already reported as the leader's problem.
    problems += [f"Mesos: agent {a.name} is {a.state}" for a in agents
                 if a.state in ("inactive", "not registered")]
    frameworks = framework_statuses(state)
    for fw in frameworks:
        if not fw.active or not fw.connected:
            problems.append(f"Mesos: framework {fw.name} ({fw.id}) is "
                            f"{'active' if fw.active else 'inactive'} and "
                            f"{'connected' if fw.connected else 'disconnected'}")
    wanted_fw = framework_name(topo)
    if state is not None and topo.marathons and not any(f.name == wanted_fw for f in frameworks):
        problems.append(f"Mesos: no framework named {wanted_fw} is registered")

    marathons = tuple(marathon_view(m, member_port(m, "marathon_http_port"),
                                    raw.marathon_leader.get(m.name, Failed("not asked")))
                      for m in topo.marathons)
    m_leader, m_problems = marathon_leader(marathons)
    problems += m_problems
    apps_json = _json_object(raw.apps, "Marathon: /v2/apps", problems)
    apps: tuple[AppStatus, ...] = ()
    if apps_json is not None:
        try:
            apps = app_statuses(apps_json)
        except ValueError as exc:
            problems.append(f"Marathon: /v2/apps: {exc}")
            apps_json = None
    problems += app_problems(apps)

    lbs = []
    for member in topo.load_balancers:
        group = str(member.data.get("haproxy_group") or "*")
        wanted = exposed_ports(apps_json, group) if apps_json is not None else []
        probe = raw.lb_ports.get(member.name) if apps_json is not None else None
        if apps_json is not None and wanted and probe is None:
            probe = Failed("not probed")
        lbs.append(load_balancer_status(member, wanted, probe))
    problems += load_balancer_problems(lbs)

    return ClusterStatus(zk, masters, leader, agents, frameworks, marathons, m_leader, apps,
                         tuple(lbs), dict(raw.unreachable), tuple(problems))
