"""Marathon 1.10 and Mesos maintenance, in the stand-in: offers of an agent with a scheduled
unavailability are declined (maintenance_mode is on by default), a task killed through the API
with scale=false is launched again elsewhere once it is terminal, and tasks that end because
their agent went DOWN are replaced (d2iq-archive/marathon v1.10.26: MarathonConf.scala
`maintenance_mode`/`draining_seconds`, mesos/Availability.scala, mesos/ResourceMatcher.scala,
api/v2/AppTasksResource.scala `deleteOne`, api/RestResource.scala, MarathonSchedulerDriver.scala
PARTITION_AWARE). Real ZooKeeper; the fake Mesos master of marathon_testkit."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kazoo.client import KazooClient

from tests.standins.marathon.marathon_standin.placement import offer_available
from tests.standins.marathon.marathon_testkit.fake_mesos import FakeMaster, free_ports
from tests.standins.marathon.marathon_testkit.proc import Marathon, http, start, wait_for

NS = 1_000_000_000


def test_offer_availability_window() -> None:
    start_s = 1000.0
    window = {"start": {"nanoseconds": int(start_s * NS)}}
    assert offer_available(None, 0, start_s + 5)
    assert offer_available(window, 0, start_s - 1)  # before the window: offers are used
    assert not offer_available(window, 0, start_s + 1)  # no duration: declined for good
    assert not offer_available(window, 0, start_s + 10**6)
    assert not offer_available(window, 300, start_s - 1)  # --draining_seconds before start
    bounded = dict(window, duration={"nanoseconds": 60 * NS})
    assert not offer_available(bounded, 0, start_s + 30)
    assert offer_available(bounded, 0, start_s + 61)  # after the window: used again


@pytest.fixture
def master() -> Iterator[FakeMaster]:
    fake = FakeMaster(agents=2)
    yield fake
    fake.close()


def run_marathon(zookeeper: str, master: FakeMaster, tmp: Path, *extra: str
                 ) -> tuple[Marathon, KazooClient]:
    suffix = uuid.uuid4().hex[:8]
    zk = KazooClient(hosts=zookeeper, timeout=5)
    zk.start(timeout=10)
    info = {"address": {"hostname": "fake", "ip": "127.0.0.1", "port": master.port},
            "hostname": "fake", "id": "fake-master", "pid": f"master@{master.address}",
            "port": master.port, "version": "1.11.0"}
    zk.create(f"/mesos-{suffix}/json.info_", json.dumps(info).encode(), ephemeral=True,
              sequence=True, makepath=True)
    port = free_ports(1)[0]
    args = ["--master", f"zk://{zookeeper}/mesos-{suffix}", "--http_port", str(port),
            "--hostname", "127.0.0.1", "--zk_session_timeout", "2000", *extra]
    env = {"MARATHON_ZK": f"zk://{zookeeper}/marathon-{suffix}",
           "MARATHON_HTTP_ADDRESS": "127.0.0.1"}
    return start(args, tmp / "marathon.log", port, env), zk


def app(app_id: str, instances: int) -> dict[str, Any]:
    return {"id": app_id, "cmd": "serve", "cpus": 0.1, "mem": 32, "instances": instances,
            "networks": [{"mode": "container/bridge"}],
            "container": {"type": "DOCKER", "docker": {"image": "hello:1.0"},
                          "portMappings": [{"containerPort": 8080, "hostPort": 0}]}}


def live(master: FakeMaster) -> dict[str, str]:
    """task id -> agent id of the fake master's live tasks."""
    return {t["id"]: t["slave_id"] for t in master.live_tasks()}


def test_draining_agent_gets_nothing_and_killed_tasks_move(
        zookeeper: str, master: FakeMaster, tmp_path: Path) -> None:
    marathon, zk = run_marathon(zookeeper, master, tmp_path)
    try:
        status, body, _ = http(marathon.url + "/v2/apps", "POST", app("/web", 2))
        assert status == 201, body
        wait_for(lambda: len(live(master)) == 2, 20, lambda: marathon.output()[-3000:])
        # fake-S0 goes into maintenance now: its offers are declined from here on.
        master.slaves[0]["unavailability"] = {"start": {"nanoseconds": time.time_ns()}}
        held: list[tuple[str, str]] = []
        end_task = master.end_task
        master.end_task = lambda tid, state: held.append((tid, state))  # type: ignore[method-assign]
        on_s0 = [tid for tid, agent in live(master).items() if agent == "fake-S0"]
        victim = on_s0[0] if on_s0 else next(iter(live(master)))
        status, body, _ = http(f"{marathon.url}/v2/apps/web/tasks/{victim}?scale=false",
                               "DELETE")
        assert status == 200 and body["task"]["id"] == victim, body
        wait_for(lambda: held, 10, "the kill never reached Mesos")
        time.sleep(2.5)  # two scheduling rounds: no replacement while the kill is pending
        assert len(master.launches) == 2
        end_task(*held[0])
        wait_for(lambda: len(live(master)) == 2, 20, lambda: marathon.output()[-3000:])
        new = set(live(master)) - {victim}
        assert all(live(master)[t] == "fake-S1" for t in new - set(on_s0))
        # Tasks ended by Machine DOWN (the agent is removed) are replaced, not on fake-S0.
        master.end_task = end_task  # type: ignore[method-assign]
        for tid, agent in list(live(master).items()):
            if agent == "fake-S0":
                end_task(tid, "TASK_GONE_BY_OPERATOR")
        wait_for(lambda: len(live(master)) == 2 and set(live(master).values()) == {"fake-S1"},
                 20, lambda: f"{live(master)}\n{marathon.output()[-3000:]}")
        assert master.registrations[-1]["capabilities"] == [{"type": "PARTITION_AWARE"}]
        assert http(marathon.url + "/v2/apps/web/tasks/nope.1", "DELETE")[:2] == (
            404, {"message": "Task 'nope.1' does not exist"})
        assert http(marathon.url + "/v2/apps/nope/tasks/nope.1", "DELETE")[:2] == (
            404, {"message": "App '/nope' does not exist"})
    finally:
        marathon.stop()
        zk.stop()
        zk.close()


def test_disable_maintenance_mode_uses_draining_agents(
        zookeeper: str, master: FakeMaster, tmp_path: Path) -> None:
    master.slaves[1]["unavailability"] = {"start": {"nanoseconds": time.time_ns()}}
    marathon, zk = run_marathon(zookeeper, master, tmp_path, "--disable_maintenance_mode")
    try:
        assert http(marathon.url + "/v2/apps", "POST", app("/web", 2))[0] == 201
        wait_for(lambda: len(live(master)) == 2, 20, lambda: marathon.output()[-3000:])
        assert "fake-S1" in live(master).values()  # the draining agent's offers are used
    finally:
        marathon.stop()
        zk.stop()
        zk.close()
