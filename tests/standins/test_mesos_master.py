"""The master stand-in's znode and endpoints have the documented Mesos shapes."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kazoo.client import KazooClient

from tests.reference import MESOS_EXAMPLES
from tests.standins.mesos.testing import (
    Proc,
    Scheduler,
    free_ports,
    get,
    run,
    start,
    state,
    wait_for,
)

EXAMPLES = MESOS_EXAMPLES
# Optional fields Mesos only writes when set (fault domains, log file flag, a principal).
OPTIONAL = {"domain", "external_log_file", "principal"}


@pytest.fixture
def zk_client(zookeeper: str) -> Iterator[KazooClient]:
    zk = KazooClient(hosts=zookeeper, timeout=5)
    zk.start(timeout=10)
    yield zk
    zk.stop()
    zk.close()


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    sched = Scheduler()
    yield sched
    sched.stop()


@pytest.fixture
def cluster(zookeeper: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """One master (quorum 1) and one agent (mesos containerizer only) on a fresh zk path."""
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    mport, aport = free_ports(2)
    procs: list[Proc] = []
    try:
        procs.append(start("master", [
            f"--zk=zk://{zookeeper}{path}", "--quorum=1", f"--work_dir={tmp_path}/master",
            "--ip=127.0.0.1", f"--port={mport}", "--cluster=standin-test",
            "--zk_session_timeout=2secs",
        ], tmp_path / "master.log"))  # fmt: skip
        procs.append(start("agent", [
            f"--master=zk://{zookeeper}{path}", f"--work_dir={tmp_path}/agent",
            "--ip=127.0.0.1", f"--port={aport}", "--containerizers=mesos",
            "--resources=cpus:2;mem:1024;disk:4096;ports:[31000-31010]",
            "--attributes=rack:r1;zone:2",
        ], tmp_path / "agent.log"))  # fmt: skip
        wait_for("agent registered", lambda: state(mport)["slaves"], 15)
        yield {"path": path, "master": mport, "agent": aport, "procs": procs, "tmp": tmp_path}
    finally:
        for p in procs:
            p.stop()


def _assert_same_shape(ours: dict[str, Any], ref: dict[str, Any], where: str) -> None:
    for key, value in ref.items():
        if key in OPTIONAL:
            continue
        assert key in ours, f"{where}: missing key {key!r}"
        if key == "flags" or value is None:
            continue
        assert type(ours[key]) is type(value), (
            f"{where}.{key}: {type(ours[key]).__name__} != {type(value).__name__}"
        )


def test_master_state_matches_documented_shape(cluster: dict[str, Any],
                                              scheduler: Scheduler) -> None:
    mport = cluster["master"]
    status, fw = _post(mport, "/standin/v1/frameworks/register",
                       {"id": None, "name": "marathon", "hostname": "127.0.0.1",
                        "webui_url": "http://127.0.0.1:8080", "pid": scheduler.pid})  # fmt: skip
    assert status == 200 and fw["id"]
    ours = state(mport)
    ref = json.loads((EXAMPLES / "get-master-state.json").read_text())
    _assert_same_shape(ours, ref, "state")
    _assert_same_shape(ours["leader_info"], ref["leader_info"], "leader_info")
    _assert_same_shape(ours["slaves"][0], ref["slaves"][0], "slaves[0]")
    _assert_same_shape(ours["frameworks"][0], ref["frameworks"][0], "frameworks[0]")
    assert isinstance(ours["activated_slaves"], float) and ours["activated_slaves"] == 1.0
    assert ours["leader"] == ours["pid"] == f"master@127.0.0.1:{mport}"
    assert set(ours["leader_info"]) == {"id", "pid", "port", "hostname"}
    assert ours["cluster"] == "standin-test" and ours["flags"]["quorum"] == "1"
    slave = ours["slaves"][0]
    assert slave["resources"]["ports"] == "[31000-31010]" and slave["resources"]["cpus"] == 2.0
    assert slave["attributes"] == {"rack": "r1", "zone": 2}
    assert slave["pid"] == f"slave(1)@127.0.0.1:{cluster['agent']}"


def test_znode_name_and_content(cluster: dict[str, Any], zk_client: KazooClient) -> None:
    children = zk_client.get_children(cluster["path"])
    members = [c for c in children if c.startswith("json.info_")]
    assert len(members) == 1 and re.fullmatch(r"json\.info_\d{10}", members[0])
    assert "log_replicas" in children and zk_client.get_children(cluster["path"] + "/log_replicas")
    data, stat = zk_client.get(f"{cluster['path']}/{members[0]}")
    assert stat.ephemeralOwner != 0
    info = json.loads(data)
    ref = json.loads((EXAMPLES / "zk-json.info_0000000005.katsdpcontroller.json").read_text())
    assert set(info) == set(ref)
    _assert_same_shape(info, ref, "znode")
    assert info["ip"] == 16777343  # 127.0.0.1 in network byte order read as uint32
    assert info["address"] == {"hostname": info["hostname"], "ip": "127.0.0.1",
                               "port": cluster["master"]}  # fmt: skip
    assert info["pid"] == f"master@127.0.0.1:{cluster['master']}" and info["version"] == "1.11.0"


def test_other_endpoints(cluster: dict[str, Any]) -> None:
    mport = cluster["master"]
    assert get(f"http://127.0.0.1:{mport}/health")[0] == 200
    status, version = get(f"http://127.0.0.1:{mport}/version")
    assert status == 200 and version["standin"] is True and version["version"] == "1.11.0"
    status, metrics = get(f"http://127.0.0.1:{mport}/metrics/snapshot")
    assert metrics["master/elected"] == 1.0 and metrics["registrar/log/ensemble_size"] >= 1.0
    agent_state = get(f"http://127.0.0.1:{cluster['agent']}/state")[1]
    ref = json.loads((EXAMPLES / "get-agent-state.json").read_text())
    for key in ("id", "pid", "hostname", "resources", "attributes", "flags", "frameworks",
                "master_hostname", "version", "capabilities"):  # fmt: skip
        assert key in agent_state and type(agent_state[key]) is type(ref[key]), key
    assert agent_state["id"] == state(mport)["slaves"][0]["id"]
    assert get(f"http://127.0.0.1:{cluster['agent']}/version")[1]["standin"] is True
    assert (cluster["tmp"] / "master" / "replicated_log").is_dir()


def test_launch_without_docker_containerizer_fails_task(cluster: dict[str, Any],
                                                      scheduler: Scheduler) -> None:
    mport = cluster["master"]
    fid = _post(mport, "/standin/v1/frameworks/register",
                {"id": None, "name": "t", "pid": scheduler.pid})[1]["id"]
    agent_id = state(mport)["slaves"][0]["id"]
    task = {
        "id": "web.1",
        "name": "web",
        "image": "busybox",
        "cpus": 0.1,
        "mem": 32,
        "cmd": None,
        "args": None,
        "env": {},
        "labels": {},
        "network": "BRIDGE",
        "port_mappings": [{"container_port": 80, "host_port": 31001, "protocol": "tcp"}],
    }
    status, _ = _post(mport, "/standin/v1/launch",
                      {"framework_id": fid, "agent_id": agent_id, "task": task})  # fmt: skip
    assert status == 202

    def failed() -> dict[str, Any] | None:
        fw = next(f for f in state(mport)["frameworks"] if f["id"] == fid)
        done = [t for t in fw["completed_tasks"] if t["id"] == "web.1"]
        return done[0] if done else None

    t = wait_for("TASK_FAILED reported by the agent", failed, 10)
    assert t["state"] == "TASK_FAILED" and t["slave_id"] == agent_id
    assert t["resources"]["ports"] == "[31001-31001]"
    assert t["container"]["docker"]["port_mappings"][0]["host_port"] == 31001


def test_reachable_framework_is_connected(cluster: dict[str, Any], scheduler: Scheduler) -> None:
    """The leading master calls the scheduler at its advertised pid on registration
    (libprocess FrameworkRegisteredMessage); reached -> active and connected, pid shown."""
    mport = cluster["master"]
    status, reply = _post(mport, "/standin/v1/frameworks/register",
                          {"id": None, "name": "marathon", "pid": scheduler.pid})
    assert status == 200
    assert scheduler.calls == [{"framework_id": reply["id"], "master": f"127.0.0.1:{mport}"}]
    fw = next(f for f in state(mport)["frameworks"] if f["id"] == reply["id"])
    assert (fw["active"], fw["connected"], fw["pid"]) == (True, True, scheduler.pid)
    status, frameworks = get(f"http://127.0.0.1:{mport}/master/frameworks")
    assert status == 200 and [f["id"] for f in frameworks["frameworks"]] == [reply["id"]]
    metrics = get(f"http://127.0.0.1:{mport}/metrics/snapshot")[1]
    assert metrics["master/frameworks_connected"] == 1.0
    assert metrics["master/frameworks_disconnected"] == 0.0


def test_unreachable_framework_is_recorded_disconnected_and_gets_no_launch(
    cluster: dict[str, Any],
) -> None:
    """A pid nobody answers on (127.0.1.1 seen from another host, here a closed port): the id
    is still returned, the framework is inactive and disconnected, the master logs libprocess's
    line, and a launch is refused (no offers go to a disconnected framework)."""
    mport = cluster["master"]
    (closed,) = free_ports(1)
    pid = f"scheduler-9a8b@127.0.0.1:{closed}"
    status, reply = _post(mport, "/standin/v1/frameworks/register",
                          {"id": None, "name": "marathon", "pid": pid})
    assert status == 200 and reply["id"]
    fw = next(f for f in state(mport)["frameworks"] if f["id"] == reply["id"])
    assert (fw["active"], fw["connected"], fw["pid"]) == (False, False, pid)
    log = cluster["procs"][0].output()
    assert (f"Failed to send 'mesos.internal.FrameworkRegisteredMessage' to '127.0.0.1:{closed}', "
            f"connect: Failed to connect to 127.0.0.1:{closed}: Connection refused") in log
    agent_id = state(mport)["slaves"][0]["id"]
    task = {"id": "web.1", "name": "web", "image": "busybox", "cpus": 0.1, "mem": 32}
    status, body = _post(mport, "/standin/v1/launch",
                         {"framework_id": reply["id"], "agent_id": agent_id, "task": task})
    assert status == 409 and "not connected" in body["message"]
    # Without a pid the master cannot reach the framework at all.
    status, reply = _post(mport, "/standin/v1/frameworks/register", {"id": None, "name": "x"})
    fw = next(f for f in state(mport)["frameworks"] if f["id"] == reply["id"])
    assert status == 200 and (fw["active"], fw["connected"]) == (False, False) and "pid" not in fw
    status, _ = _post(mport, "/standin/v1/frameworks/register",
                      {"id": None, "name": "x", "pid": "not-a-pid"})
    assert status == 400


def test_master_without_zk_elects_itself(tmp_path: Path) -> None:
    """src/master/main.cpp: no --zk -> StandaloneMasterContender; the master leads alone."""
    (port,) = free_ports(1)
    proc = start("master", [f"--work_dir={tmp_path}", "--ip=127.0.0.1", f"--port={port}",
                            "--hostname=127.0.0.1"], tmp_path / "m.log")  # fmt: skip
    try:
        s = wait_for("standalone master", lambda: state(port), 10)
        assert s["leader"] == s["pid"] == f"master@127.0.0.1:{port}"
        assert get(f"http://127.0.0.1:{port}/health")[0] == 200
        assert get(f"http://127.0.0.1:{port}/metrics/snapshot")[1]["master/elected"] == 1.0
    finally:
        proc.stop()


def test_unknown_argv_flag_is_fatal_for_master(tmp_path: Path) -> None:
    proc = run("master", [f"--work_dir={tmp_path}", "--cleanup_log_files=3", "--bogus=1"])
    assert proc.returncode == 1 and "Failed to load unknown flag 'bogus'" in proc.stderr


def _post(port: int, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    from tests.standins.mesos.mesos_standin.http import call

    status, reply, _ = call("POST", f"http://127.0.0.1:{port}{path}", body)
    return status, reply
