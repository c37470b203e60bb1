"""Tasks of the stand-in agent: Docker containers tracked by `docker inspect`, recovered by label
after an agent restart (Mesos's docker containerizer recovers its containers the same way)."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from . import resources as res
from .common import now
from .docker import FRAMEWORK_LABEL, SPEC_LABEL, Docker, container_name, task_state
from .master_state import TERMINAL

KEEP_COMPLETED = 100


class Tasks:
    def __init__(self, docker: Docker | None, log: logging.Logger, ports: str,
                 launch_timeout_s: float, cfs: bool) -> None:  # fmt: skip
        self.docker, self.log = docker, log
        self.port_ranges = res.parse_ranges(ports or "[]")
        self.launch_timeout_s, self.cfs = launch_timeout_s, cfs
        self.lock = threading.RLock()
        self.tasks: dict[str, dict[str, Any]] = {}
        self.agent_id: str | None = None

    def _set(self, task: dict[str, Any], state: str, message: str = "") -> None:
        if task.get("state") == state:
            return
        if task.get("state") == "TASK_KILLED":
            return  # a kill is final even if the container reports exit status afterwards
        task["state"], task["timestamp"] = state, now()
        task.setdefault("statuses", []).append({"state": state, "timestamp": task["timestamp"]})
        if message:
            task["message"] = message
        self.log.info("Task %s is now %s %s", task["id"], state, message)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(json.dumps(t)) for t in self.tasks.values()]

    # -- launch / kill ----------------------------------------------------------------------

    def launch(self, spec: dict[str, Any], framework_id: str) -> tuple[int, dict[str, Any]]:
        tid = str(spec.get("id") or "")
        if not tid or not spec.get("image"):
            return 400, {"message": "TaskSpec needs 'id' and 'image'"}
        with self.lock:
            old = self.tasks.get(tid)
            if old is not None and old.get("state") not in TERMINAL:
                return 409, {"message": f"Task {tid} already exists"}
            task = dict(spec, framework_id=framework_id, statuses=[])
            self.tasks[tid] = task
            self._set(task, "TASK_STAGING")
        error = self._validate(spec)
        if error:
            with self.lock:
                self._set(task, "TASK_ERROR" if self.docker else "TASK_FAILED", error)
            return 202, {"task_id": tid}
        threading.Thread(target=self._start, args=(task,), daemon=True).start()
        return 202, {"task_id": tid}

    def _validate(self, spec: dict[str, Any]) -> str:
        if self.docker is None:
            return "Docker containerizer not enabled on this agent (--containerizers)"
        used = {int(p) for t in self.tasks.values() if t.get("state") not in TERMINAL
                and t["id"] != spec["id"] for p in _host_ports(t)}  # fmt: skip
        for port in _host_ports(spec):
            if not any(lo <= port <= hi for lo, hi in self.port_ranges):
                return f"Host port {port} is not in the agent's ports resource"
            if port in used:
                return f"Host port {port} is already used by another task"
        return ""

    def _start(self, task: dict[str, Any]) -> None:
        assert self.docker is not None
        name = container_name(task["id"])
        if self.docker.inspect(name) is not None:
            self.docker.remove(name, 0)  # a leftover of an earlier attempt with the same id
        spec = {
            k: v
            for k, v in task.items()
            if k not in ("framework_id", "statuses", "state", "timestamp", "message")
        }
        args = self.docker.run_args(self.agent_id or "", task["framework_id"], spec, self.cfs)
        ok, out = self.docker.run(args, self.launch_timeout_s)
        with self.lock:
            if not ok:
                self._set(task, "TASK_FAILED", f"Failed to launch container: {out}")
                return
        self.refresh_one(task)

    def kill(self, task_id: str, grace_s: int = 10) -> tuple[int, dict[str, Any]]:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                return 404, {"message": f"Unknown task {task_id}"}
        if self.docker is not None:
            threading.Thread(target=self._kill, args=(task, grace_s), daemon=True).start()
        else:
            with self.lock:
                self._set(task, "TASK_KILLED")
        return 202, {"task_id": task_id}

    def _kill(self, task: dict[str, Any], grace_s: int) -> None:
        assert self.docker is not None
        self.docker.remove(container_name(task["id"]), grace_s)
        with self.lock:
            self._set(task, "TASK_KILLED", "Killed by the framework")

    # -- tracking -------------------------------------------------------------------------

    def refresh_one(self, task: dict[str, Any]) -> None:
        if self.docker is None:
            return
        info = self.docker.inspect(container_name(task["id"]))
        state, message = task_state(info)
        with self.lock:
            if task.get("state") not in TERMINAL:
                self._set(task, state, message)

    def refresh(self) -> None:
        with self.lock:
            live = [t for t in self.tasks.values()
                    if t.get("state") not in TERMINAL | {"TASK_STAGING"}]  # fmt: skip
            done = [tid for tid, t in self.tasks.items() if t.get("state") in TERMINAL]
            for tid in done[: max(0, len(done) - KEEP_COMPLETED)]:
                del self.tasks[tid]
        for task in live:
            self.refresh_one(task)

    def recover(self, agent_id: str | None) -> None:
        """Adopt the containers a previous run of this agent started (found by label)."""
        if self.docker is None:
            return
        for name in self.docker.containers(agent_id):
            info = self.docker.inspect(name)
            labels = ((info or {}).get("Config") or {}).get("Labels") or {}
            try:
                spec = json.loads(labels.get(SPEC_LABEL) or "")
            except json.JSONDecodeError:
                continue
            task = dict(spec, framework_id=labels.get(FRAMEWORK_LABEL, ""), statuses=[])
            state, message = task_state(info)
            with self.lock:
                self.tasks[str(spec["id"])] = task
                self._set(task, state, message)
            self.log.info("Recovered task %s from container %s", spec["id"], name)


def _host_ports(spec: dict[str, Any]) -> list[int]:
    if (spec.get("network") or "BRIDGE").upper() == "HOST":
        return []
    return [int(m["host_port"]) for m in spec.get("port_mappings") or [] if m.get("host_port")]
