"""Run the stand-in program with python3 (no Docker here), poll it bounded, stop it by pid."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tests.standins.mesos.testing import Proc

CONTEXT = Path(__file__).resolve().parents[1]
PROGRAM = CONTEXT / "bin" / "marathon"
T = TypeVar("T")
# Tests talk to 127.0.0.1 only; never let an environment proxy get in the way.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Marathon(Proc):
    """A Marathon stand-in process and where it answers."""

    def __init__(self, popen: subprocess.Popen[bytes], log: Path, port: int):
        super().__init__(popen, log)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.address = f"127.0.0.1:{port}"


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment minus MARATHON_*/MESOSPHERE_*/LIBPROCESS_*, plus `extra`.

    LIBPROCESS_IP defaults to 127.0.0.1: tests talk over loopback only, and the host name's
    first address (the real default) is whatever this machine's /etc/hosts says.
    """
    prefixes = ("MARATHON_", "MESOSPHERE_", "LIBPROCESS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["LIBPROCESS_IP"] = "127.0.0.1"
    env.update(extra or {})
    return env


def run(args: Sequence[str], env: dict[str, str] | None = None,
        timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PROGRAM), *args], env=clean_env(env),
                          capture_output=True, text=True, timeout=timeout)


def start(args: Sequence[str], log: Path, port: int, env: dict[str, str] | None = None,
          wait: float = 20, ready: int = 200, user: int | None = None,
          python: str = sys.executable) -> Marathon:
    """Start the program and wait until /ping answers `ready` (0: any HTTP answer at all).

    `user`: a uid to run as (only when the test runs as root), like the image's USER nobody;
    `python`: the interpreter (the image runs the distribution's python3).
    """
    with open(log, "wb") as out:
        popen = subprocess.Popen([python, str(PROGRAM), *args], env=clean_env(env),
                                 stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 user=user, group=user)
    marathon = Marathon(popen, log, port)

    def answered() -> bool:
        status = http(marathon.url + "/ping")[0]
        return status == ready if ready else status != 0

    try:
        wait_for(answered, wait,
                 lambda: f"stand-in did not answer /ping:\n{marathon.output()[-3000:]}")
    except BaseException:
        marathon.stop()
        raise
    return marathon


def http(url: str, method: str = "GET", body: Any = None, raw: bytes | None = None,
         timeout: float = 10, auth: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    """(status, parsed JSON or text, headers); never raises for HTTP error statuses.

    `auth`: "user:password" sent as HTTP basic auth.
    """
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    sent = {"Content-Type": "application/json", **(headers or {})}
    if auth is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with _opener.open(request, timeout=timeout) as response:
            status, payload, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, payload, headers = exc.code, exc.read(), exc.headers
    except OSError:
        return 0, None, {}
    text = payload.decode(errors="replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return status, parsed, dict(headers.items())


def wait_for(check: Callable[[], T | None], timeout: float,
             message: Callable[[], str] | str = "condition not met") -> T:
    """Poll `check` every 0.2 s until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.2)
