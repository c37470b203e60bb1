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
from kazoo.exceptions import NoNodeError

from . import BUILD, VERSION, http_auth
from . import flags as flaglib
from . import maintenance as mnt
from . import zk as zklib
from .common import default_ip, die, fatal, ip_as_uint32, now, setup_logging
from .http import Request, Response, call, serve
from .master_auth import MasterAuth, setup
from .master_state import Registry
from .scheduler_link import parse_pid, send_registered

PROGRAM = "mesos-master"


# The registry's maintenance part (machines and schedule), which real Mesos keeps in the
# replicated log so that a new leader recovers it. This stand-in has no replicated log; its
# leader keeps that part in one znode under the --zk path instead (with the URL's ACL), written
# before an operation is answered, read when a master is elected.
REGISTRY_NODE = "standin_registry"


class Master:
    def __init__(self, flags: flaglib.Flags, log: logging.Logger, auth: MasterAuth) -> None:
        self.flags, self.log, self.auth = flags, log, auth
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
        self.registry = Registry(self.id, flaglib.total_ping_timeout_s(flags))
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
        self.maintenance = mnt.Maintenance()  # machines, modes and the schedule

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
        work_dir = Path(self.flags.get("work_dir"))  # validate(): required here
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
        """Join the replicated log's `log_replicas` group, then contend under the zk path.

        Both groups carry the URL's digest credentials and create their znodes with its ACL
        (zk.py). A refusal is fatal the way each group's owner handles it: the log's group
        first (src/master/main.cpp builds the Log before the master contends), so
        src/log/log.cpp `LogProcess::failed` LOG(FATAL)s "Failed to participate in ZooKeeper
        group: ..."; the contender's refusal is src/master/master.cpp `contended`'s
        EXIT(EXIT_FAILURE) "Failed to contend: ..." (apache/mesos 1.11.0).
        """
        url = self.zk_url = zklib.parse_zk_url(zk_flag)
        timeout = flaglib.parse_duration(self.flags.get("zk_session_timeout") or "10secs")
        self.zk = zklib.client(url, timeout)
        self.zk.add_listener(self._on_zk_state)
        self.zk.start(timeout=max(15.0, timeout))
        path = url.path
        replicas = zklib.join(path, "log_replicas")
        replica = f"log-replica(1)@{self.advertise_ip}:{self.advertise_port}".encode()
        try:
            zklib.create_base(self.zk, url, replicas)
            zklib.join_group(self.zk, url, replicas, "", replica)
        except ValueError as exc:
            fatal(self.log, f"Failed to participate in ZooKeeper group: {exc}")
        try:
            zklib.create_base(self.zk, url, path)
            created = zklib.join_group(self.zk, url, path, zklib.JSON_LABEL,
                                       json.dumps(self.master_info()).encode())
        except ValueError as exc:
            die(self.log, f"Failed to contend: {exc}")
        self.my_node = created.rsplit("/", 1)[1]
        self.log.info("Created ZooKeeper member %s (quorum %d)", created, self.quorum)
        self.zk.ChildrenWatch(path, self._on_children)
        self.zk.ChildrenWatch(replicas, self._on_replicas)

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
            self._recover_registry()
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

    def _registry_path(self) -> str:
        assert self.zk_url is not None
        return zklib.join(self.zk_url.path, REGISTRY_NODE)

    def _recover_registry(self) -> None:
        """Elected: recover maintenance from the registry before serving (real Mesos exits
        "Recovery failed: ..." when it cannot: master.cpp `_recover`). No znode yet: nothing
        was ever scheduled."""
        assert self.zk is not None
        try:
            data = self.zk.get(self._registry_path())[0]
        except NoNodeError:
            data = b""
        except Exception as exc:  # noqa: BLE001 - any ZooKeeper failure ends the master
            die(self.log, f"Recovery failed: Failed to recover registrar: {exc}")
        if data:
            self.maintenance.recover(json.loads(data.decode()))
            self.log.info("Recovered maintenance from the registry: %s",
                          json.dumps(self.maintenance.status()))

    def _store_registry(self) -> None:
        """After a maintenance change, before it is answered; the registrar's failure to
        store aborts the master ("Registrar aborting: Failed to update registry"). A master
        without --zk is the only one: its memory is the registry."""
        if self.zk is None or self.zk_url is None:
            return
        data = json.dumps(self.maintenance.registry_entry()).encode()
        try:
            try:
                self.zk.set(self._registry_path(), data)
            except NoNodeError:
                self.zk.create(self._registry_path(), data, acl=self.zk_url.acl, makepath=True)
        except Exception as exc:  # noqa: BLE001 - any ZooKeeper failure ends the master
            die(self.log, f"Registrar aborting: Failed to update registry: {exc}")

    def run(self) -> None:
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            self.evaluate()
            if self.leading:
                for agent in self.registry.expire_agents():
                    self.log.info("Marked agent %s (%s) unreachable: health check timed out",
                                  agent.id, agent.hostname)

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
            "version": VERSION, **BUILD,
            "start_time": self.start_time, "id": self.id, "pid": self.pid,
            "hostname": self.hostname,
            "capabilities": ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
            "activated_slaves": float(active), "deactivated_slaves": float(inactive),
            "unreachable_slaves": float(self.registry.unreachable()),
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
        return Response(200, {"version": VERSION, **BUILD, "standin": True})

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
            "master/slaves_unreachable": float(self.registry.unreachable()),
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
        refusal = self.auth.agent_refusal(body, f"slave(1)@{body['ip']}:{body.get('port')}")
        if refusal is not None:
            # Real Mesos drops the message after this warning; the agent just retries.
            self.log.warning("%s", refusal)
            return Response(403, {"message": refusal})
        machine = {"hostname": str(body.get("hostname") or body["ip"]), "ip": str(body["ip"])}
        if self.maintenance.mode(machine) == mnt.DOWN:
            # Master::registerSlave / reregisterSlave: refused, and told to shut down.
            what = "re-registration" if body.get("id") else "registration"
            self.log.warning("Refusing %s of agent at slave(1)@%s:%s because the machine '%s' "
                             "that it is running on is `DOWN`", what, body["ip"],
                             body.get("port"), mnt.id_text(machine))  # fmt: skip
            return Response(409, {"shutdown": "Machine is `DOWN`"})
        known = body.get("id") in self.registry.agents
        agent_id = self.registry.register_agent(body)
        self.maintenance.agent_added(machine)
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
        refusal = self.auth.framework_refusal(body, str(pid or body.get("pid") or name))
        if refusal is None and str(body.get("id") or "") in self.registry.removed:
            refusal = "Framework has been removed"  # Master::subscribe, a torn-down id
        if refusal is not None:
            self.log.info("Refusing subscription of framework '%s' at %s: %s", name,
                          pid or "(no pid)", refusal)  # fmt: skip
            return Response(403, {"message": refusal})
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
        self.registry.register_framework(fid, body, connected, self.auth.principal(body) or "")
        self.log.info("Registered framework %s (%s)%s %s", fid, name,
                      f" at {pid}" if pid else "",
                      "(connected)" if connected else "(disconnected)")  # fmt: skip
        return Response(200, {"id": fid})

    def _forward(self, req: Request, what: str) -> tuple[Response | None, Any, Any]:
        if (redirect := self._leader_only(req)) is not None:
            return redirect, None, None
        body = req.body if isinstance(req.body, dict) else {}
        agent = self.registry.agents.get(str(body.get("agent_id")))
        refusal = self._sender_refusal(body, what)
        if refusal is not None:
            self.log.warning("%s", refusal)
            return Response(403, {"message": refusal}), None, None
        if agent is None:
            return Response(404, {"message": f"Unknown agent {body.get('agent_id')}"}), None, None
        if not agent.active:
            return Response(409, {"message": f"Agent {agent.id} is not active"}), None, None
        return None, body, agent

    def _sender_refusal(self, body: dict[str, Any], what: str) -> str | None:
        """With --authenticate_frameworks a launch or kill must come from the registered
        (authenticated) framework: its token's principal is the one it registered with. Real
        Mesos checks `framework->pid() == from` (Master::launchTasks, Master::kill)."""
        if not self.auth.frameworks:
            return None
        fid = str(body.get("framework_id") or "")
        principal = self.auth.principal(body)
        if principal is None or principal != self.registry.principal(fid):
            return (f"Ignoring {what} message for framework {fid} because it is not from the "
                    "registered framework (not authenticated)")  # fmt: skip
        return None

    def api_authenticate(self, req: Request) -> Response:
        return self._leader_only(req) or self.auth.start(req)

    def api_authenticate_step(self, req: Request) -> Response:
        return self._leader_only(req) or self.auth.step(req)

    def api_framework_state(self, req: Request) -> Response:
        """`POST /standin/v1/frameworks/state` `{"framework_id", "token"}`: /master/state's body
        for a framework's scheduler. It stands for offers and status updates, libprocess
        messages that real Mesos never HTTP-authenticates, so only the framework's own
        authentication applies (as for launch and kill)."""
        if (redirect := self._leader_only(req)) is not None:
            return redirect
        body = req.body if isinstance(req.body, dict) else {}
        refusal = self._sender_refusal(body, "state")
        if refusal is not None:
            return Response(403, {"message": refusal})
        reply = self.state(req)
        # Offers from an agent on a scheduled machine carry its `unavailability`
        # (Master::offer in src/master/master.cpp); this poll stands for those offers.
        for slave in reply.body["slaves"]:
            unavailability = self.maintenance.unavailability(
                {"hostname": slave["hostname"], "ip": slave["pid"].split("@", 1)[1]
                 .rsplit(":", 1)[0]})
            if unavailability is not None:
                slave["unavailability"] = unavailability
        return reply

    def teardown(self, req: Request) -> Response:
        """POST /master/teardown `frameworkId=<id>` (form): the framework is removed, its tasks
        killed, its id refused from then on (src/master/http.cpp `teardown`)."""
        if (redirect := self._leader_only(req)) is not None:
            return redirect
        values = req.form.get("frameworkId") or []
        if not values:
            return Response(400, "Missing 'frameworkId' query parameter in the request body")
        fid = values[0]
        tasks = self.registry.remove_framework(fid)
        if tasks is None:
            return Response(400, "No framework found with specified ID")
        for agent, task_id in tasks:
            try:
                call("POST", f"http://{agent.ip}:{agent.port}/standin/v1/kill",
                     {"framework_id": fid, "task_id": task_id}, timeout=30)  # fmt: skip
            except OSError as exc:
                self.log.warning("Failed to kill task %s on agent %s: %s", task_id, agent.id, exc)
        self.log.info("Removed framework %s (teardown)", fid)
        return Response(200, "")

    def maintenance_schedule(self, req: Request) -> Response:
        """GET/POST /master/maintenance/schedule: the schedule as `JSON::protobuf(Schedule)`
        (`{}` when none); a POST replaces it after validation: new machines start DRAINING,
        machines left out go back UP, a DOWN machine may not be left out; 400 with Mesos's
        text otherwise (src/master/http.cpp `maintenanceSchedule`, src/master/maintenance.cpp).
        """
        if (redirect := self._leader_only(req)) is not None:
            return redirect
        if req.method == "GET":
            return Response(200, self.maintenance.schedule)
        try:
            self.maintenance.update_schedule(mnt.parse_schedule(req.body))
        except mnt.Refused as exc:
            return Response(400, str(exc))
        self._store_registry()
        self.log.info("Updated the maintenance schedule: %s", json.dumps(self.maintenance.schedule))
        return Response(200, "")

    def machine_down(self, req: Request) -> Response:
        """POST /master/machine/down `[MachineID...]`: only DRAINING machines go DOWN; each
        agent there is told to shut down ("Operator initiated 'Machine DOWN'") and removed at
        once, so its tasks end for their frameworks (src/master/http.cpp `_startMaintenance`)."""
        if (redirect := self._leader_only(req)) is not None:
            return redirect
        if req.method != "POST":
            return Response(405, f"Expecting one of {{ 'POST' }}, but received '{req.method}'",
                            {"Allow": "POST"})  # fmt: skip
        try:
            ids = mnt.parse_machine_ids(req.body)
            self.maintenance.down(ids)
        except mnt.Refused as exc:
            return Response(400, str(exc))
        self._store_registry()
        keys = {mnt.key_of(m) for m in ids}
        message = "Operator initiated 'Machine DOWN'"
        for agent in list(self.registry.agents.values()):
            if mnt.key_of({"hostname": agent.hostname, "ip": agent.ip}) not in keys:
                continue
            threading.Thread(target=self._shutdown_agent, args=(agent.ip, agent.port, message),
                             daemon=True).start()  # fmt: skip
            self.registry.remove_agent(agent.id, message)
            self.log.info("Removed agent %s at %s (%s): %s", agent.id, agent.pid, agent.hostname,
                          message)  # fmt: skip
        return Response(200, "")

    def _shutdown_agent(self, ip: str, port: int, message: str) -> None:
        """The ShutdownMessage: sent once, not retried (the agent's next re-registration is
        refused with another one while its machine is DOWN)."""
        try:
            call("POST", f"http://{ip}:{port}/standin/v1/shutdown", {"message": message},
                 timeout=5)  # fmt: skip
        except OSError as exc:
            self.log.warning("Failed to send ShutdownMessage to slave(1)@%s:%d: %s", ip, port, exc)

    def machine_up(self, req: Request) -> Response:
        """POST /master/machine/up `[MachineID...]`: only DOWN machines; UP again and out of
        the schedule (src/master/http.cpp `_stopMaintenance`)."""
        if (redirect := self._leader_only(req)) is not None:
            return redirect
        if req.method != "POST":
            return Response(405, f"Expecting one of {{ 'POST' }}, but received '{req.method}'",
                            {"Allow": "POST"})  # fmt: skip
        try:
            self.maintenance.up(mnt.parse_machine_ids(req.body))
        except mnt.Refused as exc:
            return Response(400, str(exc))
        self._store_registry()
        return Response(200, "")

    def maintenance_status(self, req: Request) -> Response:
        """GET /master/maintenance/status: `ClusterStatus` (src/master/http.cpp)."""
        return self._leader_only(req) or Response(200, self.maintenance.status())

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
        """Every endpoint, behind the HTTP realm real Mesos routes it with (master.cpp
        `route(...)`; /metrics/snapshot is libprocess's, in the read-only realm).
        /health, /redirect and /version are never authenticated; the /standin/v1 calls stand
        for libprocess messages, which are never HTTP-authenticated."""
        health = lambda _r: Response(200, "")  # noqa: E731
        ro = lambda h: self.auth.http.protect(http_auth.MASTER_READONLY, h)  # noqa: E731
        rw = lambda h: self.auth.http.protect(http_auth.MASTER_READWRITE, h)  # noqa: E731
        routes: dict[tuple[str, str], Any] = {
            ("GET", "/health"): health, ("GET", "/master/health"): health,
            ("GET", "/redirect"): self.redirect, ("GET", "/master/redirect"): self.redirect,
            ("GET", "/version"): self.version, ("GET", "/metrics/snapshot"): ro(self.metrics),
            ("POST", "/standin/v1/authenticate"): self.api_authenticate,
            ("POST", "/standin/v1/authenticate/step"): self.api_authenticate_step,
            ("POST", "/standin/v1/agents/register"): self.api_register_agent,
            ("POST", "/standin/v1/frameworks/register"): self.api_register_framework,
            ("POST", "/standin/v1/frameworks/state"): self.api_framework_state,
            ("POST", "/standin/v1/launch"): self.api_launch,
            ("POST", "/standin/v1/kill"): self.api_kill,
        }  # fmt: skip
        for name, handler in (("state", self.state), ("frameworks", self.frameworks),
                              ("slaves", self.slaves)):  # fmt: skip
            for path in (f"/master/{name}", f"/{name}"):
                routes[("GET", path)] = ro(self.leader_only(handler))
        for path in ("/master/teardown", "/teardown"):
            routes[("POST", path)] = rw(self.teardown)
        for prefix in ("/master", ""):
            for method in ("GET", "POST"):
                routes[(method, f"{prefix}/maintenance/schedule")] = rw(self.maintenance_schedule)
                routes[(method, f"{prefix}/machine/down")] = rw(self.machine_down)
                routes[(method, f"{prefix}/machine/up")] = rw(self.machine_up)
            routes[("GET", f"{prefix}/maintenance/status")] = ro(self.maintenance_status)
        return routes


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
    master = Master(flags, log, setup(flags, log))
    # src/master/main.cpp: only the replicated_log registry opens <work_dir>/replicated_log;
    # --registry=in_memory keeps the registry in memory and writes nothing there.
    if flags.get("registry") == "replicated_log":
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
