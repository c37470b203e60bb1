"""What the leading master knows (agents, frameworks, tasks) and how /master/state shows it.

Real Mesos learns tasks from agent (re-)registration after a failover; so does this: agents send
their TaskStatus list with every heartbeat and the master keeps no task state of its own except
launches it forwarded and the agent has not reported yet.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from . import resources as res
from .common import now

# --agent_ping_timeout x --max_agent_ping_timeouts defaults (apache/mesos 1.11.0
# src/master/constants.hpp): an agent silent that long is marked unreachable. master.py passes the
# product of the loaded flags (flags.total_ping_timeout_s).
DEFAULT_AGENT_PING_TIMEOUT_S = 15.0
DEFAULT_MAX_AGENT_PING_TIMEOUTS = 5
# How long a forwarded launch the agent has not reported yet is kept. Upstream keeps it until the
# agent's re-registration reconciles it (Master::reconcileKnownSlave), with no time bound; here
# agents re-register by heartbeat, so the only race is a launch still in flight: the master's
# forward (10 s call timeout in master.py api_launch) plus two 2 s heartbeats and 1 s of slack.
STAGING_GRACE_S = 15.0
UNREACHABLE_MESSAGE = "health check timed out"  # SlaveObserver::_markUnreachable's reason
MAX_COMPLETED_TASKS = 1000  # --max_completed_tasks_per_framework's default (per framework)
TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
            "TASK_DROPPED", "TASK_GONE"}  # fmt: skip


@dataclass
class Agent:
    id: str
    hostname: str
    ip: str
    port: int
    resources: dict[str, Any]
    attributes: dict[str, Any]
    registered_time: float
    last_seen: float
    active: bool = True
    unreachable_time: float | None = None  # set when marked unreachable; None while registered
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def pid(self) -> str:
        return f"slave(1)@{self.ip}:{self.port}"


@dataclass
class Framework:
    id: str
    name: str
    hostname: str
    webui_url: str
    registered_time: float
    recovered: bool = False  # known only from its tasks on agents, not (yet) re-registered
    pid: str = ""  # the scheduler's advertised libprocess pid; "" when it sent none
    connected: bool = False  # the master reached the scheduler at `pid` when it registered
    principal: str = ""  # the principal it authenticated as; "" when it did not authenticate
    partition_aware: bool = False  # FrameworkInfo.capabilities has PARTITION_AWARE


def task_json(slave_id: str, status: dict[str, Any]) -> dict[str, Any]:
    """A Task as /master/state and the agent's /state show it (container.docker shape)."""
    state = status.get("state", "TASK_STAGING")
    statuses = status.get("statuses") or [
        {"state": state, "timestamp": float(status.get("timestamp") or now())}
    ]
    mappings = [
        {"host_port": int(m.get("host_port") or 0),
         "container_port": int(m.get("container_port") or 0),
         "protocol": str(m.get("protocol") or "tcp")}
        for m in status.get("port_mappings") or []
    ]  # fmt: skip
    out: dict[str, Any] = {
        "id": status["id"],
        "name": status.get("name") or status["id"],
        "framework_id": status.get("framework_id") or "",
        "executor_id": "",
        "slave_id": slave_id,
        "state": state,
        "resources": res.task_resources(status),
        "statuses": statuses,
        "labels": [{"key": k, "value": str(v)} for k, v in (status.get("labels") or {}).items()],
        "container": {
            "type": "DOCKER",
            "docker": {
                "image": status.get("image") or "",
                "network": status.get("network") or "BRIDGE",
                "privileged": False,
                "force_pull_image": False,
                "port_mappings": mappings,
            },
        },
    }
    if status.get("message"):
        out["message"] = status["message"]
    return out


class Registry:
    """Thread-safe bookkeeping of the leading master."""

    def __init__(self, master_id: str, agent_timeout_s: float = DEFAULT_AGENT_PING_TIMEOUT_S
                 * DEFAULT_MAX_AGENT_PING_TIMEOUTS) -> None:
        """`agent_timeout_s`: seconds of silence after which an agent is marked unreachable
        (--agent_ping_timeout x --max_agent_ping_timeouts; 75 s by default)."""
        self.master_id = master_id
        self.agent_timeout_s = agent_timeout_s
        self.lock = threading.RLock()
        self.agents: dict[str, Agent] = {}
        self.frameworks: dict[str, Framework] = {}
        self.removed: set[str] = set()  # ids torn down: refused from then on
        # Tasks of removed agents (Machine DOWN), as /master/state shows them, per framework.
        self.completed: dict[str, list[dict[str, Any]]] = {}
        self._next_agent = 0
        self._next_framework = 0

    # -- writes (leader only) -------------------------------------------------------------

    def register_agent(self, body: dict[str, Any]) -> str:
        with self.lock:
            agent_id = body.get("id") or None
            if agent_id is None:
                agent_id = f"{self.master_id}-S{self._next_agent}"
                self._next_agent += 1
            t = now()
            agent = self.agents.get(agent_id)
            if agent is None:
                agent = Agent(
                    id=agent_id, hostname=str(body.get("hostname") or body.get("ip")),
                    ip=str(body["ip"]), port=int(body.get("port") or 5051),
                    resources=dict(body.get("resources") or {}),
                    attributes=dict(body.get("attributes") or {}),
                    registered_time=t, last_seen=t,
                )  # fmt: skip
                self.agents[agent_id] = agent
            agent.hostname = str(body.get("hostname") or agent.hostname)
            agent.ip, agent.port = str(body["ip"]), int(body.get("port") or agent.port)
            agent.resources = dict(body.get("resources") or agent.resources)
            agent.attributes = dict(body.get("attributes") or agent.attributes)
            # An unreachable agent that comes back re-registers with its tasks as it reports them
            # ("Unreachable agent re-reregistered", Master::__reregisterSlave).
            agent.last_seen, agent.active, agent.unreachable_time = t, True, None
            reported = {str(s["id"]): dict(s) for s in body.get("tasks") or []}
            # Keep launches the agent has not reported yet (still being sent to it).
            for tid, status in agent.tasks.items():
                if tid not in reported and status.get("state") == "TASK_STAGING":
                    if t - float(status.get("timestamp") or t) < STAGING_GRACE_S:
                        reported[tid] = status
            agent.tasks = reported
            for status in reported.values():
                self._recover_framework(str(status.get("framework_id") or ""))
            return agent_id

    def framework_id_for(self, body: dict[str, Any]) -> str:
        """The id a registration gets: its own `id`, else a new `<master id>-NNNN`."""
        with self.lock:
            fid = body.get("id") or None
            if fid is None:
                fid = f"{self.master_id}-{self._next_framework:04d}"
                self._next_framework += 1
            return str(fid)

    def register_framework(self, fid: str, body: dict[str, Any], connected: bool,
                           principal: str = "") -> None:
        """Record (or replace) framework `fid`; `connected` says whether its scheduler answered,
        `principal` what it authenticated as ("" for none)."""
        with self.lock:
            self.frameworks[fid] = Framework(
                id=fid, name=str(body.get("name") or ""), hostname=str(body.get("hostname") or ""),
                webui_url=str(body.get("webui_url") or ""), registered_time=now(),
                pid=str(body.get("pid") or ""), connected=connected, principal=principal,
                partition_aware=any(isinstance(c, dict) and c.get("type") == "PARTITION_AWARE"
                                    for c in body.get("capabilities") or []),
            )  # fmt: skip

    def principal(self, fid: str) -> str | None:
        """The principal framework `fid` authenticated as; None if unknown or unauthenticated."""
        with self.lock:
            fw = self.frameworks.get(fid)
            return fw.principal or None if fw is not None else None

    def remove_framework(self, fid: str) -> list[tuple[Agent, str]] | None:
        """Forget `fid` for good (teardown); its live tasks as (agent, task id); None if
        unknown."""
        with self.lock:
            if fid not in self.frameworks:
                return None
            del self.frameworks[fid]
            self.removed.add(fid)
            return [(agent, tid) for agent in self.agents.values()
                    for tid, status in agent.tasks.items()
                    if status.get("framework_id") == fid and status.get("state") not in TERMINAL]

    def remove_agent(self, agent_id: str, message: str) -> Agent | None:
        """Forget agent `agent_id` (Master::removeSlave); its live tasks end for their
        frameworks as Master::__removeSlave sends it without an unreachable time:
        TASK_GONE_BY_OPERATOR (REASON_SLAVE_REMOVED_BY_OPERATOR) for a PARTITION_AWARE
        framework, TASK_LOST (REASON_SLAVE_REMOVED) for others, with `message`
        (apache/mesos 1.11.0 src/master/master.cpp). None when unknown."""
        with self.lock:
            agent = self.agents.pop(agent_id, None)
            if agent is None:
                return None
            t = now()
            for status in agent.tasks.values():
                fid = str(status.get("framework_id") or "")
                if status.get("state") in TERMINAL or fid not in self.frameworks:
                    continue
                aware = self.frameworks[fid].partition_aware
                state = "TASK_GONE_BY_OPERATOR" if aware else "TASK_LOST"
                reason = "REASON_SLAVE_REMOVED_BY_OPERATOR" if aware else "REASON_SLAVE_REMOVED"
                ended = dict(status, state=state, message=message, timestamp=t,
                             statuses=[*(status.get("statuses") or []),
                                       {"state": state, "timestamp": t, "message": message,
                                        "source": "SOURCE_MASTER", "reason": reason}])
                done = self.completed.setdefault(fid, [])
                done.append(task_json(agent.id, ended))
                del done[:-MAX_COMPLETED_TASKS]
            return agent

    def connected(self, fid: str) -> bool:
        with self.lock:
            fw = self.frameworks.get(fid)
            return fw is not None and fw.connected and not fw.recovered

    def _recover_framework(self, fid: str) -> None:
        if fid and fid not in self.frameworks and fid not in self.removed:
            self.frameworks[fid] = Framework(fid, "", "", "", now(), recovered=True)

    def record_launch(self, framework_id: str, agent_id: str, spec: dict[str, Any]) -> None:
        with self.lock:
            self._recover_framework(framework_id)
            status = dict(spec, framework_id=framework_id, state="TASK_STAGING",
                          timestamp=now())  # fmt: skip
            self.agents[agent_id].tasks[str(spec["id"])] = status

    def expire_agents(self) -> list[Agent]:
        """Mark every agent silent for more than `agent_timeout_s` unreachable (SlaveObserver
        then Master::markUnreachable, apache/mesos 1.11.0 src/master/master.cpp); the agents
        marked now. Upstream pings every --agent_ping_timeout and marks an agent unreachable
        after --max_agent_ping_timeouts pings in a row went unanswered."""
        with self.lock:
            marked, t = [], now()
            for agent in self.agents.values():
                if agent.unreachable_time is None and t - agent.last_seen > self.agent_timeout_s:
                    agent.active, agent.unreachable_time = False, t
                    marked.append(agent)
            return marked

    # -- reads ------------------------------------------------------------------------------

    def counts(self) -> tuple[int, int]:
        """(activated, deactivated) registered agents; unreachable ones are no longer registered
        (Master::__removeSlave) and count in `unreachable()` instead."""
        with self.lock:
            registered = [a for a in self.agents.values() if a.unreachable_time is None]
            active = sum(1 for a in registered if a.active)
            return active, len(registered) - active

    def unreachable(self) -> int:
        """How many agents are marked unreachable (`unreachable_slaves`)."""
        with self.lock:
            return sum(1 for a in self.agents.values() if a.unreachable_time is not None)

    def slaves_json(self, version: str) -> list[dict[str, Any]]:
        with self.lock:
            out = []
            for a in self.agents.values():
                if a.unreachable_time is not None:
                    continue  # `slaves` lists registered agents only (SlavesWriter)
                used: dict[str, Any] = res.zero_scalars()
                for s in a.tasks.values():
                    if s.get("state") not in TERMINAL:
                        used = res.add(used, res.task_resources(s))
                out.append({
                    "id": a.id, "hostname": a.hostname, "port": a.port, "pid": a.pid,
                    "attributes": a.attributes, "registered_time": a.registered_time,
                    "resources": a.resources, "used_resources": used,
                    "offered_resources": res.zero_scalars(), "reserved_resources": {},
                    "unreserved_resources": a.resources, "active": a.active,
                    "version": version, "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE",
                                                         "RESERVATION_REFINEMENT"],
                })  # fmt: skip
            return out

    def frameworks_json(self) -> list[dict[str, Any]]:
        with self.lock:
            by_fw: dict[str, dict[str, list[dict[str, Any]]]] = {
                fid: {"tasks": [], "unreachable_tasks": [], "completed_tasks": []}
                for fid in self.frameworks
            }
            for agent in self.agents.values():
                for status in agent.tasks.values():
                    lists = by_fw.get(str(status.get("framework_id") or ""))
                    if lists is None:
                        continue
                    if agent.unreachable_time is not None and status.get("state") not in TERMINAL:
                        fw = self.frameworks[str(status.get("framework_id"))]
                        lists["unreachable_tasks"].append(
                            task_json(agent.id, _unreachable(status, fw, agent.unreachable_time)))
                        continue
                    task = task_json(agent.id, status)
                    if task["state"] in TERMINAL:
                        lists["completed_tasks"].append(task)
                    else:
                        lists["tasks"].append(task)
            for fid, done in self.completed.items():
                if fid in by_fw:
                    by_fw[fid]["completed_tasks"].extend(done)
            out = []
            for fid, fw in self.frameworks.items():
                used: dict[str, Any] = res.zero_scalars()
                for t in by_fw[fid]["tasks"]:
                    used = res.add(used, t["resources"])
                live = fw.connected and not fw.recovered
                entry: dict[str, Any] = {
                    "id": fid, "name": fw.name,
                    "used_resources": used, "offered_resources": res.zero_scalars(),
                    "capabilities": [], "hostname": fw.hostname, "webui_url": fw.webui_url,
                    "active": live, "connected": live,
                    "recovered": fw.recovered, "user": "root",
                    "failover_timeout": 604800.0, "checkpoint": True,
                    "registered_time": fw.registered_time, "unregistered_time": 0.0,
                    "resources": used, "role": "*", **by_fw[fid],
                    "offers": [], "executors": [],
                }  # fmt: skip
                if fw.pid:
                    entry["pid"] = fw.pid  # Mesos shows `pid` only for pid-based schedulers
                if fw.principal:
                    entry["principal"] = fw.principal  # FrameworkInfo.principal, when set
                out.append(entry)
            return out


def _unreachable(status: dict[str, Any], fw: Framework, at: float) -> dict[str, Any]:
    """`status` after Master::__removeSlave with an unreachable time: TASK_UNREACHABLE for a
    PARTITION_AWARE framework, TASK_LOST otherwise, REASON_SLAVE_REMOVED, SOURCE_MASTER, the
    message "health check timed out" (apache/mesos 1.11.0 src/master/master.cpp)."""
    state = "TASK_UNREACHABLE" if fw.partition_aware else "TASK_LOST"
    update = {"state": state, "timestamp": at, "message": UNREACHABLE_MESSAGE,
              "source": "SOURCE_MASTER", "reason": "REASON_SLAVE_REMOVED",
              "unreachable_time": {"nanoseconds": int(at * 1e9)}}
    return dict(status, state=state, message=UNREACHABLE_MESSAGE, timestamp=at,
                statuses=[*(status.get("statuses") or []), update])
