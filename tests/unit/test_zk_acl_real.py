"""zk_acl's real zkCli scripts against a real ZooKeeper 3.8 (Debian's package), started on a
free 127.0.0.1 port with throwaway data and stopped by its pid.

Pins: an open /mesos with open children, an open Marathon latch directory and a missing
/marathon end fully closed in one change (the host-side sweep), as Mesos and Marathon close their
own nodes; the next run reads the fixed nodes alone in ONE zkCli run (counted through a wrapper)
and finds nothing to do, whatever the trees hold (500 nodes under /marathon); a base closed
with other credentials gives one clear line at planning, a child closed so gives it from the
sweep, never a change; a child opened by hand under a closed base is not seen (the documented
trade-off of reading the bases only).
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
    Plan,
    auth_file_content,
    change_command,
    decide,
    digest_id,
    fact_command,
    fact_paths,
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
MESOS_ACL = sorted([["digest", digest_id(MESOS), "cdrwa"], list(WORLD_READ)])
MARATHON_ACL = [["digest", digest_id(MARATHON), "cdrwa"]]
LATCH_ACL = sorted([*MARATHON_ACL, list(WORLD_READ)])
OPEN_ACL = [["world", "anyone", "cdrwa"]]
# Marathon's state in production: hundreds to thousands of znodes (apps, tasks, deployments).
STATE_NODES = 500


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


def zkcli(port: int, *lines: str, auth: str = "") -> str:
    """Run zkCli with `auth` (addauth lines) then `lines` on stdin; its stdout."""
    return subprocess.run([ZK_CLI, "-server", f"127.0.0.1:{port}"],
                          input=auth + "".join(f"{line}\n" for line in lines),
                          capture_output=True, text=True, timeout=120, check=True).stdout


def run(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=300)


@pytest.fixture()
def auth(tmp_path: Path) -> Path:
    """The deploy's 0600 AUTH_FILE, with both digests."""
    path = tmp_path / "auth"
    path.write_text(auth_file_content(MESOS, MARATHON))
    path.chmod(0o600)
    return path


@pytest.fixture()
def counted(tmp_path: Path) -> tuple[str, Path]:
    """A zkCli.sh wrapper that counts its invocations (one line each) in a file."""
    count, wrapper = tmp_path / "zkcli-runs", tmp_path / "zkCli.sh"
    count.write_text("")
    wrapper.write_text(f"#!/bin/sh\necho run >> {count}\nexec {ZK_CLI} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper), count


def runs(count: Path) -> int:
    return len(count.read_text().splitlines())


def read(port: int, auth: Path, zk_cli: str = ZK_CLI) -> dict[str, Any]:
    """The fact, as the operation reads it."""
    done = run(fact_command(fact_paths(TREES), port, 10000, str(auth), zk_cli))
    assert done.returncode == 0, done.stderr
    return parse_fact(done.stdout.splitlines())


def read_all(port: int, auth: Path) -> dict[str, Any]:
    """Every node under both bases (`ls -R`, then the fact's reader over all of them)."""
    listing = zkcli(port, *(f"ls -R {t.base}" for t in TREES), auth=auth.read_text())
    paths = sorted({line for line in listing.splitlines()
                    if any(t.holds(line) for t in TREES)})
    done = run(fact_command(paths, port, 10000, str(auth)))
    assert done.returncode == 0, done.stderr
    return parse_fact(done.stdout.splitlines())["nodes"]


def change(port: int, plan: Plan, auth: Path,
           zk_cli: str = ZK_CLI) -> subprocess.CompletedProcess[str]:
    return run(change_command(plan, TREES, "z1", port, 10000, str(auth), zk_cli))


def test_an_open_tree_ends_fully_closed_in_one_run_and_the_next_reads_one_zkcli_run(
        zk: int, auth: Path, counted: tuple[str, Path]) -> None:
    zkcli(zk, "create /mesos", "create /mesos/log_replicas x", "create /mesos/log_replicas/r1 x",
          "create /mesos/json.info_0000000001 y")
    plan = decide(read(zk, auth), TREES, "z1")
    assert plan.problems == []
    assert [p for p, _ in plan.creates] == ["/marathon"]
    assert [p for p, _ in plan.setacls] == ["/mesos"]
    assert plan.sweep == ["/mesos", "/marathon"]
    wrapper, count = counted
    done = change(zk, plan, auth, wrapper)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert runs(count) == 3          # create+set+list, read the children, set the children

    nodes = read_all(zk, auth)
    assert sorted(nodes) == ["/marathon", "/mesos", "/mesos/json.info_0000000001",
                             "/mesos/log_replicas", "/mesos/log_replicas/r1"]
    for path, node in nodes.items():
        assert node == {"exists": True,
                        "acl": MESOS_ACL if path.startswith("/mesos") else MARATHON_ACL}, path

    count.write_text("")
    second = decide(read(zk, auth, wrapper), TREES, "z1")
    assert not second and second.problems == [] and runs(count) == 1

    # Without the digests: no write under either path; /mesos still readable (agents).
    out = subprocess.run([ZK_CLI, "-server", f"127.0.0.1:{zk}"], capture_output=True, text=True,
                         input="create /mesos/x y\ncreate /marathon/x y\nget /mesos/log_replicas\n",
                         timeout=60)
    assert "Insufficient permission : /mesos/x" in out.stderr
    assert "Insufficient permission : /marathon/x" in out.stderr
    assert out.stdout.splitlines()[-1] == "x"


def test_a_fresh_cluster_costs_one_zkcli_run_to_close(zk: int, auth: Path,
                                                      counted: tuple[str, Path]) -> None:
    plan = decide(read(zk, auth), TREES, "z1")
    assert [p for p, _ in plan.creates] == ["/mesos", "/marathon"] and not plan.setacls
    wrapper, count = counted
    assert change(zk, plan, auth, wrapper).returncode == 0
    assert runs(count) == 1
    assert read_all(zk, auth) == {"/mesos": {"exists": True, "acl": MESOS_ACL},
                                  "/marathon": {"exists": True, "acl": MARATHON_ACL}}


def test_marathons_latch_directory_keeps_world_read(zk: int, auth: Path) -> None:
    zkcli(zk, "create /marathon", "create /marathon/leader-curator",
          "create /marathon/leader-curator/latch-1 x", "create /marathon/state x")
    plan = decide(read(zk, auth), TREES, "z1")
    assert [p for p, _ in plan.setacls] == ["/marathon", "/marathon/leader-curator"]
    assert change(zk, plan, auth).returncode == 0
    nodes = read_all(zk, auth)
    assert nodes["/marathon/leader-curator"]["acl"] == LATCH_ACL
    assert nodes["/marathon/leader-curator/latch-1"]["acl"] == MARATHON_ACL
    assert nodes["/marathon/state"]["acl"] == MARATHON_ACL
    assert not decide(read(zk, auth), TREES, "z1")


def test_a_base_closed_with_other_credentials_gives_one_clear_line(zk: int, auth: Path) -> None:
    old = "mesos:old-secret"
    zkcli(zk, f"create /mesos '' digest:{digest_id(old)}:cdrwa,world:anyone:r")
    plan = decide(read(zk, auth), TREES, "z1")
    assert plan.problems == [
        "error: z1: zookeeper_mesos_credentials: /mesos carries a ZooKeeper digest ACL that is "
        "not the current credentials' (changed since it was set?): open it with the old ones "
        "(zkCli.sh, typed: addauth digest mesos:<old secret>; setAcl -R /mesos "
        "world:anyone:cdrwa), or set zookeeper_mesos_credentials back, and re-run"]
    assert "old-secret" not in plan.problems[0]


def test_a_child_closed_with_other_credentials_fails_the_sweep_with_the_clear_line(
        zk: int, auth: Path) -> None:
    zkcli(zk, "create /mesos", "create /mesos/a x",
          f"create /mesos/old x digest:{digest_id('mesos:old-secret')}:cdrwa")
    plan = decide(read(zk, auth), TREES, "z1")
    assert plan.problems == [] and plan.sweep == ["/mesos", "/marathon"]
    done = change(zk, plan, auth)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: z1: zookeeper_mesos_credentials: /mesos/old carries a ZooKeeper digest ACL that "
        "is not the current credentials' (changed since it was set?): open it with the old ones "
        "(zkCli.sh, typed: addauth digest mesos:<old secret>; setAcl -R /mesos "
        "world:anyone:cdrwa), or set zookeeper_mesos_credentials back, and re-run"]
    assert "old-secret" not in done.stdout + done.stderr and MESOS not in done.stderr
    # The bases closed in run 1; no child was set by a sweep that found a problem.
    nodes = read_all(zk, auth)
    assert nodes["/mesos"]["acl"] == MESOS_ACL and nodes["/mesos/a"]["acl"] == OPEN_ACL


def test_a_child_opened_by_hand_under_a_closed_base_is_not_seen(zk: int, auth: Path) -> None:
    # The trade-off of reading the bases alone (zk_acl.py): only a digest holder can open a
    # child of a closed base, and the steady-state read does not look under it.
    plan = decide(read(zk, auth), TREES, "z1")
    assert change(zk, plan, auth).returncode == 0
    zkcli(zk, "create /mesos/child x", "setAcl /mesos/child world:anyone:cdrwa",
          auth=auth.read_text())
    assert read_all(zk, auth)["/mesos/child"]["acl"] == OPEN_ACL
    assert not decide(read(zk, auth), TREES, "z1")


def test_marathons_state_does_not_grow_the_steady_state_read(zk: int, auth: Path,
                                                             counted: tuple[str, Path]) -> None:
    zkcli(zk, "create /marathon", "create /marathon/state",
          *(f"create /marathon/state/app-{i:04d} x" for i in range(STATE_NODES)))
    plan = decide(read(zk, auth), TREES, "z1")
    wrapper, count = counted
    assert change(zk, plan, auth, wrapper).returncode == 0 and runs(count) == 3
    nodes = read_all(zk, auth)
    assert len(nodes) == STATE_NODES + 3
    assert all(n["acl"] == (MESOS_ACL if p == "/mesos" else MARATHON_ACL)
               for p, n in nodes.items())

    count.write_text("")
    started = time.monotonic()
    done = run(fact_command(fact_paths(TREES), zk, 10000, str(auth), wrapper))
    elapsed = time.monotonic() - started
    observed = parse_fact(done.stdout.splitlines())
    assert runs(count) == 1 and sorted(observed["nodes"]) == sorted(fact_paths(TREES))
    assert not decide(observed, TREES, "z1")
    print(f"steady-state fact with {STATE_NODES} nodes under /marathon: {elapsed:.2f} s")


def test_a_refused_change_fails_with_zkclis_line(zk: int, auth: Path) -> None:
    zkcli(zk, f"create /mesos '' digest:{digest_id('mesos:other')}:cdrwa")
    tree = TREES[0]
    done = change(zk, Plan(setacls=[("/mesos", tree.acl)]), auth)
    assert done.returncode == 1
    assert "Insufficient permission : /mesos" in done.stderr


def test_no_server_is_a_failed_connection_not_a_reading(tmp_path: Path) -> None:
    port = free_port()
    # No digest file either (tmp_path / "none"): the read says so.
    assert read(port, tmp_path / "none") == {"reachable": False, "authenticated": False,
                                             "nodes": {}}
    plan = Plan(creates=[("/mesos", TREES[0].acl)], sweep=["/mesos"])
    done = run(change_command(plan, TREES, "z1", port, 1000, str(tmp_path / "none")))
    assert done.returncode == 1 and "could not connect" in done.stderr
