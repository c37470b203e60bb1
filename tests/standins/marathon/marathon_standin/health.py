"""Marathon-side health checks (HTTP/HTTPS/TCP; MESOS_* are run the same way from here).

Results follow Marathon 1.10.26 (d2iq-archive/marathon, src/main/scala/mesosphere/marathon/core/
health/impl/HealthCheckActor.scala, core/health/Health.scala, api/v2/json/Formats.scala):

- a task has no healthCheckResults entry until its first check ran;
- a failure while the task has never passed and is inside gracePeriodSeconds (counted from when
  it became running) leaves the entry unchanged, but the entry now EXISTS:
  `{alive: false, consecutiveFailures: 0, firstSuccess: null, ...}`;
- any other failure first compares the OLD consecutiveFailures with maxConsecutiveFailures
  (> 0): at or above it the task is killed; then lastFailure, lastFailureCause and
  consecutiveFailures + 1 are stored;
- a success sets firstSuccess (once), lastSuccess and consecutiveFailures 0;
- alive = lastSuccess exists and is later than lastFailure (if any).
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from .service import Apps, iso

log = logging.getLogger("marathon.health")


def instance_id(task_id: str) -> str:
    """Instance.Id of a task with a legacy id `<app>.<uuid>`: `<app>.marathon-<uuid>`."""
    app, _, rest = task_id.rpartition(".")
    return f"{app}.marathon-{rest}" if app else task_id


def new_result(task_id: str) -> dict[str, Any]:
    """Health(instanceId) before anything was recorded, as HealthWrites renders it."""
    return {"alive": False, "consecutiveFailures": 0, "firstSuccess": None,
            "lastFailure": None, "lastSuccess": None, "lastFailureCause": None,
            "instanceId": instance_id(task_id)}


def probe(protocol: str, host: str, port: int, path: str, timeout: float,
          ignore_1xx: bool) -> tuple[bool, str]:
    """(alive, failure cause as HealthCheckWorker.scala words it)."""
    try:
        if protocol.endswith("TCP"):
            with socket.create_connection((host, port), timeout=timeout):
                return True, ""
        if protocol.endswith("HTTPS"):
            context = ssl._create_unverified_context()  # Marathon does not verify either
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", path if path.startswith("/") else "/" + path)
            response = conn.getresponse()
        finally:
            conn.close()
        status = response.status
        alive = 200 <= status < 400 or (ignore_1xx and 100 <= status < 200)
        return alive, f"{status} {response.reason}".strip()
    except (OSError, http.client.HTTPException) as exc:
        return False, str(exc) or type(exc).__name__


class HealthChecker:
    def __init__(self, apps: Apps, on_kill: Callable[[str], None]):
        self.apps = apps
        self.on_kill = on_kill
        self.next_due: dict[tuple[str, int], float] = {}
        self.in_flight: set[tuple[str, int]] = set()
        self.lock = threading.Lock()

    def tick(self) -> None:
        """Start the checks that are due (each in its own short-lived thread)."""
        now = time.time()
        store = self.apps.store
        with store.lock:
            jobs = []
            live = set()
            for task in store.tasks.values():
                app = store.apps.get(task["appId"])
                if app is None or task["state"] != "TASK_RUNNING" or task.get("killing"):
                    continue
                for index, check in enumerate(app.get("healthChecks") or []):
                    key = (task["id"], index)
                    live.add(key)
                    if key in self.in_flight or self.next_due.get(key, 0) > now:
                        continue
                    self.next_due[key] = now + float(check["intervalSeconds"])
                    jobs.append((dict(task), dict(check), index, len(app["healthChecks"])))
        with self.lock:
            for key in list(self.next_due):
                if key not in live:
                    self.next_due.pop(key, None)
            for task_id in list(self.apps.health):
                if task_id not in store.tasks:
                    self.apps.health.pop(task_id, None)
            for task, check, index, count in jobs:
                self.in_flight.add((task["id"], index))
                threading.Thread(target=self._run, args=(task, check, index, count),
                                 daemon=True).start()

    def _run(self, task: dict[str, Any], check: dict[str, Any], index: int, count: int) -> None:
        try:
            port = check.get("port")
            if port is None:
                ports = task["ports"]
                port_index = int(check.get("portIndex", 0))
                port = ports[port_index] if port_index < len(ports) else None
            if port is None:
                alive, cause = False, "task has no port for this health check"
            else:
                alive, cause = probe(
                    check["protocol"], task["host"], int(port), check.get("path", "/"),
                    float(check["timeoutSeconds"]), bool(check.get("ignoreHttp1xx")))
            self._record(task, check, index, count, alive, cause)
        finally:
            with self.lock:
                self.in_flight.discard((task["id"], index))

    def _record(self, task: dict[str, Any], check: dict[str, Any], index: int, count: int,
                alive: bool, cause: str) -> None:
        now = iso()
        kill = False
        with self.lock:
            results = self.apps.health.setdefault(task["id"], [])
            while len(results) < count:
                results.append(None)  # None: this check has not run yet (no entry)
            result = results[index] or new_result(task["id"])
            results[index] = result
            if alive:
                result.update(lastSuccess=now, consecutiveFailures=0)
                result["firstSuccess"] = result["firstSuccess"] or now
            else:
                started = task.get("startedEpoch") or time.time()
                in_grace = time.time() < started + float(check["gracePeriodSeconds"])
                if not (result["firstSuccess"] is None and in_grace):
                    limit = int(check["maxConsecutiveFailures"])
                    kill = limit > 0 and result["consecutiveFailures"] >= limit
                    result["consecutiveFailures"] += 1
                    result.update(lastFailure=now, lastFailureCause=cause)
            result["alive"] = result["lastSuccess"] is not None and (
                result["lastFailure"] is None or result["lastSuccess"] > result["lastFailure"])
        if kill:
            log.info("task %s failed health checks beyond maxConsecutiveFailures: killing it",
                     task["id"])
            self.on_kill(task["id"])
