"""Marathon stand-in HA: two instances on one --zk; one leads, the other proxies; when the
leader dies (SIGKILL, so only ZooKeeper session expiry tells), the other takes over with the
apps and tasks intact and launches nothing twice."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.marathon.marathon_testkit.fake_mesos import FakeMaster, free_ports
from tests.standins.marathon.marathon_testkit.proc import Marathon, http, start, wait_for


@pytest.fixture()
def pair(zookeeper: str, tmp_path: Path) -> Iterator[tuple[FakeMaster, list[Marathon]]]:
    master = FakeMaster(agents=1)
    suffix = uuid.uuid4().hex[:8]
    procs: list[Marathon] = []
    try:
        for i, port in enumerate(free_ports(2)):
            args = ["--master", master.address, "--zk", f"zk://{zookeeper}/ha-{suffix}",
                    "--http_port", str(port), "--http_address", "127.0.0.1",
                    "--hostname", "127.0.0.1", "--zk_session_timeout", "2000"]
            procs.append(start(args, tmp_path / f"marathon{i}.log", port))
        yield master, procs
    finally:
        for proc in procs:
            proc.stop()
        master.close()


def leader_of(procs: list[Marathon]) -> str | None:
    answers = {http(p.url + "/v2/leader")[1].get("leader") for p in procs
               if p.popen.poll() is None}
    return answers.pop() if len(answers) == 1 else None


def test_one_leads_other_proxies_and_takes_over(pair: tuple[FakeMaster, list[Marathon]]
                                                 ) -> None:
    master, procs = pair
    leader_address = wait_for(lambda: leader_of(procs), 15, "instances disagree on the leader")
    leader = next(p for p in procs if p.address == leader_address)
    follower = next(p for p in procs if p is not leader)
    assert http(leader.url + "/v2/info")[1]["elected"] is True
    # LeaderProxyFilter: the follower proxies EVERY path, /v2/info and /ping included, so the
    # answer is the leader's (elected: true), marked with the follower's Via header.
    status, info, headers = http(follower.url + "/v2/info")
    assert (status, info["elected"], info["leader"]) == (200, True, leader.address)
    assert headers["X-Marathon-Via"] == f"1.1 {follower.address}"
    assert http(follower.url + "/ping")[2]["X-Marathon-Via"] == f"1.1 {follower.address}"
    assert "X-Marathon-Via" not in http(leader.url + "/ping")[2]

    # Writes and reads through the follower reach the leader (proxied, headers kept).
    app = {"id": "/ha/app", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 1}
    status, body, headers = http(follower.url + "/v2/apps", "POST", app)
    assert status == 201, body
    assert headers["Location"] == "/ha/app" and headers.get("Marathon-Deployment-Id")
    assert headers["X-Marathon-Leader"] == f"http://{leader.address}"
    wait_for(lambda: http(follower.url + "/v2/deployments")[1] == [], 15, "not deployed")
    assert http(follower.url + "/v2/apps/ha/app")[1]["app"]["tasksRunning"] == 1
    assert http(follower.url + "/v2/apps/nope")[0] == 404
    task_id = master.live_tasks()[0]["id"]
    launches = len(master.launches)
    framework_id = http(leader.url + "/v2/info")[1]["frameworkId"]

    leader.stop(signal.SIGKILL)
    # Until the dead leader's ZooKeeper session expires, the follower still proxies to it:
    # Jetty's 502 "Connection to leader refused." (AsyncUrlConnectionRequestForwarder).
    status, body, headers = http(follower.url + "/v2/apps")
    assert status == 502 and headers["Content-Type"].startswith("text/html"), (status, body)
    assert "Connection to leader refused." in body
    wait_for(lambda: http(follower.url + "/v2/leader")[1] == {"leader": follower.address},
             15, lambda: f"no takeover:\n{follower.output()[-3000:]}")
    info = http(follower.url + "/v2/info")[1]
    assert info["elected"] is True and info["frameworkId"] == framework_id
    app_now = wait_for(lambda: http(follower.url + "/v2/apps/ha/app")[1].get("app"), 10)
    assert app_now["instances"] == 1
    tasks = wait_for(lambda: http(follower.url + "/v2/apps/ha/app/tasks")[1].get("tasks"), 10)
    assert [t["id"] for t in tasks] == [task_id]
    # The new leader registered again with the same framework id and started nothing new.
    wait_for(lambda: master.registrations[-1]["id"] == framework_id
             and len(master.registrations) >= 2, 10)
    assert len(master.launches) == launches
    assert [t["id"] for t in master.live_tasks()] == [task_id]


def test_a_new_leader_keeps_a_running_task_the_new_mesos_master_does_not_know_yet(
        pair: tuple[FakeMaster, list[Marathon]]) -> None:
    """A deploy restarts the leading Mesos master and the Marathon leader last, so a new
    Marathon leader can register with a master whose agents have not re-registered yet. Real
    Marathon keeps the task (the master answers nothing for it: docs/REAL-CONTRACTS.md); the
    stand-in used to call a task launched long ago lost at once ("task is not known to Mesos"),
    so every load balancer lost the app's only backend until it was adopted again (found in the
    e2e shrink's journals)."""
    master, procs = pair
    leader_address = wait_for(lambda: leader_of(procs), 15, "instances disagree on the leader")
    leader = next(p for p in procs if p.address == leader_address)
    follower = next(p for p in procs if p is not leader)
    app = {"id": "/ha/kept", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 1}
    assert http(leader.url + "/v2/apps", "POST", app)[0] == 201
    wait_for(lambda: http(leader.url + "/v2/deployments")[1] == [], 15, "not deployed")
    task_id = master.live_tasks()[0]["id"]
    launches = len(master.launches)
    time.sleep(21.0)  # launched longer ago than the stand-in's grace for a missing task

    master.fail_over()
    leader.stop(signal.SIGKILL)
    registrations = len(master.registrations)
    wait_for(lambda: len(master.registrations) > registrations, 20,
             lambda: f"the follower never registered:\n{follower.output()[-3000:]}")
    for _ in range(8):  # several scheduler rounds against a master that lists no task
        time.sleep(0.5)
        tasks = http(follower.url + "/v2/apps/ha/kept/tasks")[1].get("tasks")
        assert [t["id"] for t in tasks or []] == [task_id], follower.output()[-3000:]
    master.agents_reregister()
    time.sleep(2.0)
    tasks = http(follower.url + "/v2/apps/ha/kept/tasks")[1].get("tasks")
    assert [(t["id"], t["state"]) for t in tasks] == [(task_id, "TASK_RUNNING")]
    assert len(master.launches) == launches and "TASK_LOST" not in follower.output()


def test_no_leader_means_502_html_on_every_path(zookeeper: str, tmp_path: Path) -> None:
    """With ZooKeeper reachable but no leader known (HA with a foreign leader node that holds
    no address), LeaderProxyFilter waits ~2.5 s, then answers every path, /ping and
    /v2/leader included, with Jetty's 502 page "Could not determine the current leader"."""
    from kazoo.client import KazooClient

    suffix = uuid.uuid4().hex[:8]
    zk = KazooClient(hosts=zookeeper, timeout=5)
    zk.start(timeout=10)
    try:
        # A lower member whose data is gone: the stand-in must not think it leads.
        zk.create(f"/noleader-{suffix}/leader-curator/_c_{uuid.uuid4()}-latch-", b"",
                  ephemeral=True, sequence=True, makepath=True)
        port = free_ports(1)[0]
        proc = start(["--master", "127.0.0.1:1", "--zk", f"zk://{zookeeper}/noleader-{suffix}",
                      "--http_port", str(port), "--http_address", "127.0.0.1",
                      "--hostname", "127.0.0.1"], tmp_path / "m.log", port, ready=502)
        try:
            for path in ("/ping", "/v2/leader", "/v2/info", "/v2/apps", "/ui/"):
                began = time.monotonic()
                status, body, headers = http(proc.url + path)
                waited = time.monotonic() - began
                assert status == 502, (path, status, body)
                assert headers["Content-Type"].startswith("text/html"), path
                assert "<title>Error 502 Could not determine the current leader</title>" in body
                assert 2.4 <= waited < 6, (path, waited)
        finally:
            proc.stop()
    finally:
        zk.stop()
        zk.close()
