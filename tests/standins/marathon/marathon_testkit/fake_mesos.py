"""A small fake Mesos master for scheduler tests, shaped like the CONTRACTS.md stand-in API.

It runs in the test process on 127.0.0.1. Each launched task gets, unless its labels say
FAKE_HEALTH=none, a tiny HTTP server on its first host port that answers 200 (or 500 when
FAKE_HEALTH=fail), so the stand-in's own health checks have something real to probe.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now (held open together while chosen)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return sorted(int(s.getsockname()[1]) for s in socks)
    finally:
        for s in socks:
            s.close()


class _TaskServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _task_server(port: int, healthy: bool) -> _TaskServer:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if healthy else 500)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = _TaskServer(("127.0.0.1", port), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class FakeMaster:
    """`callback`: confirm registrations by calling the framework's pid back, as the leading
    Mesos master stand-in does; `callback_as`: the "master" value it puts in that call (a
    different master's address imitates a stale master)."""

    def __init__(self, agents: int = 2, cpus: float = 4, mem: float = 4096, ports_each: int = 6,
                 callback: bool = True, callback_as: str | None = None):
        self.lock = threading.Lock()
        self.callback = callback
        self.callback_as = callback_as
        self.connected: set[str] = set()
        self.callbacks: list[tuple[str, int]] = []
        self.slaves: list[dict[str, Any]] = []
        for i in range(agents):
            ranges = ", ".join(f"{p}-{p}" for p in free_ports(ports_each))
            self.slaves.append({
                "id": f"fake-S{i}", "pid": f"slave(1)@127.0.0.1:{5051 + i}",
                "hostname": "127.0.0.1", "port": 5051 + i, "active": True, "attributes": {},
                "resources": {"cpus": cpus, "mem": mem, "disk": 1000.0,
                              "ports": f"[{ranges}]"},
            })
        self.frameworks: dict[str, dict[str, Any]] = {}
        self.launches: list[dict[str, Any]] = []
        self.kills: list[str] = []
        self.registrations: list[dict[str, Any]] = []
        self.task_servers: dict[str, _TaskServer] = {}
        handler = type("Bound", (_Handler,), {"master": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.address = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        for server in self.task_servers.values():
            server.shutdown()
            server.server_close()

    # -- behaviour -------------------------------------------------------------------------
    def register(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.registrations.append(body)
            framework_id = body.get("id") or f"fake-{uuid.uuid4()}-0000"
            self.frameworks.setdefault(framework_id, {
                "id": framework_id, "name": body.get("name"), "hostname": body.get("hostname"),
                "webui_url": body.get("webui_url"), "active": True, "tasks": [],
                "completed_tasks": [],
            })
            self.connected.discard(framework_id)
        if self.callback and body.get("pid"):
            threading.Thread(target=self._call_back, args=(framework_id, str(body["pid"])),
                             daemon=True).start()
        return {"id": framework_id}

    def _call_back(self, framework_id: str, pid: str) -> None:
        """POST the registered message to scheduler-<uuid>@ip:port, like the real master's
        FrameworkRegisteredMessage to the framework's pid."""
        address = pid.split("@", 1)[1]
        body = json.dumps({"framework_id": framework_id,
                           "master": self.callback_as or self.address}).encode()
        request = urllib.request.Request(
            f"http://{address}/standin/v1/scheduler/registered", data=body, method="POST",
            headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=5) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = 0
        with self.lock:
            self.callbacks.append((address, status))
            if 200 <= status < 300:
                self.connected.add(framework_id)

    def launch(self, body: dict[str, Any]) -> None:
        spec = body["task"]
        ports = [m["host_port"] for m in spec.get("port_mappings") or []]
        task = {
            "id": spec["id"], "name": spec["name"], "framework_id": body["framework_id"],
            "slave_id": body["agent_id"], "state": "TASK_RUNNING",
            "resources": {"cpus": spec["cpus"], "mem": spec["mem"],
                          "ports": "[" + ", ".join(f"{p}-{p}" for p in ports) + "]"},
            "statuses": [{"state": "TASK_RUNNING", "timestamp": time.time()}],
            "labels": spec.get("labels") or {},
        }
        health = (spec.get("labels") or {}).get("FAKE_HEALTH", "ok")
        with self.lock:
            self.launches.append(body)
            self.frameworks[body["framework_id"]]["tasks"].append(task)
            if ports and health != "none":
                self.task_servers[spec["id"]] = _task_server(ports[0], health == "ok")

    def end_task(self, task_id: str, state: str) -> None:
        with self.lock:
            for framework in self.frameworks.values():
                for task in list(framework["tasks"]):
                    if task["id"] == task_id:
                        framework["tasks"].remove(task)
                        task["state"] = state
                        framework["completed_tasks"].append(task)
            server = self.task_servers.pop(task_id, None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def forget_frameworks(self) -> None:
        """What a freshly elected master knows: nothing until frameworks re-register."""
        with self.lock:
            self.frameworks.clear()

    def fail_over(self) -> None:
        """A master that just took over: its agents and their tasks unknown until the agents
        re-register (agents_reregister), frameworks kept (they re-register by id)."""
        with self.lock:
            self._away = (self.slaves, {fid: f["tasks"] for fid, f in self.frameworks.items()})
            self.slaves = []
            for framework in self.frameworks.values():
                framework["tasks"] = []

    def agents_reregister(self) -> None:
        """The agents re-register after fail_over, with the tasks they kept running."""
        with self.lock:
            slaves, tasks = self._away
            self.slaves = slaves
            for fid, kept in tasks.items():
                if fid in self.frameworks:
                    self.frameworks[fid]["tasks"] = kept + self.frameworks[fid]["tasks"]

    def live_tasks(self) -> list[dict[str, Any]]:
        with self.lock:
            return [t for f in self.frameworks.values() for t in f["tasks"]]

    def state(self) -> dict[str, Any]:
        with self.lock:
            slaves = []
            for slave in self.slaves:
                tasks = [t for f in self.frameworks.values() for t in f["tasks"]
                         if t["slave_id"] == slave["id"]]
                used = {"cpus": sum(t["resources"]["cpus"] for t in tasks),
                        "mem": sum(t["resources"]["mem"] for t in tasks), "disk": 0.0}
                slaves.append(dict(slave, used_resources=used))
            return json.loads(json.dumps({
                "version": "1.11.0", "leader": f"master@{self.address}",
                "activated_slaves": float(len(slaves)), "slaves": slaves,
                "frameworks": list(self.frameworks.values()),
            }))


class _Handler(BaseHTTPRequestHandler):
    master: FakeMaster

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.split("?")[0] in ("/master/state", "/state"):
            self._reply(200, self.master.state())
        else:
            self._reply(404, {})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path == "/standin/v1/frameworks/register":
            self._reply(200, self.master.register(body))
        elif self.path == "/standin/v1/frameworks/state":
            self._reply(200, self.master.state())  # the scheduler's view (CONTRACTS.md)
        elif self.path == "/standin/v1/launch":
            if body.get("framework_id") not in self.master.frameworks:
                self._reply(400, {"message": "unknown framework"})
                return
            if body.get("framework_id") not in self.master.connected:
                self._reply(409, {"message": "framework is not connected"})
                return
            self.master.launch(body)
            self._reply(202, {})
        elif self.path == "/standin/v1/kill":
            self.master.kills.append(body["task_id"])
            self.master.end_task(body["task_id"], "TASK_KILLED")
            self._reply(202, {})
        else:
            self._reply(404, {})
