"""Shared fixtures for the stand-in tests: a real standalone ZooKeeper from the Debian package."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ZK_JAR = Path("/usr/share/java/zookeeper.jar")
ZK_CONF_DIR = Path("/etc/zookeeper/conf")  # only for the packaged log4j.properties
START_TIMEOUT_S = 30.0

# A short tick lets tests ask for short sessions (min session timeout = 2 ticks = 1 s), so
# failover tests finish quickly while still exercising real session expiry.
ZOO_CFG = """\
tickTime=500
initLimit=10
syncLimit=5
dataDir={data}
clientPort={port}
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
"""

LOG4J = """\
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
"""


def free_port() -> int:
    """A port that is free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def four_letter(port: int, word: str, timeout: float = 1.0) -> str:
    """Send a ZooKeeper four-letter word and return the reply ('' when unreachable)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(word.encode())
            chunks = []
            while True:
                data = s.recv(4096)
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


def _require_zookeeper() -> str:
    java = shutil.which("java")
    # Fail, not skip: a silently skipped election test would hide a broken sandbox.
    if java is None:
        pytest.fail("java not found: install the Debian 'zookeeper' package (it pulls a JRE)")
    if not ZK_JAR.exists():
        pytest.fail(f"{ZK_JAR} not found: install the Debian 'zookeeper' package")
    return java


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real standalone ZooKeeper on a free 127.0.0.1 port; yields "127.0.0.1:PORT"."""
    java = _require_zookeeper()
    root = tmp_path_factory.mktemp("zookeeper")
    data = root / "data"
    data.mkdir()
    port = free_port()
    cfg = root / "zoo.cfg"
    cfg.write_text(ZOO_CFG.format(data=data, port=port))
    (root / "log4j.properties").write_text(LOG4J)
    log_path = root / "zookeeper.log"
    # The jar's manifest carries the Debian class path of every dependency.
    cmd = [
        java,
        "-Xmx256m",
        "-Dzookeeper.admin.enableServer=false",
        "-Dzookeeper.4lw.commands.whitelist=ruok,srvr,stat,mntr",
        f"-Dlog4j.configuration=file:{root / 'log4j.properties'}",
        "-cp",
        f"{root}:{ZK_JAR}",
        "org.apache.zookeeper.server.ZooKeeperServerMain",
        str(cfg),
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"ZooKeeper exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            if four_letter(port, "ruok") == "imok" and "Mode:" in four_letter(port, "srvr"):
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"ZooKeeper not serving on 127.0.0.1:{port} after {START_TIMEOUT_S}s:\n"
                    f"{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop ZooKeeper by its pid: TERM, then KILL after a bounded wait."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
