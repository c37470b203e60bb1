"""Mesos maintenance in the master and agent stand-ins, as Mesos 1.11 does it (apache/mesos
1.11.0 src/master/http.cpp `maintenanceSchedule`, `_startMaintenance`, `_stopMaintenance`,
`_getMaintenanceStatus`; src/master/maintenance.cpp; src/master/master.cpp `registerSlave`,
`reregisterSlave`, `__removeSlave`; src/slave/slave.cpp `shutdown`; src/slave/main.cpp)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.standins.mesos.mesos_standin.http import call
from tests.standins.mesos.testing import (
    Proc,
    Scheduler,
    free_ports,
    get_full,
    start,
    state,
    wait_for,
)
from tests.standins.test_mesos_agent_docker import FAKE_DOCKER

A1 = {"hostname": "a1", "ip": "127.0.0.1"}


def window(*ids: dict[str, str], start_ns: int = 1, duration: int | None = None) -> dict[str, Any]:
    unavailability: dict[str, Any] = {"start": {"nanoseconds": start_ns}}
    if duration is not None:
        unavailability["duration"] = {"nanoseconds": duration}
    return {"machine_ids": list(ids), "unavailability": unavailability}


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in started:
        p.stop()


def master(tmp: Path, procs: list[Proc], *extra: str) -> str:
    (port,) = free_ports(1)
    procs.append(start("master", [f"--work_dir={tmp}/m", "--ip=127.0.0.1", f"--port={port}",
                                  *extra], tmp / "m.log"))  # fmt: skip
    wait_for("master up", lambda: get_full(f"http://127.0.0.1:{port}/health")[0] == 200, 15)
    return f"http://127.0.0.1:{port}"


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, reply, _ = call("POST", url, body, headers=headers)
    return status, reply


def test_schedule_validation_and_modes(tmp_path: Path, procs: list[Proc]) -> None:
    url = master(tmp_path, procs)
    sched, down, up = (url + p for p in ("/master/maintenance/schedule", "/master/machine/down",
                                         "/master/machine/up"))  # fmt: skip
    assert get_full(sched)[1] == {} and get_full(url + "/master/maintenance/status")[1] == {}
    refusals = [
        ({"windows": [window()]}, "List of machines in the maintenance window is empty"),
        ({"windows": [window({})]}, "Both 'hostname' and 'ip' for a machine are empty"),
        ({"windows": [window({"ip": "a1"})]}, "Failed to parse IPv4: a1"),
        ({"windows": [window(A1, duration=-1)]}, "Unavailability 'duration' is negative"),
        ({"windows": [window(A1), window({"hostname": "A1", "ip": "127.0.0.1"})]},
         'Machine \'{"hostname":"A1","ip":"127.0.0.1"}\' appears more than once in the schedule'),
        ({"windows": [{"machine_ids": [A1]}]},
         "Missing required fields: windows[0].unavailability"),
        ([], "Unexpected JSON type parsed"),
    ]  # fmt: skip
    for body, message in refusals:
        assert post(sched, body) == (400, message), body
    # Only DRAINING machines go down, only DOWN machines come up, unknown ones are neither.
    assert post(down, [A1]) == (400, f"Machine '{json.dumps(A1, separators=(',', ':'))}' is not "
                                     "part of a maintenance schedule")  # fmt: skip
    assert post(down, []) == (400, "List of machines is empty")
    assert post(down, {"hostname": "a1"}) == (400, "Unexpected JSON type parsed")
    schedule = {"windows": [window(A1, {"hostname": "a2"}, start_ns=5, duration=10)]}
    assert post(sched, dict(schedule, ignored=True)) == (200, None)
    assert get_full(sched)[1] == schedule  # JSON::protobuf: unknown keys are gone
    assert get_full(url + "/master/maintenance/status")[1] == {
        "draining_machines": [{"id": A1}, {"id": {"hostname": "a2"}}]}
    assert post(up, [A1]) == (400, 'Machine \'{"hostname":"a1","ip":"127.0.0.1"}\' is not in '
                                   "DOWN mode and cannot be brought up")  # fmt: skip
    assert post(down, [A1]) == (200, None)
    assert post(down, [A1])[1].endswith("is not in DRAINING mode and cannot be brought down")
    assert get_full(url + "/master/maintenance/status")[1] == {
        "draining_machines": [{"id": {"hostname": "a2"}}], "down_machines": [A1]}
    # A DOWN machine may not leave the schedule; a2 may (back to UP, out of the status).
    assert post(sched, {}) == (400, 'Machine \'{"hostname":"a1","ip":"127.0.0.1"}\' is '
                                    "deactivated and cannot be removed from the schedule")
    assert post(sched, {"windows": [window(A1)]}) == (200, None)
    assert get_full(url + "/master/maintenance/status")[1] == {"down_machines": [A1]}
    # machine/up: UP again and out of the schedule (the emptied window and schedule go too).
    assert post(up, [A1]) == (200, None)
    assert get_full(sched)[1] == {} and get_full(url + "/master/maintenance/status")[1] == {}
    status, body, headers = get_full(down)
    assert (status, body, headers.get("Allow")) == (
        405, "Expecting one of { 'POST' }, but received 'GET'", "POST")


def test_a_new_leader_recovers_the_schedule_and_the_down_machines(
        zookeeper: str, tmp_path: Path, procs: list[Proc]) -> None:
    """Maintenance lives in the registry (src/master/registry.proto `machines`, `schedules`),
    which a newly elected master recovers (src/master/master.cpp `_recover`): after a failover
    the schedule and the DOWN machine are still there, and machine/up works on the new leader.
    """
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    ports = free_ports(2)
    for i, port in enumerate(ports):  # one after the other: the first to join leads
        procs.append(start("master", [
            "--quorum=1", f"--work_dir={tmp_path}/m{i}", "--ip=127.0.0.1", f"--port={port}",
            f"--zk=zk://{zookeeper}{path}", "--zk_session_timeout=2secs",
        ], tmp_path / f"m{i}.log"))  # fmt: skip
        wait_for("master up", lambda port=port: get_full(f"http://127.0.0.1:{port}/health")[0]
                 == 200, 15)
        if i == 0:
            wait_for("m1 leads", lambda: state(ports[0])["leader"]
                     == f"master@127.0.0.1:{ports[0]}", 15)
    m1, m2 = (f"http://127.0.0.1:{p}" for p in ports)
    schedule = {"windows": [window(A1, {"hostname": "a2"}, start_ns=5, duration=10)]}
    assert post(m1 + "/master/maintenance/schedule", schedule) == (200, None)
    assert post(m1 + "/master/machine/down", [A1]) == (200, None)
    procs[0].stop()
    wait_for("m2 leads", lambda: state(ports[1])["leader"] == f"master@127.0.0.1:{ports[1]}", 15)
    assert get_full(m2 + "/master/maintenance/schedule")[1] == schedule
    assert get_full(m2 + "/master/maintenance/status")[1] == {
        "draining_machines": [{"id": {"hostname": "a2"}}], "down_machines": [A1]}
    assert post(m2 + "/master/machine/up", [A1]) == (200, None)
    assert get_full(m2 + "/master/maintenance/status")[1] == {
        "draining_machines": [{"id": {"hostname": "a2"}}]}


def test_maintenance_endpoints_are_in_their_realms(tmp_path: Path, procs: list[Proc]) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(json.dumps({"credentials": [{"principal": "ops", "secret": "s"}]}))
    creds.chmod(0o600)
    url = master(tmp_path, procs, f"--credentials={creds}", "--authenticate_http_readwrite",
                 "--authenticate_http_readonly")
    auth = {"Authorization": "Basic " + base64.b64encode(b"ops:s").decode()}
    for path in ("/master/machine/down", "/machine/down", "/master/machine/up", "/machine/up"):
        status, _, headers = call("POST", url + path, [A1])
        assert (status, headers["WWW-Authenticate"]) == (
            401, 'Basic realm="mesos-master-readwrite"'), path
        assert post(url + path, [A1], auth)[0] == 400, path  # past the realm: Mesos's refusal
    for path in ("/master/maintenance/status", "/maintenance/status"):
        status, _, headers = get_full(url + path)
        assert (status, headers["WWW-Authenticate"]) == (
            401, 'Basic realm="mesos-master-readonly"'), path
        assert call("GET", url + path, headers=auth)[:2] == (200, {}), path


def test_down_shuts_the_agent_down_and_ends_its_tasks(tmp_path: Path, procs: list[Proc]) -> None:
    bin_dir, fake_dir = tmp_path / "bin", tmp_path / "docker"
    bin_dir.mkdir()
    fake_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_DOCKER_DIR": str(fake_dir)}
    url = master(tmp_path, procs)
    mport = int(url.rsplit(":", 1)[1])
    (aport,) = free_ports(1)
    args = [f"--master=127.0.0.1:{mport}", f"--work_dir={tmp_path}/a", "--ip=127.0.0.1",
            f"--port={aport}", "--hostname=a1", "--containerizers=docker,mesos",
            "--executor_shutdown_grace_period=1secs",
            "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31010]"]  # fmt: skip
    agent = start("agent", args, tmp_path / "a.log", env=env)
    procs.append(agent)
    scheduler, other = Scheduler(), Scheduler()
    try:
        agent_id = wait_for("agent registered", lambda: state(mport)["slaves"], 10)[0]["id"]
        aware = post(url + "/standin/v1/frameworks/register", {
            "name": "marathon", "pid": scheduler.pid,
            "capabilities": [{"type": "PARTITION_AWARE"}]})[1]["id"]
        plain = post(url + "/standin/v1/frameworks/register",
                     {"name": "old", "pid": other.pid})[1]["id"]
        for fid, tid, port in ((aware, "web.1", 31001), (plain, "old.1", 31002)):
            task = {"id": tid, "name": tid, "image": "hello:1", "cpus": 0.1, "mem": 16,
                    "cmd": None, "args": None, "env": {}, "labels": {}, "network": "BRIDGE",
                    "port_mappings": [{"container_port": 80, "host_port": port,
                                       "protocol": "tcp"}]}  # fmt: skip
            assert post(url + "/standin/v1/launch",
                        {"framework_id": fid, "agent_id": agent_id, "task": task})[0] == 202

        def running() -> bool:
            return all(any(t["state"] == "TASK_RUNNING" for t in f["tasks"])
                       for f in state(mport)["frameworks"])

        wait_for("both tasks running", running, 15)
        assert post(url + "/master/maintenance/schedule", {"windows": [window(A1)]})[0] == 200
        # Offers from a DRAINING machine carry its unavailability (the scheduler's poll).
        polled = post(url + "/standin/v1/frameworks/state", {"framework_id": aware})[1]
        assert polled["slaves"][0]["unavailability"] == {"start": {"nanoseconds": 1}}
        assert "unavailability" not in state(mport)["slaves"][0]
        assert post(url + "/master/machine/down", [A1]) == (200, None)
        after = state(mport)
        assert after["slaves"] == []
        ended = {f["id"]: f["completed_tasks"] for f in after["frameworks"]}
        assert [(t["id"], t["state"]) for t in ended[aware]] == [("web.1", "TASK_GONE_BY_OPERATOR")]
        assert [(t["id"], t["state"]) for t in ended[plain]] == [("old.1", "TASK_LOST")]
        last = ended[aware][0]["statuses"][-1]
        assert (last["reason"], last["message"]) == (
            "REASON_SLAVE_REMOVED_BY_OPERATOR", "Operator initiated 'Machine DOWN'")
        # The agent kills its tasks and exits 0 (main returns EXIT_SUCCESS after terminate).
        assert agent.popen.wait(timeout=30) == 0
        assert "Agent asked to shut down by" in agent.output()
        assert not list(fake_dir.glob("c-mesos-*"))
        # Restarted while the machine is DOWN: refused, told to shut down, exits 0 again.
        again = start("agent", args, tmp_path / "a2.log", env=env)
        procs.append(again)
        assert again.popen.wait(timeout=30) == 0
        assert "because 'Machine is `DOWN`'" in again.output()
        assert "is `DOWN`" in procs[0].output() and state(mport)["slaves"] == []
        # machine/up: the agent registers again (same id: its checkpoint stayed).
        assert post(url + "/master/machine/up", [A1]) == (200, None)
        procs.append(start("agent", args, tmp_path / "a3.log", env=env))
        back = wait_for("agent back", lambda: state(mport)["slaves"], 15)
        assert back[0]["id"] == agent_id
    finally:
        scheduler.stop()
        other.stop()
