"""Leader election of master stand-ins through the real ZooKeeper, as Mesos does it."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.mesos.mesos_standin.http import call
from tests.standins.mesos.testing import (
    Proc,
    free_ports,
    get,
    get_full,
    leader_seen_by,
    start,
    state,
    wait_for,
)

SESSION_S = 2.0  # --zk_session_timeout used here; the fixture's ZooKeeper allows 1..10 s


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in started:
        p.stop()


def _master(zookeeper: str, path: str, port: int, quorum: int, tmp: Path, i: int) -> Proc:
    return start("master", [
        f"--zk=zk://{zookeeper}{path}", f"--quorum={quorum}", f"--work_dir={tmp}/m{i}",
        "--ip=127.0.0.1", f"--port={port}", f"--zk_session_timeout={SESSION_S:g}secs",
        "--hostname=127.0.0.1",  # as the deploy does: redirects name the leader's hostname
    ], tmp / f"m{i}.log")  # fmt: skip


def _leaders(ports: list[int]) -> dict[int, str | None]:
    return {p: leader_seen_by(p) for p in ports}


def test_three_masters_elect_one_leader_and_fail_over(
    zookeeper: str, tmp_path: Path, procs: list[Proc]
) -> None:
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    ports = free_ports(3)
    for i, port in enumerate(ports):
        procs.append(_master(zookeeper, path, port, 2, tmp_path, i))

    def agreed(alive: list[int]) -> str | None:
        seen = set(_leaders(alive).values())
        return seen.pop() if len(seen) == 1 and None not in seen else None

    leader = wait_for("all three masters to agree on a leader", lambda: agreed(ports), 15)
    leader_port = int(leader.rsplit(":", 1)[1])
    elected = [p for p in ports if get(f"http://127.0.0.1:{p}/metrics/snapshot")[1]
               ["master/elected"] == 1.0]  # fmt: skip
    assert elected == [leader_port]
    follower = next(p for p in ports if p != leader_port)
    _assert_follower_redirects(follower, leader_port)

    # SIGKILL: no clean ZooKeeper close, so the ephemeral node lives until the session expires.
    victim = procs[ports.index(leader_port)]
    killed_at = time.monotonic()
    victim.stop(signal.SIGKILL)
    alive = [p for p in ports if p != leader_port]
    new_leader = wait_for("a new leader after killing the old one",
                          lambda: agreed(alive) if agreed(alive) != leader else None,
                          SESSION_S + 8)  # fmt: skip
    failover_s = time.monotonic() - killed_at
    assert new_leader != leader
    print(f"failover took {failover_s:.1f}s (session timeout {SESSION_S}s)")
    assert failover_s < SESSION_S + 5


def _assert_follower_redirects(follower: int, leader_port: int) -> None:
    """src/master/http.cpp: a non-leader answers leader-only endpoints with 307 to
    `//<leader hostname>:<port><path>` (libprocess delegates `/state` to `/master/state`),
    /redirect with the leader's base; /health and /metrics/snapshot stay local."""
    base = f"http://127.0.0.1:{follower}"
    leader = f"//127.0.0.1:{leader_port}"
    for path, target in (("/master/state", "/master/state"), ("/state", "/master/state"),
                         ("/master/frameworks", "/master/frameworks"),
                         ("/master/slaves", "/master/slaves"),
                         ("/master/state?jsonp=x", "/master/state?jsonp=x")):  # fmt: skip
        status, body, headers = get_full(base + path)
        assert (status, headers.get("Location")) == (307, leader + target), path
        assert not body, path
    status, _, headers = get_full(base + "/redirect")
    assert (status, headers["Location"]) == (307, leader)
    assert get(base + "/health")[0] == 200
    assert get(base + "/metrics/snapshot")[1]["master/elected"] == 0.0
    status, _, headers = call("POST", base + "/standin/v1/frameworks/register", {"name": "x"})
    assert (status, headers["Location"]) == (307, leader + "/standin/v1/frameworks/register")


def test_quorum_two_master_alone_never_leads(
    zookeeper: str, tmp_path: Path, procs: list[Proc]
) -> None:
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    (port,) = free_ports(1)
    procs.append(_master(zookeeper, path, port, 2, tmp_path, 0))
    wait_for("master serving", lambda: get(f"http://127.0.0.1:{port}/health")[0] == 200, 10)
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        # No leader elected: leader-only endpoints answer 503 (src/master/http.cpp redirect()).
        assert get(f"http://127.0.0.1:{port}/master/state") == (503, "No leader elected")
        assert get(f"http://127.0.0.1:{port}/metrics/snapshot")[1]["master/elected"] == 0.0
        time.sleep(0.5)
    assert get(f"http://127.0.0.1:{port}/redirect")[0] == 503
    assert get(f"http://127.0.0.1:{port}/health")[0] == 200
    # A second master completes the quorum: now exactly one leads.
    (port2,) = free_ports(1)
    procs.append(_master(zookeeper, path, port2, 2, tmp_path, 1))
    leader = wait_for("a leader once quorum is reached",
                      lambda: leader_seen_by(port) if leader_seen_by(port2) else None,
                      10)  # fmt: skip
    assert leader == f"127.0.0.1:{port}"  # the older member (lowest sequence) leads
    assert state(port)["leader"] == f"master@127.0.0.1:{port}"
