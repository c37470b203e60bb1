"""The leader's scheduling loop: reconcile with /master/state, launch, kill, finish deployments.

Real Marathon reacts to offers and status updates; the stand-in polls /master/state instead
(CONTRACTS.md scheduler API), which gives the same observable result every ~1 s.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import appdef, placement
from .mesos import MesosError, MesosMaster
from .mesos_auth import Credential, response, scheduler_error
from .service import Apps, iso

log = logging.getLogger("marathon.scheduler")

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
            "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNREACHABLE"}
# A task the master has shown once and then forgets (e.g. a Mesos failover before its agent
# re-registers) is given this long before it is declared lost, counted from when this scheduler
# last saw it or last registered with a master, whichever is later: a new Marathon leader, or a
# new Mesos leader, starts with no task seen. Real Marathon does not declare a known task lost
# while the master is silent about it: it reconciles, and a master that fails over cannot answer
# for a task whose agent has yet to re-register (apache/mesos docs/reconciliation.md: "during
# master failover the master must reregister all of the agents"; docs/REAL-CONTRACTS.md).
MISSING_GRACE = 20.0
# Seconds between registration attempts while no master has confirmed one.
REREGISTER_EVERY = 2.0


def task_id_prefix(app_id: str) -> str:
    return app_id.strip("/").replace("/", "_")


def task_name(app_id: str) -> str:
    return ".".join(reversed(app_id.strip("/").split("/")))


class Scheduler:
    def __init__(self, apps: Apps, mesos: MesosMaster, framework_name: str, hostname: str,
                 webui_url: str, launch_timeout: float, endpoint: str,
                 principal: str | None = None,
                 credential: Callable[[], Credential | None] = lambda: None,
                 maintenance_mode: bool = True, draining_seconds: float = 0.0):
        """`endpoint`: our advertised libprocess "ip:port" (libprocess.Endpoint); `principal`:
        FrameworkInfo.principal (--mesos_authentication_principal); `credential`: read each
        time a new driver is made (mesos_auth.credential); `maintenance_mode` and
        `draining_seconds`: --[disable_]maintenance_mode (on by default in 1.10) and
        --draining_seconds (ResourceMatcher.scala declines offers of agents in maintenance)."""
        self.maintenance_mode = maintenance_mode
        self.draining_seconds = draining_seconds
        self.principal = principal
        self.read_credential = credential
        self.credential: Credential | None = None
        self.token: str | None = None  # from the master in `token_for`
        self.token_for: str | None = None
        self.apps = apps
        self.store = apps.store
        self.mesos = mesos
        self.framework_name = framework_name
        self.hostname = hostname
        self.webui_url = webui_url
        self.launch_timeout = launch_timeout
        self.framework_id: str | None = None
        # The master we last sent a registration to, and the one that confirmed it.
        self.registered_with: str | None = None
        self.connected_to: str | None = None
        self.last_register = 0.0
        self.last_complaint = 0.0
        self.pid = f"scheduler-{uuid.uuid4()}@{endpoint}"
        self.mesos_leader: str | None = None
        # app id -> (delay, not before, config version it applies to)
        self.backoff: dict[str, tuple[float, float, str]] = {}
        self.last_seen: dict[str, float] = {}
        # When the current master confirmed our registration (0.0: not yet).
        self.connected_at = 0.0

    # -- registration ----------------------------------------------------------------------
    def new_driver(self) -> None:
        """A new leader starts a new scheduler driver: new pid, nothing registered."""
        endpoint = self.pid.split("@", 1)[1]
        self.pid = f"scheduler-{uuid.uuid4()}@{endpoint}"
        self.credential = self.read_credential()
        self.token = self.token_for = None
        self.disconnected()

    def disconnected(self) -> None:
        self.registered_with = None
        self.connected_to = None

    def _authenticate(self, leader: str) -> None:
        """Authenticate with a newly detected master (sched.cpp `authenticate`): the token, or
        the driver's error "Master refused authentication", which crashes Marathon."""
        assert self.credential is not None
        pid = f"master@{leader}"
        log.info("Authenticating with master %s", pid)
        if self.credential.secret is None:
            log.warning("Authentication failed; secret needed by CRAM-MD5 authenticatee")
            log.error("Master %s refused authentication", pid)
            scheduler_error("Master refused authentication")
        principal, secret = self.credential.principal, str(self.credential.secret)
        reply = self.mesos.call(leader, "POST", "/standin/v1/authenticate",
                                {"principal": principal})
        challenge = str((reply or {}).get("challenge") or "")
        try:
            reply = self.mesos.call(leader, "POST", "/standin/v1/authenticate/step", {
                "principal": principal, "challenge": challenge,
                "response": response(secret, challenge)})
        except MesosError as exc:
            if exc.status != 401:
                raise
            log.error("Master %s refused authentication", pid)
            scheduler_error("Master refused authentication")
        self.token, self.token_for = str((reply or {}).get("token") or ""), leader
        log.info("Successfully authenticated with master %s", pid)

    def _register(self, leader: str) -> None:
        stored = self.store.framework_id()
        if self.credential is not None and self.token_for != leader:
            self._authenticate(leader)
        # MarathonSchedulerDriver.scala always adds PARTITION_AWARE to the FrameworkInfo.
        body = {"id": stored, "name": self.framework_name, "hostname": self.hostname,
                "webui_url": self.webui_url, "pid": self.pid, "token": self.token,
                "capabilities": [{"type": "PARTITION_AWARE"}]}
        if self.principal is not None:
            body["principal"] = self.principal
        # Set before the call: the master may call back before it answers.
        self.registered_with = leader
        self.connected_to = None
        self.last_register = time.time()
        try:
            reply = self.mesos.call(leader, "POST", "/standin/v1/frameworks/register", body)
        except MesosError as exc:
            if exc.status != 403:
                raise
            if self.token is not None and "is not authenticated" in exc.message:
                # This master forgot us (restarted at the same address): the real driver
                # re-authenticates on detecting it; do the same on the next round.
                self.token = self.token_for = None
                raise
            scheduler_error(exc.message)  # FrameworkErrorMessage -> Scheduler.error
            return
        if isinstance(reply, dict) and reply.get("id"):
            self._framework_id(str(reply["id"]))

    def _framework_id(self, framework_id: str) -> None:
        if framework_id != self.store.framework_id():
            self.store.set_framework_id(framework_id)
        self.framework_id = framework_id

    def on_registered(self, framework_id: str, master: str) -> None:
        """The master's callback to our pid (libprocess.Endpoint): registered, if it comes
        from the master we registered with."""
        if master != self.registered_with:
            log.warning("ignoring a registration from %s: we registered with %s", master,
                        self.registered_with)
            return
        with self.store.lock:
            self._framework_id(framework_id)
        if self.connected_to != master:
            log.info("registered as framework %s with Mesos master %s (pid %s)", framework_id,
                     master, self.pid)
            self.connected_at = time.time()
        self.connected_to = master

    # -- the loop body ---------------------------------------------------------------------
    def run_once(self) -> None:
        leader = self.mesos.leader()
        self.mesos_leader = leader
        if leader is None:
            return
        if leader != self.registered_with:
            self._register(leader)  # first start, or a Mesos failover
        if self.connected_to != leader:
            # The driver retries registration until the master confirms (real Marathon logs
            # the same and launches nothing meanwhile).
            now = time.time()
            if now - self.last_complaint >= REREGISTER_EVERY:
                self.last_complaint = now
                log.warning("not registered with Mesos master %s yet: no answer to %s",
                            leader, self.pid)
            if now - self.last_register >= REREGISTER_EVERY:
                self._register(leader)
            return
        state = self.mesos.call(leader, "POST", "/standin/v1/frameworks/state",
                                {"framework_id": self.framework_id, "token": self.token})
        framework = next((f for f in state.get("frameworks") or []
                          if f.get("id") == self.framework_id), None)
        if framework is None:
            # The (new) leading master does not know us: register again with the same id.
            self._register(leader)
            return
        # Later lists win: a live entry beats a terminal one for the same id.
        seen: dict[str, Any] = {}
        for key in ("unreachable_tasks", "completed_tasks", "tasks"):
            seen.update({t["id"]: t for t in framework.get(key) or []})
        agents = {s["id"]: s for s in state.get("slaves") or [] if s.get("active", True)}
        with self.store.lock:
            kills = self._reconcile(seen, agents)
            launches, more_kills = self._plan(state, seen)
        for task in kills + more_kills:
            self._kill(leader, task)
        for task, spec in launches:
            self._launch(leader, task, spec)
        with self.store.lock:
            self._finish_deployments()

    # -- reconcile our records with what the master reports ----------------------------------
    def _reconcile(self, seen: dict[str, Any], agents: dict[str, Any]) -> list[dict[str, Any]]:
        now = time.time()
        kills: list[dict[str, Any]] = []
        for task in list(self.store.tasks.values()):
            reported = seen.get(task["id"])
            if reported is None:
                started = bool(task.get("startedAt"))
                seen = task["id"] in self.last_seen or started
                last = self.last_seen.get(task["id"], task["launchedEpoch"])
                if started:  # it ran: the master may just not know it again yet (see above)
                    last = max(last, self.connected_at)
                limit = MISSING_GRACE if seen else self.launch_timeout
                if task["agentId"] not in agents:
                    limit = min(limit, MISSING_GRACE)
                if now - last > limit:
                    self._terminal(task, "TASK_LOST", "task is not known to Mesos")
                continue
            self.last_seen[task["id"]] = now
            state = reported.get("state", "TASK_STAGING")
            if state in TERMINAL:
                self._terminal(task, state, reported.get("message") or state)
                continue
            changed = state != task["state"]
            task["state"] = state
            if state == "TASK_RUNNING" and not task.get("startedAt"):
                task["startedAt"], task["startedEpoch"] = iso(), now
                changed = True
            if changed:
                self.store.put_task(task)
        # Tasks of our framework that we hold no record of: an instance of a known app is
        # adopted (its record was lost with a crashed leader); anything else is killed.
        for task_id, reported in seen.items():
            if task_id in self.store.tasks or reported.get("state") in TERMINAL:
                continue
            app = next((a for a in self.store.apps.values()
                        if task_id.startswith(task_id_prefix(a["id"]) + ".")), None)
            record = self._record_from_master(reported, app, agents)
            if app is None:
                kills.append(record)
            else:
                log.info("adopting task %s of %s", task_id, app["id"])
                self.store.put_task(record)
        return kills

    def _record_from_master(self, reported: dict[str, Any], app: dict[str, Any] | None,
                            agents: dict[str, Any]) -> dict[str, Any]:
        ports = sorted(placement.port_set((reported.get("resources") or {}).get("ports")))
        version = app["version"] if app else ""
        return {
            "id": reported["id"], "appId": app["id"] if app else "",
            "agentId": reported.get("slave_id", ""),
            "host": (agents.get(reported.get("slave_id", "")) or {}).get("hostname", ""),
            "ports": ports,
            "servicePorts": appdef.service_ports(app) if app else [],
            "state": reported.get("state", "TASK_STAGING"), "stagedAt": iso(),
            "startedAt": None, "version": version,
            # Unknown config: treated as current so an adoption does not restart anything.
            "configVersion": app["versionInfo"]["lastConfigChangeAt"] if app else "",
            "launchedEpoch": time.time(), "cpus": 0.0, "mem": 0.0,
        }

    def _terminal(self, task: dict[str, Any], state: str, message: str) -> None:
        self.store.delete_task(task["id"])
        self.last_seen.pop(task["id"], None)
        if task.get("killing"):
            return
        app = self.store.apps.get(task["appId"])
        log.info("task %s ended %s: %s", task["id"], state, message)
        self.apps.last_failure[task["appId"]] = {
            "appId": task["appId"], "host": task["host"], "message": message, "state": state,
            "taskId": task["id"], "timestamp": iso(), "version": task["version"],
            "slaveId": task["agentId"],
        }
        if app is not None:  # Marathon's launch backoff: delay *= factor, up to the maximum
            config = app["versionInfo"]["lastConfigChangeAt"]
            delay, _, for_config = self.backoff.get(app["id"], (0.0, 0.0, config))
            if for_config != config:
                delay = 0.0
            delay = float(app["backoffSeconds"]) if delay == 0 else min(
                delay * float(app["backoffFactor"]), float(app["maxLaunchDelaySeconds"]))
            self.backoff[app["id"]] = (delay, time.time() + delay, config)

    # -- decide launches and kills -----------------------------------------------------------
    def _plan(self, state: dict[str, Any], seen: dict[str, Any]) -> tuple[list, list]:
        unseen = [t for t in self.store.tasks.values() if t["id"] not in seen]
        views = placement.agent_views(state, unseen)
        launches: list[tuple[dict[str, Any], dict[str, Any]]] = []
        kills: list[dict[str, Any]] = []
        by_app: dict[str, list[dict[str, Any]]] = {}
        for task in self.store.tasks.values():
            by_app.setdefault(task["appId"], []).append(task)
        for app_id, tasks in by_app.items():
            if app_id not in self.store.apps:  # deleted app: stop everything
                kills += [t for t in tasks if not t.get("killing")]
        kills += [t for t in self.store.tasks.values()
                  if t.get("apiKill") and not t.get("killing")]
        for app in self.store.apps.values():
            tasks = [t for t in by_app.get(app["id"], []) if not t.get("killing")]
            kills += [t for t in tasks if t.get("unhealthyKill")]
            tasks = [t for t in tasks if not t.get("unhealthyKill")]
            # An instance killed through the API (scale=false) keeps its place until its task
            # is terminal; only then is it launched again (TaskKiller.kill leaves the
            # instance's goal Running).
            relaunch = sum(1 for t in by_app.get(app["id"], [])
                           if t.get("killing") and t.get("apiKill"))
            new_launches, new_kills = self._plan_app(app, tasks, views, relaunch)
            launches += new_launches
            kills += new_kills
        return launches, kills

    def _ready(self, task: dict[str, Any], app: dict[str, Any]) -> bool:
        if task["state"] != "TASK_RUNNING":
            return False
        return not app.get("healthChecks") or self.apps.is_healthy(task, app) is True

    def _plan_app(self, app: dict[str, Any], tasks: list[dict[str, Any]],
                  views: dict[str, placement.AgentView], relaunch: int = 0) -> tuple[list, list]:
        config = app["versionInfo"]["lastConfigChangeAt"]
        current = [t for t in tasks if t["configVersion"] == config]
        old = [t for t in tasks if t["configVersion"] != config]
        target = int(app["instances"])
        strategy = app["upgradeStrategy"]
        kills: list[dict[str, Any]] = []
        # Scale down: youngest first (killSelection default), not-running ones before those.
        if len(current) > target:
            # Kills take the head of the order: not-running tasks, then by age as asked.
            oldest_first = app.get("killSelection") == "OLDEST_FIRST"
            order = sorted(current, key=lambda t: (
                t["state"] == "TASK_RUNNING",
                time_key(t["stagedAt"]) if oldest_first else -time_key(t["stagedAt"])))
            kills += order[: len(current) - target]
            current = [t for t in current if t not in kills]
        # Replace old-config tasks without dropping below minimumHealthCapacity.
        ready_current = sum(self._ready(t, app) for t in current)
        if old:
            if ready_current >= target:
                kills += old
            else:
                floor = placement.ceil_fraction(target, float(strategy["minimumHealthCapacity"]))
                ready_old = [t for t in old if self._ready(t, app)]
                spare = max(0, ready_current + len(ready_old) - floor)
                kills += [t for t in old if not self._ready(t, app)]
                kills += sorted(ready_old, key=lambda t: t["stagedAt"])[:spare]
        surviving_old = [t for t in old if t not in kills]
        # Launch missing instances within maximumOverCapacity (only matters while old run).
        room = target + placement.ceil_fraction(target, float(strategy["maximumOverCapacity"]))
        wanted = min(target - len(current), room - len(current) - len(surviving_old)) - relaunch
        if surviving_old and wanted <= 0 and len(current) < target:
            # maximumOverCapacity 0 with minimumHealthCapacity 1 cannot progress otherwise.
            kills.append(surviving_old[0])
        _, not_before, for_config = self.backoff.get(app["id"], (0.0, 0.0, config))
        if for_config != config:  # a new config starts without the old one's backoff
            self.backoff.pop(app["id"], None)
            not_before = 0.0
        launches = []
        if wanted > 0 and time.time() >= not_before:
            placed = [views[t["agentId"]] for t in tasks if t["agentId"] in views
                      and t not in kills]
            for _ in range(wanted):
                launch = self._place(app, views, placed)
                if launch is None:
                    break
                launches.append(launch)
                placed.append(views[launch[0]["agentId"]])
        return launches, kills

    def _place(self, app: dict[str, Any], views: dict[str, placement.AgentView],
               placed: list[placement.AgentView]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        now = time.time()
        for view in sorted(views.values(), key=lambda v: (-v.cpus, v.id)):
            if not placement.fits(app, view) or not placement.constraints_allow(app, view, placed):
                continue
            if self.maintenance_mode and not placement.offer_available(
                    view.unavailability, self.draining_seconds, now):
                continue  # ResourceMatcher: NoOfferMatchReason.AgentMaintenance
            ports = placement.choose_ports(app, view)
            if ports is None:
                continue
            view.cpus -= float(app["cpus"])
            view.mem -= float(app["mem"])
            view.used_ports |= {host for _, host, _ in ports}
            task_id = f"{task_id_prefix(app['id'])}.{uuid.uuid4()}"
            task = {
                "id": task_id, "appId": app["id"], "agentId": view.id, "host": view.hostname,
                "ports": [host for _, host, _ in ports], "servicePorts": appdef.service_ports(app),
                "state": "TASK_STAGING", "stagedAt": iso(), "startedAt": None,
                "version": app["version"],
                "configVersion": app["versionInfo"]["lastConfigChangeAt"],
                "launchedEpoch": time.time(), "cpus": float(app["cpus"]),
                "mem": float(app["mem"]),
            }
            # Written before the launch call, so a crash right after cannot orphan the task.
            self.store.put_task(task)
            return task, self._task_spec(app, task, ports)
        return None

    def _task_spec(self, app: dict[str, Any], task: dict[str, Any],
                   ports: list[tuple[int, int, str]]) -> dict[str, Any]:
        container = app.get("container") or {}
        image = (container.get("docker") or {}).get("image")
        host_ports = [host for _, host, _ in ports]
        env = {k: v for k, v in (app.get("env") or {}).items() if isinstance(v, str)}
        env.update({
            "MARATHON_APP_ID": app["id"], "MARATHON_APP_VERSION": app["version"],
            "MARATHON_APP_RESOURCE_CPUS": str(app["cpus"]),
            "MARATHON_APP_RESOURCE_MEM": str(app["mem"]),
            "MESOS_TASK_ID": task["id"], "HOST": task["host"],
            "PORTS": ",".join(map(str, host_ports)),
        })
        if image:
            env["MARATHON_APP_DOCKER_IMAGE"] = image
        for i, (container_port, host_port, _) in enumerate(ports):
            # Only host ports reach the task's env (d2iq-archive/marathon docs/docs/ports.md).
            env[f"PORT{i}"] = str(host_port)
            if appdef.network_mode(app) != "host":
                env[f"PORT_{container_port}"] = str(host_port)
        if host_ports:
            env["PORT"] = str(host_ports[0])
        return {
            "id": task["id"], "name": task_name(app["id"]), "image": image,
            "cpus": float(app["cpus"]), "mem": float(app["mem"]),
            "cmd": app.get("cmd"), "args": app.get("args"), "env": env,
            "labels": dict(app.get("labels") or {}),
            "port_mappings": [{"container_port": c, "host_port": h, "protocol": p}
                              for c, h, p in ports],
            "network": "HOST" if appdef.network_mode(app) == "host" else "BRIDGE",
        }

    # -- calls to the master -----------------------------------------------------------------
    def _launch(self, leader: str, task: dict[str, Any], spec: dict[str, Any]) -> None:
        body = {"framework_id": self.framework_id, "agent_id": task["agentId"], "task": spec,
                "token": self.token}
        try:
            self.mesos.call(leader, "POST", "/standin/v1/launch", body)
            log.info("launched %s on %s ports %s", task["id"], task["host"], task["ports"])
        except MesosError as exc:
            log.warning("launch of %s failed: %s", task["id"], exc)
            with self.store.lock:
                self.store.delete_task(task["id"])
            self.disconnected()  # re-register: the master may have lost us (409)

    def _kill(self, leader: str, task: dict[str, Any]) -> None:
        with self.store.lock:
            if task["id"] in self.store.tasks:
                task["killing"] = True
                self.store.put_task(task)
        body = {"framework_id": self.framework_id, "agent_id": task["agentId"],
                "task_id": task["id"], "token": self.token}
        try:
            self.mesos.call(leader, "POST", "/standin/v1/kill", body)
            log.info("killing %s", task["id"])
        except MesosError as exc:
            log.warning("kill of %s failed (retried next round): %s", task["id"], exc)
            with self.store.lock:
                if task["id"] in self.store.tasks:
                    task["killing"] = False
                    self.store.put_task(task)

    def kill_via_api(self, task_id: str) -> dict[str, Any] | None:
        """DELETE /v2/apps/{id}/tasks/{taskId}?scale=false: kill it; the instance is launched
        again once the task is terminal. The record before the kill, or None if unknown."""
        with self.store.lock:
            task = self.store.tasks.get(task_id)
            if task is None:
                return None
            before = dict(task)
            if not task.get("killing"):
                task["apiKill"] = True
                self.store.put_task(task)
            return before

    def mark_unhealthy(self, task_id: str) -> None:
        with self.store.lock:
            task = self.store.tasks.get(task_id)
            if task is not None and not task.get("killing"):
                task["unhealthyKill"] = True
                self.store.put_task(task)

    # -- deployments -------------------------------------------------------------------------
    def _finish_deployments(self) -> None:
        for deployment in list(self.store.deployments.values()):
            if all(self._app_done(app_id, deployment) for app_id in deployment["affectedApps"]):
                log.info("deployment %s finished", deployment["id"])
                self.store.delete_deployment(deployment["id"])

    def _app_done(self, app_id: str, deployment: dict[str, Any]) -> bool:
        tasks = [t for t in self.store.tasks.values() if t["appId"] == app_id]
        app = self.store.apps.get(app_id)
        if app is None:
            return not tasks
        if any(t.get("killing") for t in tasks):
            return False
        config = app["versionInfo"]["lastConfigChangeAt"]
        if any(t["configVersion"] != config for t in tasks):
            return False
        return len(tasks) == int(app["instances"]) and all(self._ready(t, app) for t in tasks)


def time_key(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
