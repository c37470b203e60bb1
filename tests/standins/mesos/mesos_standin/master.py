"""mesos-master STAND-IN: Mesos flag loading, ZooKeeper leader election, documented endpoints.

Election is Mesos's: every master adds an ephemeral sequential `json.info_` znode with its
MasterInfo JSON under the --zk path; the lowest sequence leads. The replicated log is replaced by
a rule: the lowest member only leads while at least --quorum masters are registered.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient, KazooState

from . import VERSION
from . import flags as flaglib
from . import zk as zklib
from .common import BUILD_TIME, default_ip, die, ip_as_uint32, now, setup_logging
from .http import Request, Response, call, serve
from .master_state import Registry
from .scheduler_link import parse_pid, send_registered

PROGRAM = "mesos-master"


class Master:
    def __init__(self, flags: flaglib.Flags, log: logging.Logger) -> None:
        self.flags, self.log = flags, log
        self.ip = flags.get("ip") or default_ip()
        self.advertise_ip = flags.get("advertise_ip") or self.ip
        self.port = int(flags.get("port") or 5050)
        self.advertise_port = int(flags.get("advertise_port") or self.port)
        self.hostname = flags.get("hostname") or (
            os.uname().nodename if flags.boolean("hostname_lookup") else self.advertise_ip
        )
        self.id = str(uuid.uuid4())
        self.pid = f"master@{self.advertise_ip}:{self.advertise_port}"
        self.start_time = now()
        self.elected_time: float | None = None
        self.quorum = int(flags.get("quorum") or 1)
        self.registry = Registry(self.id)
        self.zk: KazooClient | None = None
        self.zk_url: zklib.ZkUrl | None = None
        self.my_node: str | None = None
        self.leader: dict[str, Any] | None = None  # MasterInfo of the current leader
        self.leading = False
        self.ensemble_size = 0
        self._wake = threading.Event()
        self._zk_state = KazooState.CONNECTED
        self._suspended_at: float | None = None
        self._quorum_lost_at: float | None = None

    # -- MasterInfo -----------------------------------------------------------------------

    def master_info(self) -> dict[str, Any]:
        """JSON::protobuf(MasterInfo): the znode content (src/master/contender/zookeeper.cpp)."""
        return {
            "id": self.id,
            "ip": ip_as_uint32(self.advertise_ip),
            "port": self.advertise_port,
            "pid": self.pid,
            "hostname": self.hostname,
            "version": VERSION,
            "address": {"hostname": self.hostname, "ip": self.advertise_ip,
                        "port": self.advertise_port},
            "capabilities": [{"type": "AGENT_UPDATE"}, {"type": "AGENT_DRAINING"},
                             {"type": "QUOTA_V2"}],
        }  # fmt: skip

    # -- start-up -----------------------------------------------------------------------------

    def prepare_work_dir(self) -> None:
        """Create <work_dir>/replicated_log like Mesos's LevelDB log, so the deploy's data-safety
        checks (never wipe a populated log) see a real, non-empty directory."""
        work_dir = Path(self.flags.get("work_dir") or "")
        log_dir = work_dir / "replicated_log"
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            die(self.log, f"Failed to create work directory '{work_dir}': {exc}")
        marker = log_dir / "STANDIN-REPLICA"
        if not marker.exists():
            marker.write_text(json.dumps({"created": now(), "quorum": self.quorum,
                                          "standin": True}) + "\n")  # fmt: skip
        (log_dir / "CURRENT").write_text("MANIFEST-000001\n")

    def start_zookeeper(self, zk_flag: str) -> None:
        self.zk_url = zklib.parse_zk_url(zk_flag)
        timeout = flaglib.parse_duration(self.flags.get("zk_session_timeout") or "10secs")
        self.zk = KazooClient(hosts=self.zk_url.servers, timeout=timeout)
        self.zk.add_listener(self._on_zk_state)
        self.zk.start(timeout=max(15.0, timeout))
        path = self.zk_url.path
        self.zk.ensure_path(path)
        # Log replicas register under <path>/log_replicas like Mesos's replicated log.
        self.zk.ensure_path(zklib.join(path, "log_replicas"))
        self.zk.create(
            zklib.join(path, "log_replicas") + "/",
            f"log-replica(1)@{self.advertise_ip}:{self.advertise_port}".encode(),
            ephemeral=True, sequence=True,
        )  # fmt: skip
        created = self.zk.create(
            zklib.join(path, zklib.JSON_LABEL + "_"),
            json.dumps(self.master_info()).encode(),
            ephemeral=True, sequence=True,
        )  # fmt: skip
        self.my_node = created.rsplit("/", 1)[1]
        self.log.info("Created ZooKeeper member %s (quorum %d)", created, self.quorum)
        self.zk.ChildrenWatch(path, self._on_children)
        self.zk.ChildrenWatch(zklib.join(path, "log_replicas"), self._on_replicas)

    def _on_zk_state(self, state: str) -> None:
        # Runs in kazoo's thread: only record, the main loop decides.
        self._zk_state = state
        if state == KazooState.SUSPENDED and self._suspended_at is None:
            self._suspended_at = time.monotonic()
        elif state == KazooState.CONNECTED:
            self._suspended_at = None
        self._wake.set()

    def _on_children(self, _children: list[str]) -> None:
        self._wake.set()

    def _on_replicas(self, children: list[str]) -> None:
        self.ensemble_size = len(children)

    # -- election -----------------------------------------------------------------------------

    def evaluate(self) -> None:
        """Re-read the members and decide who leads (called from the main loop only)."""
        if self.zk is None or self.zk_url is None:
            return
        if self._zk_state == KazooState.LOST:
            die(self.log, "Lost candidacy in ZooKeeper cluster (session expired)")
        if self._zk_state != KazooState.CONNECTED:
            timeout = flaglib.parse_duration(self.flags.get("zk_session_timeout") or "10secs")
            if self.leading and self._suspended_at is not None:
                if time.monotonic() - self._suspended_at > timeout:
                    die(self.log, "Lost leadership... committing suicide!")
            return
        path = self.zk_url.path
        try:
            children = self.zk.get_children(path)
        except Exception as exc:  # noqa: BLE001 - connection trouble; retry next round
            self.log.warning("Failed to list %s: %s", path, exc)
            return
        if self.my_node not in children:
            die(self.log, "Lost candidacy in ZooKeeper cluster (membership cancelled)")
        registered = len(zklib.json_members(children))
        lowest = zklib.leader_node(children)
        has_quorum = registered >= self.quorum
        leader = zklib.read_master_info(self.zk, path, lowest) if lowest and has_quorum else None
        if self.leading:
            if lowest != self.my_node:
                die(self.log, "Lost leadership... committing suicide!")
            if not has_quorum:
                # The real log cannot write without a quorum; the registrar aborts the master.
                self._quorum_lost_at = self._quorum_lost_at or time.monotonic()
                limit = flaglib.parse_duration(self.flags.get("registry_store_timeout") or "20secs")
                if time.monotonic() - self._quorum_lost_at > limit:
                    die(self.log, f"Registrar aborting: only {registered} of quorum "
                                  f"{self.quorum} masters registered")  # fmt: skip
                return
            self._quorum_lost_at = None
            return
        if lowest == self.my_node and has_quorum:
            self.leading, self.elected_time, self.leader = True, now(), self.master_info()
            self.log.info("Elected as the leading master! (%d of quorum %d registered)",
                          registered, self.quorum)  # fmt: skip
            return
        if (leader or {}).get("pid") != (self.leader or {}).get("pid"):
            self.log.info(
                "The newly elected leader is %s",
                (leader or {}).get("pid", "None (no quorum or no members)"),
            )
        self.leader = leader

    def run(self) -> None:
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            self.evaluate()
            if self.leading:
                self.registry.expire_agents()

    # -- HTTP ---------------------------------------------------------------------------------

    def leader_address(self) -> tuple[str, int] | None:
        """(ip, port) of the leader, for calls between stand-ins."""
        info = self.leader
        if not info:
            return None
        addr = info.get("address") or {}
        return str(addr.get("ip") or addr.get("hostname")), int(addr.get("port") or info["port"])

    def leader_base(self) -> str | None:
        """`//<leader hostname>:<port>`: where Master::Http::redirect sends clients
        (MasterInfo.hostname, not the ip; apache/mesos 1.11.0 src/master/http.cpp)."""
        info = self.leader
        if not info:
            return None
        hostname = info.get("hostname") or (info.get("address") or {}).get("ip")
        return f"//{hostname}:{info['port']}"

    def state(self, _req: Request) -> Response:
        active, inactive = self.registry.counts()
        body: dict[str, Any] = {
            "version": VERSION, "git_sha": "standin", "git_tag": VERSION,
            "build_date": "2020-09-13 12:26:40", "build_time": BUILD_TIME, "build_user": "standin",
            "start_time": self.start_time, "id": self.id, "pid": self.pid,
            "hostname": self.hostname,
            "capabilities": ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
            "activated_slaves": float(active), "deactivated_slaves": float(inactive),
            "unreachable_slaves": 0.0,
            "cluster": self.flags.get("cluster") or "",
            "flags": self.flags.effective(),
            "slaves": self.registry.slaves_json(VERSION) if self.leading else [],
            "recovered_slaves": [],
            "frameworks": self.registry.frameworks_json() if self.leading else [],
            "completed_frameworks": [], "orphan_tasks": [], "unregistered_frameworks": [],
        }  # fmt: skip
        if self.elected_time is not None:
            body["elected_time"] = self.elected_time
        if self.leader:
            body["leader"] = self.leader["pid"]
            body["leader_info"] = {k: self.leader[k] for k in ("id", "pid", "port", "hostname")}
        if not body["cluster"]:
            del body["cluster"]  # Mesos omits unset optional fields
        return Response(200, body)

    def redirect(self, _req: Request) -> Response:
        """/redirect and /master/redirect: 307 to the leader's base URL, 503 without one."""
        base = self.leader_base()
        if base is None:
            self.log.warning("Current master is not elected as leader, and leader information "
                             "is unavailable. Failed to redirect the request url: /redirect")
            return Response(503, "No leader elected")
        return Response(307, None, {"Location": base})

    def version(self, _req: Request) -> Response:
        return Response(200, {"version": VERSION, "git_tag": VERSION, "git_sha": "standin",
                              "build_date": "2020-09-13 12:26:40", "build_time": BUILD_TIME,
                              "build_user": "standin", "standin": True})  # fmt: skip

    def metrics(self, _req: Request) -> Response:
        active, inactive = self.registry.counts()
        connected = sum(1 for fid in list(self.registry.frameworks)
                        if self.registry.connected(fid))
        return Response(200, {
            "master/elected": 1.0 if self.leading else 0.0,
            "master/uptime_secs": now() - self.start_time,
            "master/slaves_active": float(active),
            "master/slaves_inactive": float(inactive),
            "master/slaves_connected": float(active),
            "master/slaves_disconnected": float(inactive),
            "master/frameworks_active": float(connected),
            "master/frameworks_connected": float(connected),
            "master/frameworks_disconnected": float(len(self.registry.frameworks) - connected),
            "registrar/log/recovered": 1.0 if self.leading else 0.0,
            "registrar/log/ensemble_size": float(self.ensemble_size or 1),
        })  # fmt: skip

    def _leader_only(self, req: Request) -> Response | None:
        """None on the leader; elsewhere what `if (!master->elected()) return redirect(request)`
        answers: 307 to `//<leader hostname>:<port><path>[?query]`, or 503 "No leader elected".

        The path is the one libprocess hands the master process: `/state` is delegated to
        `/master/state` (3rdparty/libprocess/src/process.cpp). Stand-in API paths stay as sent.
        """
        if self.leading:
            return None
        base = self.leader_base()
        if base is None:
            self.log.warning("Current master is not elected as leader, and leader information "
                             "is unavailable. Failed to redirect the request url: %s", req.path)
            return Response(503, "No leader elected")
        path = req.path.rstrip("/") or "/"
        if not path.startswith(("/master/", "/standin/")):
            path = "/master" + path
        location = base + path + (f"?{req.raw_query}" if req.raw_query else "")
        self.log.info("Redirecting request for %s to the leading master %s", req.path, base[2:])
        return Response(307, None, {"Location": location})

    def leader_only(self, handler: Any) -> Any:
        """Wrap a read endpoint so a non-leader redirects instead of answering."""
        def wrapped(req: Request) -> Response:
            return self._leader_only(req) or handler(req)
        return wrapped

    def frameworks(self, _req: Request) -> Response:
        """GET /master/frameworks (src/master/http.cpp `frameworks`)."""
        return Response(200, {"frameworks": self.registry.frameworks_json(),
                              "completed_frameworks": [], "unregistered_frameworks": []})

    def slaves(self, _req: Request) -> Response:
        """GET /master/slaves (src/master/http.cpp `slaves`)."""
        return Response(200, {"slaves": self.registry.slaves_json(VERSION),
                              "recovered_slaves": []})

    def api_register_agent(self, req: Request) -> Response:
        if (redirect := self._leader_only(req)) is not None:
            return redirect
        body = req.body if isinstance(req.body, dict) else {}
        if not body.get("ip"):
            return Response(400, {"message": "Missing 'ip'"})
        known = body.get("id") in self.registry.agents
        agent_id = self.registry.register_agent(body)
        if not known:
            self.log.info("Registered agent %s at slave(1)@%s:%s", agent_id, body["ip"],
                          body.get("port"))  # fmt: skip
        return Response(200, {"id": agent_id})

    def api_register_framework(self, req: Request) -> Response:
        """Record the framework, then try to reach its scheduler at the advertised `pid`
        (scheduler_link): connected only if that call succeeds, as with libprocess."""
        if (redirect := self._leader_only(req)) is not None:
            return redirect
        body = req.body if isinstance(req.body, dict) else {}
        name = str(body.get("name") or "")
        pid = None
        if body.get("pid"):
            pid = parse_pid(str(body["pid"]))
            if pid is None:
                return Response(400, {"message": f"Invalid 'pid' {body['pid']!r}: expected "
                                                 "scheduler-<id>@<ip>:<port>"})  # fmt: skip
        fid = self.registry.framework_id_for(body)
        connected = False
        if pid is None:
            self.log.warning("Framework %s (%s) registered without a scheduler pid: the master "
                             "cannot reach it, so it stays disconnected and gets no offers",
                             fid, name)  # fmt: skip
        else:
            problem = send_registered(pid, fid, f"{self.advertise_ip}:{self.advertise_port}")
            connected = problem is None
            if problem is not None:
                self.log.warning("%s", problem)
                self.log.info("Framework %s (%s) at %s disconnected", fid, name, pid)
        self.registry.register_framework(fid, body, connected)
        self.log.info("Registered framework %s (%s)%s %s", fid, name,
                      f" at {pid}" if pid else "",
                      "(connected)" if connected else "(disconnected)")  # fmt: skip
        return Response(200, {"id": fid})

    def _forward(self, req: Request, what: str) -> tuple[Response | None, Any, Any]:
        if (redirect := self._leader_only(req)) is not None:
            return redirect, None, None
        body = req.body if isinstance(req.body, dict) else {}
        agent = self.registry.agents.get(str(body.get("agent_id")))
        if agent is None:
            return Response(404, {"message": f"Unknown agent {body.get('agent_id')}"}), None, None
        if not agent.active:
            return Response(409, {"message": f"Agent {agent.id} is not active"}), None, None
        return None, body, agent

    def api_launch(self, req: Request) -> Response:
        early, body, agent = self._forward(req, "launch")
        if early is not None:
            return early
        fid = str(body.get("framework_id") or "")
        if not self.registry.connected(fid):
            # Real Mesos sends offers only to a connected framework, so nothing can be launched
            # for one it could not reach (src/master/master.cpp: offers need connected()).
            return Response(409, {"message": f"Framework {fid!r} is not connected: the master "
                                             "could not reach its scheduler at the pid it "
                                             "registered with (or it sent none), so it gets no "
                                             "offers"})  # fmt: skip
        spec = body.get("task")
        if not isinstance(spec, dict) or not spec.get("id"):
            return Response(400, {"message": "Missing 'task' with an 'id'"})
        self.registry.record_launch(fid, agent.id, spec)
        try:
            status, reply, _ = call("POST", f"http://{agent.ip}:{agent.port}/standin/v1/launch",
                                    dict(spec, framework_id=fid), timeout=10)  # fmt: skip
        except OSError as exc:
            return Response(502, {"message": f"Agent {agent.id} unreachable: {exc}"})
        return Response(202 if status == 202 else status, reply)

    def api_kill(self, req: Request) -> Response:
        early, body, agent = self._forward(req, "kill")
        if early is not None:
            return early
        payload = {"framework_id": body.get("framework_id"), "task_id": body.get("task_id")}
        try:
            status, reply, _ = call("POST", f"http://{agent.ip}:{agent.port}/standin/v1/kill",
                                    payload, timeout=30)  # fmt: skip
        except OSError as exc:
            return Response(502, {"message": f"Agent {agent.id} unreachable: {exc}"})
        return Response(202 if status == 202 else status, reply)

    def routes(self) -> dict[tuple[str, str], Any]:
        health = lambda _r: Response(200, "")  # noqa: E731
        return {
            ("GET", "/master/state"): self.leader_only(self.state),
            ("GET", "/state"): self.leader_only(self.state),
            ("GET", "/master/frameworks"): self.leader_only(self.frameworks),
            ("GET", "/frameworks"): self.leader_only(self.frameworks),
            ("GET", "/master/slaves"): self.leader_only(self.slaves),
            ("GET", "/slaves"): self.leader_only(self.slaves),
            ("GET", "/health"): health, ("GET", "/master/health"): health,
            ("GET", "/redirect"): self.redirect, ("GET", "/master/redirect"): self.redirect,
            ("GET", "/version"): self.version, ("GET", "/metrics/snapshot"): self.metrics,
            ("POST", "/standin/v1/agents/register"): self.api_register_agent,
            ("POST", "/standin/v1/frameworks/register"): self.api_register_framework,
            ("POST", "/standin/v1/launch"): self.api_launch,
            ("POST", "/standin/v1/kill"): self.api_kill,
        }  # fmt: skip


def validate(flags: flaglib.Flags, log: logging.Logger) -> None:
    """The start-up checks of src/master/main.cpp that the deploy relies on."""
    if flags.get("registry") == "replicated_log" and flags.get("work_dir") is None:
        die(log, "--work_dir needed for replicated log based registry")
    if flags.get("zk") is not None and flags.get("quorum") is None:
        die(log, "Need to specify --quorum for replicated log based registry when using ZooKeeper")
    for name in ("port", "quorum"):
        value = flags.get(name)
        if value is not None and not value.isdigit():
            die(log, f"Failed to load flag '{name}': Failed to convert '{value}' to integer")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    flags = flaglib.load_for_run(PROGRAM, "master", args, VERSION)
    if flags is None:
        return 0
    log = setup_logging(PROGRAM)
    validate(flags, log)
    master = Master(flags, log)
    master.prepare_work_dir()
    try:
        serve(master.ip, master.port, master.routes())
    except OSError as exc:
        die(log, f"Failed to initialize: Failed to bind on {master.ip}:{master.port}: {exc}")
    log.info("Master %s (%s) started on %s:%d", master.id, master.hostname, master.ip, master.port)
    zk_flag = flags.get("zk")
    if zk_flag is None:
        # No ZooKeeper: a standalone master leads at once (Mesos's StandaloneMasterContender).
        master.leading, master.elected_time, master.leader = True, now(), master.master_info()
        log.info("Elected as the leading master! (standalone)")
    else:
        try:
            master.start_zookeeper(zk_flag)
        except Exception as exc:  # noqa: BLE001 - any ZooKeeper start-up failure is fatal
            die(log, f"Failed to join ZooKeeper group: {exc}")
    master.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
