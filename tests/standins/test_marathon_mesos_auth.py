"""Marathon stand-in with Mesos framework authentication, against the master stand-in
(d2iq-archive/marathon v1.10.26 MarathonSchedulerDriver.scala, MarathonScheduler.scala `error`,
core/base/CrashStrategy.scala; apache/mesos 1.11.0 src/sched/sched.cpp, src/master/master.cpp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import kazoo
import pytest

from tests.standins.marathon.marathon_testkit.proc import PROGRAM, Marathon, clean_env
from tests.standins.mesos.testing import Proc, free_ports, get_full, start, state, wait_for

NOBODY = 65534
CREDENTIALS = {"credentials": [{"principal": "marathon", "secret": "m-secret"}]}


@pytest.fixture
def master(tmp_path: Path) -> Iterator[tuple[int, Proc]]:
    """A standalone master that only lets authenticated frameworks register."""
    creds = tmp_path / "credentials"
    creds.write_text(json.dumps(CREDENTIALS))
    creds.chmod(0o600)
    (port,) = free_ports(1)
    proc = start("master", [f"--work_dir={tmp_path}/master", "--ip=127.0.0.1", f"--port={port}",
                            f"--credentials={creds}", "--authenticate_frameworks"],
                 tmp_path / "master.log")  # fmt: skip
    try:
        wait_for("master up", lambda: get_full(f"http://127.0.0.1:{port}/health")[0] == 200, 15)
        yield port, proc
    finally:
        proc.stop()


def launch(zookeeper: str, master_port: int, tmp_path: Path, *extra: str,
           user: int | None = None) -> Marathon:
    """Start Marathon without waiting for /ping: some of these runs end before it answers."""
    (port,) = free_ports(1)
    args = ["--master", f"127.0.0.1:{master_port}", "--zk",
            f"zk://{zookeeper}/auth-{uuid.uuid4().hex[:8]}", "--http_port", str(port),
            "--http_address", "127.0.0.1", "--hostname", "127.0.0.1", *extra]
    python, env = sys.executable, {}
    if user is not None:
        python = "/usr/bin/python3"
        env = {"PYTHONPATH": str(Path(kazoo.__file__).resolve().parents[1])}
    log = tmp_path / f"marathon-{port}.log"
    with open(log, "wb") as out:
        popen = subprocess.Popen([python, str(PROGRAM), *args], env=clean_env(env), stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 user=user, group=user)  # fmt: skip
    return Marathon(popen, log, port)


def secret_file(tmp_path: Path, content: str, mode: int = 0o600) -> Path:
    path = tmp_path / "marathon.secret"
    path.write_text(content)
    path.chmod(mode)
    return path


def auth_flags(path: Path) -> list[str]:
    return ["--mesos_authentication", "--mesos_authentication_principal", "marathon",
            "--mesos_authentication_secret_file", str(path)]


def exit_code(proc: Marathon, timeout: float = 20) -> int:
    wait_for("Marathon exit", lambda: proc.popen.poll() is not None, timeout)
    return int(proc.popen.returncode)


def test_authenticated_marathon_registers(zookeeper: str, tmp_path: Path,
                                          master: tuple[int, Proc]) -> None:
    port, mproc = master
    proc = launch(zookeeper, port, tmp_path, *auth_flags(secret_file(tmp_path, "m-secret")))
    try:
        frameworks = wait_for("framework registered",
                              lambda: [f for f in state(port)["frameworks"] if f["connected"]],
                              25)  # fmt: skip
        assert frameworks[0]["principal"] == "marathon"
        out = proc.output()
        assert "Authenticate with Mesos as marathon" in out
        assert f"Successfully authenticated with master master@127.0.0.1:{port}" in out
        assert "m-secret" not in out + mproc.output()
        # Registered and polling: it stays up.
        assert proc.popen.poll() is None
    finally:
        proc.stop()


def test_trailing_newline_in_secret_file_is_refused(zookeeper: str, tmp_path: Path,
                                                    master: tuple[int, Proc]) -> None:
    # Marathon reads the whole file (no trim): "m-secret\n" is not the master's "m-secret".
    port, mproc = master
    proc = launch(zookeeper, port, tmp_path, *auth_flags(secret_file(tmp_path, "m-secret\n")))
    try:
        assert exit_code(proc) == 106
        assert f"Master master@127.0.0.1:{port} refused authentication" in proc.output()
        assert "Error: Master refused authentication" in proc.output()
        assert "Authentication failure: authentication failure" in mproc.output()
    finally:
        proc.stop()


def test_unauthenticated_marathon_exits(zookeeper: str, tmp_path: Path,
                                        master: tuple[int, Proc]) -> None:
    port, _ = master
    proc = launch(zookeeper, port, tmp_path)
    try:
        assert exit_code(proc) == 106
        assert "is not authenticated" in proc.output()
        assert state(port)["frameworks"] == []
    finally:
        proc.stop()


def test_secret_file_must_be_readable_by_marathons_user(zookeeper: str, tmp_path: Path,
                                                        master: tuple[int, Proc]) -> None:
    # The image runs as nobody: a root-only secret file ends its leadership (exit 104).
    if os.geteuid() != 0:
        pytest.fail("this test drops to nobody and needs root")
    path = secret_file(tmp_path, "m-secret", 0o600)
    tmp_path.chmod(0o755)
    port, _ = master
    proc = launch(zookeeper, port, tmp_path, *auth_flags(path), user=NOBODY)
    try:
        assert exit_code(proc) == 104
        assert f"java.io.FileNotFoundException: {path} (Permission denied)" in proc.output()
    finally:
        proc.stop()
