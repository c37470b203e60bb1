"""mesos-agent STAND-IN: Mesos flag loading, checkpointed agent info, registration with the
leading master (found through ZooKeeper like Mesos's detector), Docker tasks."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kazoo.client import KazooClient

from . import BUILD, VERSION, agent_auth, http_auth, systemd_init
from . import compatibility as compat
from . import flags as flaglib
from . import resources as res
from . import zk as zklib
from .common import default_ip, die, now, setup_logging
from .docker import Docker
from .http import Request, Response, call, serve
from .master_state import TERMINAL, task_json
from .tasks import Tasks

PROGRAM = "mesos-agent"
HEARTBEAT_S = 2.0  # CONTRACTS.md: agents (re-)register every 2 s


class Agent:
    def __init__(self, flags: flaglib.Flags, log: logging.Logger,
                 auth: agent_auth.AgentAuth) -> None:
        self.flags, self.log, self.auth = flags, log, auth
        # The token of the master we authenticated with, and that master's URL.
        self.token: str | None = None
        self.token_for: str | None = None
        self.refused = False  # the last registration was refused (log once per streak)
        self._shutdown_lock = threading.Lock()
        self._shutting_down = False
        self.work_dir = Path(flags.get("work_dir") or "")
        self.ip = flags.get("ip") or default_ip()
        self.advertise_ip = flags.get("advertise_ip") or self.ip
        self.port = int(flags.get("port") or 5051)
        self.hostname = flags.get("hostname") or (
            os.uname().nodename if flags.boolean("hostname_lookup") else self.advertise_ip
        )
        self.resources = res.agent_resources(flags.get("resources"), str(self.work_dir))
        self.attributes = res.parse_attributes(flags.get("attributes"))
        self.domain = _domain(flags.get("domain"))
        self.id: str | None = None
        self.start_time = now()
        self.master_pid: str | None = None
        self.master_url: str | None = None  # http://ip:port of the leader we talk to
        self.zk: KazooClient | None = None
        self.zk_path = "/"
        self.configured_url: str | None = None  # --master host:port, to fall back to
        containerizers = (flags.get("containerizers") or "mesos").split(",")
        docker = None
        if "docker" in containerizers:
            docker = Docker(flags.get("docker") or "docker",
                            flags.get("docker_socket") or "/var/run/docker.sock")  # fmt: skip
        self.docker = docker
        self.tasks = Tasks(
            docker, log, str(self.resources.get("ports") or ""),
            flaglib.parse_duration(flags.get("executor_registration_timeout") or "1mins"),
            flags.boolean("cgroups_enable_cfs"),
        )  # fmt: skip

    # -- checkpoint ---------------------------------------------------------------------------

    @property
    def latest(self) -> Path:
        return self.work_dir / "meta" / "slaves" / "latest"

    def info(self) -> dict[str, Any]:
        return compat.slave_info(self.hostname, self.port, self.domain, self.resources,
                                 self.attributes)  # fmt: skip

    def recover_checkpoint(self) -> None:
        """Reuse the checkpointed agent ID if --reconfiguration_policy allows the change."""
        info_path = self.latest / "slave.info"
        if not info_path.exists():
            return
        old = json.loads(info_path.read_text())
        policy = self.flags.get("reconfiguration_policy") or "equal"
        problem = compat.check(policy, old, self.info())
        if problem is not None:
            die(self.log, compat.recovery_failure(problem, str(self.latest)))
        self.id = str(old["id"])
        self.log.info("Recovered agent ID %s from %s", self.id, info_path)

    def checkpoint(self) -> None:
        assert self.id is not None
        slaves = self.work_dir / "meta" / "slaves"
        target = slaves / self.id
        target.mkdir(parents=True, exist_ok=True)
        info = dict(self.info(), id=self.id)
        tmp = target / "slave.info.tmp"
        tmp.write_text(json.dumps(info, sort_keys=True, indent=1) + "\n")
        tmp.replace(target / "slave.info")
        # `latest` is a symlink to the agent's dir, as in Mesos (`rm -f .../latest` resets it).
        if not self.latest.is_symlink():
            self.latest.symlink_to(self.id)

    # -- master detection ---------------------------------------------------------------------

    def start_detector(self, master: str) -> None:
        master = zklib.read_value(master)
        if master.startswith("zk://"):
            url = zklib.parse_zk_url(master)
            self.zk_path = url.path
            self.zk = zklib.client(url, 10.0)
            self.zk.start(timeout=30)
            # The detector's group creates its base path too (src/zookeeper/group.cpp `create`
            # runs for every group), with the URL's ACL; reading needs no credentials because
            # the masters' znodes are world-readable. A refusal fails detection, which
            # src/slave/slave.cpp `detected` turns into EXIT(EXIT_FAILURE).
            try:
                zklib.create_base(self.zk, url, url.path)
            except ValueError as exc:
                die(self.log, f"Failed to detect a master: {exc}")
        else:
            self.master_url = "http://" + master.removeprefix("http://").rstrip("/")
            self.configured_url = self.master_url

    def detect(self) -> str | None:
        """URL of the leading master: the lowest json.info_/info_ member's address."""
        if self.zk is None:
            return self.master_url
        try:
            children = self.zk.get_children(self.zk_path) if self.zk.exists(self.zk_path) else []
        except Exception:  # noqa: BLE001 - ZooKeeper unreachable: keep the last leader
            return self.master_url
        node = zklib.leader_node(children)
        info = zklib.read_master_info(self.zk, self.zk_path, node) if node else None
        if not info:
            return None
        addr = info.get("address") or {}
        return f"http://{addr.get('ip') or addr.get('hostname')}:{addr.get('port') or info['port']}"

    # -- registration -------------------------------------------------------------------------

    def register_once(self) -> None:
        url = self.detect()
        if url is None:
            if self.master_pid is not None:
                self.log.info("Lost the leading master; waiting for a new one")
            self.master_pid = None
            return
        if self.auth.credential is not None and self.token_for != url:
            # A newly detected master: authenticate before registering (Slave::detected).
            self.token = agent_auth.authenticate(self.auth, url, self.log)
            self.token_for = url if self.token is not None else None
            if self.token is None:
                return
        elif self.auth.credential is None and self.master_pid is None and not self.refused:
            self.log.info("No credentials provided. Attempting to register without "
                          "authentication")  # fmt: skip
        body = {"id": self.id, "hostname": self.hostname, "ip": self.advertise_ip,
                "port": self.port, "resources": self.resources, "attributes": self.attributes,
                "tasks": self.tasks.snapshot(), "token": self.token}  # fmt: skip
        for _ in range(2):  # follow one 307 from a non-leading master
            status, reply, headers = call("POST", url + "/standin/v1/agents/register", body)
            if status == 307 and headers.get("Location"):
                loc = urlsplit(headers["Location"])
                url = f"http://{loc.netloc}"
                continue
            break
        if isinstance(reply, dict) and reply.get("shutdown"):
            # The master refused us with a ShutdownMessage (our machine is DOWN).
            self.shutdown(f"master@{urlsplit(url).netloc}", str(reply["shutdown"]))
            return
        if status == 403:
            # Dropped as not authenticated: retried; a master that forgot our token (a
            # restart at the same address) is authenticated with again, as after detection.
            if not self.refused:
                self.log.warning("Master at %s refused the registration: %s", url,
                                 (reply or {}).get("message") if isinstance(reply, dict)
                                 else reply)  # fmt: skip
            self.refused, self.master_pid, self.token_for = True, None, None
            return
        self.refused = False
        if status != 200 or not isinstance(reply, dict) or not reply.get("id"):
            if self.master_pid is not None:
                self.log.warning("Master at %s answered %s: %s", url, status, reply)
            self.master_pid = None
            return
        pid = f"master@{urlsplit(url).netloc}"
        if self.id is None:
            self.id = str(reply["id"])
            self.tasks.agent_id = self.id
            self.checkpoint()
            self.log.info("Registered with master %s; given agent ID %s", pid, self.id)
        elif pid != self.master_pid:
            self.log.info("Re-registered with master %s as agent %s", pid, self.id)
        self.master_pid, self.master_url = pid, url if self.zk is None else self.master_url

    def shutdown(self, sender: str, message: str) -> None:
        """Slave::shutdown then finalize (apache/mesos 1.11.0 src/slave/slave.cpp): every
        framework's executors are shut down (their tasks killed within
        --executor_shutdown_grace_period), then the agent terminates and main() returns
        EXIT_SUCCESS. The checkpoint stays: a restarted agent recovers and asks again (and is
        refused again while its machine is DOWN)."""
        with self._shutdown_lock:
            if self._shutting_down:
                return
            self._shutting_down = True
        self.log.info("Agent asked to shut down by %s because '%s'", sender, message)
        grace = int(flaglib.parse_duration(
            self.flags.get("executor_shutdown_grace_period") or "5secs"))
        live = [t["id"] for t in self.tasks.snapshot() if t.get("state") not in TERMINAL]
        for task_id in live:
            self.tasks.kill(task_id, grace)
        deadline = time.monotonic() + grace + 30
        while time.monotonic() < deadline:
            if all(t.get("state") in TERMINAL for t in self.tasks.snapshot()):
                break
            time.sleep(0.2)
        self.log.info("Agent terminating")
        sys.stderr.flush()
        os._exit(0)

    def api_shutdown(self, req: Request) -> Response:
        """`POST /standin/v1/shutdown {"message"}`: the master's ShutdownMessage."""
        body = req.body if isinstance(req.body, dict) else {}
        sender = self.master_pid or "master"
        threading.Thread(target=self.shutdown, args=(sender, str(body.get("message") or "")),
                         daemon=True).start()  # fmt: skip
        return Response(202, "")

    def run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                self.register_once()
            except OSError as exc:
                if self.master_pid is not None:
                    self.log.warning("Lost the master: %s", exc)
                self.master_pid = None
                if self.configured_url is not None:
                    self.master_url = self.configured_url  # the leader we followed is gone
            self.tasks.refresh()
            # Retry quickly while no master has us, like Mesos's short initial backoff.
            period = HEARTBEAT_S if self.master_pid else 0.5
            time.sleep(max(0.1, period - (time.monotonic() - started)))

    # -- HTTP -----------------------------------------------------------------------------------

    def state(self, _req: Request) -> Response:
        frameworks: dict[str, dict[str, Any]] = {}
        for t in self.tasks.snapshot():
            fid = str(t.get("framework_id") or "")
            fw = frameworks.setdefault(fid, {
                "id": fid, "name": "", "user": "root", "failover_timeout": 604800.0,
                "checkpoint": True, "hostname": "", "role": "*",
                "executors": [], "completed_executors": [],
            })  # fmt: skip
            task = task_json(self.id or "", t)
            executor = {
                "id": t["id"], "name": f"Command Executor (Task: {t['id']})", "source": t["id"],
                "container": f"mesos-{t['id']}", "role": "*",
                "directory": str(self.work_dir / "slaves" / (self.id or "") / "frameworks" / fid
                                 / "executors" / t["id"] / "runs" / "latest"),
                "resources": task["resources"], "queued_tasks": [],
                "tasks": [] if task["state"] in TERMINAL else [task],
                "completed_tasks": [task] if task["state"] in TERMINAL else [],
            }  # fmt: skip
            key = "completed_executors" if task["state"] in TERMINAL else "executors"
            fw[key].append(executor)
        used: dict[str, Any] = res.zero_scalars()
        for t in self.tasks.snapshot():
            if t.get("state") not in TERMINAL:
                used = res.add(used, res.task_resources(t))
        body = {
            "version": VERSION, **BUILD,
            "start_time": self.start_time, "id": self.id or "",
            "pid": f"slave(1)@{self.advertise_ip}:{self.port}", "hostname": self.hostname,
            "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"],
            "resources": self.resources, "reserved_resources": {},
            "unreserved_resources": self.resources, "reserved_resources_full": {},
            "reserved_resources_allocated": {}, "unreserved_resources_allocated": used,
            "attributes": self.attributes,
            "master_hostname": (self.master_pid or "@:").split("@", 1)[1].rsplit(":", 1)[0],
            "flags": self.flags.effective(),
            "frameworks": list(frameworks.values()), "completed_frameworks": [],
        }  # fmt: skip
        if not self.master_pid:
            del body["master_hostname"]
        return Response(200, body)

    def api_launch(self, req: Request) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        spec = {k: v for k, v in body.items() if k != "framework_id"}
        status, reply = self.tasks.launch(spec, str(body.get("framework_id") or ""))
        return Response(status, reply)

    def api_kill(self, req: Request) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        status, reply = self.tasks.kill(str(body.get("task_id") or ""))
        return Response(status, reply)

    def routes(self) -> dict[tuple[str, str], Any]:
        health = lambda _r: Response(200, "")  # noqa: E731
        version = lambda _r: Response(200, {  # noqa: E731
            "version": VERSION, **BUILD, "standin": True})
        ro = lambda h: self.auth.http.protect(http_auth.AGENT_READONLY, h)  # noqa: E731
        return {
            ("GET", "/state"): ro(self.state), ("GET", "/slave(1)/state"): ro(self.state),
            ("GET", "/health"): health, ("GET", "/version"): version,
            ("POST", "/standin/v1/launch"): self.api_launch,
            ("POST", "/standin/v1/kill"): self.api_kill,
            ("POST", "/standin/v1/shutdown"): self.api_shutdown,
        }  # fmt: skip


def _domain(value: str | None) -> Any:
    """--domain (JSON, or a file:// already read by flag loading) as data; None when unset."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value.strip()


def validate_flags(flags: flaglib.Flags) -> None:
    """Flag-loading errors: printed with the usage line, exit 1 (stout's required flag)."""
    if flags.get("work_dir") is None:
        sys.stderr.write(flaglib.usage(PROGRAM, "Flag 'work_dir' is required, but it was not "
                                                "provided"))  # fmt: skip
        sys.exit(1)


def validate_start(flags: flaglib.Flags, log: logging.Logger) -> None:
    """The EXIT(EXIT_FAILURE) checks of src/slave/main.cpp and Slave::initialize, in order
    (apache/mesos 1.11.0; clusterd v1.11.0-0.6.0 for systemd)."""
    if flags.get("master") is None and flags.get("master_detector") is None:
        die(log, "Missing required option `--master` or `--master_detector`")
    if flags.get("master") is not None and flags.get("master_detector") is not None:
        die(log, "Only one of `--master` or `--master_detector` should be specified")
    problem = systemd_init.initialize_problem(flags, log)
    if problem is not None:
        die(log, f"Failed to initialize systemd: {problem}")
    policy = flags.get("reconfiguration_policy") or "equal"
    if policy not in compat.POLICIES:
        die(log, f"Unknown option for 'reconfiguration_policy' flag {policy}. Please run the "
                 "agent with '--help' to see the valid options.")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    flags = flaglib.load_for_run(PROGRAM, "agent", args, VERSION)
    if flags is None:
        return 0
    validate_flags(flags)
    log = setup_logging(PROGRAM)
    validate_start(flags, log)
    agent = Agent(flags, log, agent_auth.setup(flags, log))
    if agent.docker is not None:
        # Mesos cannot create its DockerContainerizer without a daemon and refuses to start.
        problem = agent.docker.check()
        if problem is not None:
            die(log, "Failed to create a containerizer: Could not create DockerContainerizer: "
                     f"Failed to create docker: {problem} (is Docker running?)")  # fmt: skip
    try:
        agent.work_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        die(log, f"Failed to create work directory '{agent.work_dir}': {exc}")
    agent.recover_checkpoint()
    agent.tasks.agent_id = agent.id
    agent.tasks.recover(agent.id)
    try:
        serve(agent.ip, agent.port, agent.routes())
    except OSError as exc:
        die(log, f"Failed to initialize: Failed to bind on {agent.ip}:{agent.port}: {exc}")
    log.info("Agent started on %s:%d with resources %s and attributes %s", agent.ip, agent.port,
             agent.resources, agent.attributes)  # fmt: skip
    master = flags.get("master")
    if master is None:
        die(log, "Failed to create a master detector: --master_detector names a module and the "
                 "stand-in loads no modules")  # fmt: skip
    try:
        agent.start_detector(str(master))
    except Exception as exc:  # noqa: BLE001 - a bad --master is fatal, as in Mesos
        die(log, f"Failed to create a master detector: {exc}")
    threading.Thread(target=agent.run, name="register", daemon=True).start()
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
