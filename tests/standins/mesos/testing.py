"""Helpers for the stand-in tests: start master/agent processes, poll bounded, stop by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tests.standins.mesos.mesos_standin.http import Request, Response, call, serve

REPO = Path(__file__).resolve().parents[3]
T = TypeVar("T")
# The agent's systemd check reads /sbin/init, /run/systemd/system and /sys/fs/cgroup/systemd
# under this root (mesos_standin/systemd_init.py). By default the tests run as on a host without
# systemd (this machine's /sbin/init is systemd but PID 1 is not); systemd tests pass their own.
NO_SYSTEMD_ROOT = "/nonexistent/standin-root"


def _env(env: dict[str, str] | None) -> dict[str, str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MESOS_")}
    full_env["MESOS_STANDIN_ROOT"] = NO_SYSTEMD_ROOT
    full_env.update(env or {})
    return full_env


class Proc:
    """A stand-in process with its log; stopped by pid."""

    def __init__(self, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.popen, self.log = popen, log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


def start(kind: str, args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Proc:
    """Run the stand-in `kind` ('master' or 'agent') from the source tree."""
    full_env = _env(env)
    cmd = [sys.executable, "-m", f"tests.standins.mesos.mesos_standin.{kind}", *args]
    with open(log, "wb") as out:
        popen = subprocess.Popen(
            cmd, cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    return Proc(popen, log)


def run(
    kind: str, args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    """Run a stand-in to completion (for start-up refusals), bounded."""
    full_env = _env(env)
    cmd = [sys.executable, "-m", f"tests.standins.mesos.mesos_standin.{kind}", *args]
    return subprocess.run(
        cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def get(url: str, timeout: float = 2.0) -> tuple[int, Any]:
    """(status, JSON or text) without following redirects (tests look at the 307s)."""
    status, body, _ = call("GET", url, timeout=timeout)
    return status, body


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.2) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except (OSError, ValueError, KeyError) as exc:
            last_exc = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_exc})")


def get_full(url: str, timeout: float = 2.0) -> tuple[int, Any, dict[str, str]]:
    """(status, JSON or text, headers) without following redirects."""
    return call("GET", url, timeout=timeout)


def leader_seen_by(port: int) -> str | None:
    """`host:port` of the leader according to the master on `port`: itself when /master/state
    answers 200 with leader == pid, the 307's Location when it redirects, None on 503."""
    status, body, headers = get_full(f"http://127.0.0.1:{port}/master/state")
    if status == 200 and isinstance(body, dict) and body.get("leader") == body.get("pid"):
        return str(body["pid"]).split("@", 1)[1]
    if status == 307:
        return headers["Location"].removeprefix("//").split("/", 1)[0]
    return None


def state(port: int) -> dict[str, Any]:
    status, body = get(f"http://127.0.0.1:{port}/master/state")
    if status != 200 or not isinstance(body, dict):
        raise ValueError(f"/master/state -> {status}")
    return body


def free_ports(n: int) -> list[int]:
    import socket

    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(int(s.getsockname()[1]))
    for s in socks:
        s.close()
    return ports


class Scheduler:
    """A framework's scheduler endpoint on 127.0.0.1 (the other side of the stand-in's
    `POST /standin/v1/scheduler/registered`); records every call. Stop with `stop()`."""

    def __init__(self) -> None:
        (self.port,) = free_ports(1)
        self.calls: list[Any] = []

        def registered(req: Request) -> Response:
            self.calls.append(req.body)
            return Response(200, {})

        self.server = serve("127.0.0.1", self.port,
                            {("POST", "/standin/v1/scheduler/registered"): registered})

    @property
    def pid(self) -> str:
        return f"scheduler-0f1e2d3c@127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
