"""Marathon-side health checks (HTTP/HTTPS/TCP; MESOS_* are run the same way from here).

Results follow Marathon's healthCheckResults entries. Failures inside gracePeriodSeconds are
ignored until the first success (Marathon's documented rule); after maxConsecutiveFailures the
task is marked for a kill, and the scheduler replaces it.
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


def probe(protocol: str, host: str, port: int, path: str, timeout: float,
          ignore_1xx: bool) -> bool:
    try:
        if protocol.endswith("TCP"):
            with socket.create_connection((host, port), timeout=timeout):
                return True
        if protocol.endswith("HTTPS"):
            context = ssl._create_unverified_context()  # Marathon does not verify either
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", path)
            status = conn.getresponse().status
        finally:
            conn.close()
        return 200 <= status < 400 or (ignore_1xx and 100 <= status < 200)
    except (OSError, http.client.HTTPException):
        return False


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
            alive = port is not None and probe(
                check["protocol"], task["host"], int(port), check.get("path", "/"),
                float(check["timeoutSeconds"]), bool(check.get("ignoreHttp1xx")))
            self._record(task, check, index, count, alive)
        finally:
            with self.lock:
                self.in_flight.discard((task["id"], index))

    def _record(self, task: dict[str, Any], check: dict[str, Any], index: int, count: int,
                alive: bool) -> None:
        now = iso()
        with self.lock:
            results = self.apps.health.setdefault(task["id"], [])
            while len(results) < count:
                results.append({"alive": None, "consecutiveFailures": 0, "firstSuccess": None,
                                "lastSuccess": None, "lastFailure": None,
                                "taskId": task["id"], "instanceId": task["id"]})
            result = results[index]
            if alive:
                result.update(alive=True, consecutiveFailures=0, lastSuccess=now)
                result["firstSuccess"] = result["firstSuccess"] or now
                return
            started = task.get("startedEpoch") or time.time()
            in_grace = time.time() - started < float(check["gracePeriodSeconds"])
            if in_grace and result["firstSuccess"] is None:
                return
            result.update(alive=False, lastFailure=now, lastFailureCause="health check failed")
            result["consecutiveFailures"] += 1
            limit = int(check["maxConsecutiveFailures"])
            kill = limit > 0 and result["consecutiveFailures"] >= limit
        if kill:
            log.info("task %s failed %d health checks in a row: killing it", task["id"], limit)
            self.on_kill(task["id"])
