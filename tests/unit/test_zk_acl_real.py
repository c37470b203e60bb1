"""zk_acl's real zkCli scripts against a real ZooKeeper 3.8 (Debian's package), started on a
free 127.0.0.1 port with throwaway data and stopped by its pid.

Pins: an open /mesos with an open child, an open Marathon latch directory and a missing
/marathon get the ACLs Mesos and Marathon give their own nodes; a second run finds nothing
to do; afterwards an unauthenticated write is refused; nodes closed with other credentials give
one clear line, never a change.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos.zk_acl import (
    WORLD_READ,
    ZK_CLI,
    auth_file_content,
    change_command,
    change_lines,
    decide,
    digest_id,
    fact_command,
    parse_fact,
    wanted_trees,
)
from tests.standins.conftest import (
    LOG4J,
    ZK_JAR,
    ZOO_CFG,
    _require_zookeeper,
    _stop,
    four_letter,
    free_port,
)

MESOS, MARATHON = "mesos:" + "a1" * 32, "marathon:" + "b2" * 32
TREES = wanted_trees({}, MESOS, MARATHON)
START_TIMEOUT_S = 30.0


@pytest.fixture()
def zk(tmp_path: Path) -> Iterator[int]:
    """A fresh standalone ZooKeeper; yields its port."""
    java = _require_zookeeper()
    (tmp_path / "data").mkdir()
    port = free_port()
    (tmp_path / "zoo.cfg").write_text(ZOO_CFG.format(data=tmp_path / "data", port=port))
    (tmp_path / "log4j.properties").write_text(LOG4J)
    with open(tmp_path / "zk.log", "wb") as log:
        proc = subprocess.Popen(
            [java, "-Xmx128m", f"-Dlog4j.configuration=file:{tmp_path / 'log4j.properties'}",
             "-cp", f"{tmp_path}:{ZK_JAR}", "org.apache.zookeeper.server.ZooKeeperServerMain",
             str(tmp_path / "zoo.cfg")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Mode:" not in four_letter(port, "srvr"):
            assert proc.poll() is None, (tmp_path / "zk.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "ZooKeeper did not start"
            time.sleep(0.2)
        yield port
    finally:
        _stop(proc)


def zkcli(port: int, *lines: str) -> str:
    """Run zkCli unauthenticated with `lines` on stdin; stdout and stderr together."""
    return subprocess.run([ZK_CLI, "-server", f"127.0.0.1:{port}"],
                          input="".join(f"{line}\n" for line in lines), capture_output=True,
                          text=True, timeout=60, check=True).stdout


def run(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=120)


def read(port: int, auth: Path) -> dict[str, Any]:
    done = run(fact_command([t.base for t in TREES], port, 10000, str(auth)))
    assert done.returncode == 0, done.stderr
    return parse_fact(done.stdout.splitlines())


def test_open_nodes_get_the_acls_once_and_writes_are_refused_after(zk: int,
                                                                   tmp_path: Path) -> None:
    zkcli(zk, "create /mesos", "create /mesos/log_replicas x", "create /mesos/log_replicas/r1 x")
    auth = tmp_path / "auth"
    auth.write_text(auth_file_content(MESOS, MARATHON))
    plan = decide(read(zk, auth), TREES, "z1")
    assert plan.problems == []
    assert [p for p, _ in plan.creates] == ["/marathon"]
    assert [p for p, _ in plan.setacls] == ["/mesos", "/mesos/log_replicas",
                                            "/mesos/log_replicas/r1"]
    done = run(change_command(change_lines(plan), zk, 10000, str(auth)))
    assert done.returncode == 0, done.stderr

    observed = read(zk, auth)
    mesos_acl = sorted([["digest", digest_id(MESOS), "cdrwa"], list(WORLD_READ)])
    for path in ("/mesos", "/mesos/log_replicas", "/mesos/log_replicas/r1"):
        assert observed["nodes"][path] == {"exists": True, "acl": mesos_acl}
    assert observed["nodes"]["/marathon"]["acl"] == [["digest", digest_id(MARATHON), "cdrwa"]]
    second = decide(observed, TREES, "z1")
    assert not second and second.problems == []

    # Without the digests: no write under either path; /mesos still readable (agents).
    out = subprocess.run([ZK_CLI, "-server", f"127.0.0.1:{zk}"], capture_output=True, text=True,
                         input="create /mesos/x y\ncreate /marathon/x y\nget /mesos/log_replicas\n",
                         timeout=60)
    assert "Insufficient permission : /mesos/x" in out.stderr
    assert "Insufficient permission : /marathon/x" in out.stderr
    assert out.stdout.splitlines()[-1] == "x"


def test_marathons_latch_directory_keeps_world_read(zk: int, tmp_path: Path) -> None:
    zkcli(zk, "create /marathon", "create /marathon/leader-curator", "create /marathon/state x")
    auth = tmp_path / "auth"
    auth.write_text(auth_file_content(MESOS, MARATHON))
    plan = decide(read(zk, auth), TREES, "z1")
    assert run(change_command(change_lines(plan), zk, 10000, str(auth))).returncode == 0
    nodes = read(zk, auth)["nodes"]
    ours = ["digest", digest_id(MARATHON), "cdrwa"]
    assert nodes["/marathon/leader-curator"]["acl"] == sorted([ours, list(WORLD_READ)])
    assert nodes["/marathon/state"]["acl"] == [ours]
    assert not decide(read(zk, auth), TREES, "z1")


def test_nodes_closed_with_other_credentials_give_one_clear_line(zk: int,
                                                                 tmp_path: Path) -> None:
    old = "mesos:old-secret"
    zkcli(zk, f"create /mesos '' digest:{digest_id(old)}:cdrwa,world:anyone:r")
    auth = tmp_path / "auth"
    auth.write_text(auth_file_content(MESOS, MARATHON))
    plan = decide(read(zk, auth), TREES, "z1")
    assert plan.problems == [
        "error: z1: zookeeper_mesos_credentials: /mesos carries a ZooKeeper digest ACL that is "
        "not the current credentials' (changed since it was set?): open it with the old ones "
        "(zkCli.sh, typed: addauth digest mesos:<old secret>; setAcl -R /mesos "
        "world:anyone:cdrwa), or set zookeeper_mesos_credentials back, and re-run"]
    assert "old-secret" not in plan.problems[0]


def test_a_refused_change_fails_with_zkclis_line(zk: int, tmp_path: Path) -> None:
    zkcli(zk, f"create /mesos '' digest:{digest_id('mesos:other')}:cdrwa")
    auth = tmp_path / "auth"
    auth.write_text(auth_file_content(MESOS, MARATHON))
    done = run(change_command(["setAcl /mesos world:anyone:r"], zk, 10000, str(auth)))
    assert done.returncode == 1
    assert "Insufficient permission : /mesos" in done.stderr


def test_no_server_is_a_failed_connection_not_a_reading(tmp_path: Path) -> None:
    port = free_port()
    assert read(port, tmp_path / "none") == {"reachable": False, "nodes": {}}
    done = run(change_command(["create /mesos"], port, 1000, str(tmp_path / "none")))
    assert done.returncode == 1 and "could not connect" in done.stderr
