"""Agent stand-in: registration, refusal without Docker, checkpointed agent info."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.mesos.mesos_standin.compatibility import slave_info
from tests.standins.mesos.testing import (
    Proc,
    free_ports,
    get,
    get_full,
    run,
    start,
    state,
    wait_for,
)

RESOURCES = "--resources=cpus:2;mem:1024;disk:4096;ports:[31000-31010]"


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in started:
        p.stop()


def test_agent_registers_and_follows_failover(
    zookeeper: str, tmp_path: Path, procs: list[Proc]
) -> None:
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    m1, m2, aport = free_ports(3)
    # The deploy's way (MESOS_ZK / MESOS_MASTER = file:///etc/mesos/zk): the flag value is read
    # from the file at flag loading (stout SecurePathOrValue).
    zk_file = tmp_path / "zk"
    zk_file.write_text(f"zk://{zookeeper}{path}\n")
    for i, port in enumerate((m1, m2)):
        procs.append(start("master", [
            "--quorum=1", f"--work_dir={tmp_path}/m{i}", "--hostname=127.0.0.1",
            "--ip=127.0.0.1", f"--port={port}", "--zk_session_timeout=2secs",
        ], tmp_path / f"m{i}.log", env={"MESOS_ZK": f"file://{zk_file}"}))  # fmt: skip
        wait_for("master up", lambda port=port: get(f"http://127.0.0.1:{port}/health")[0], 10)
    wait_for("m1 leads", lambda: state(m1)["leader"] == f"master@127.0.0.1:{m1}", 10)
    agent = start("agent", [
        f"--work_dir={tmp_path}/agent", "--ip=127.0.0.1",
        f"--port={aport}", "--containerizers=mesos", RESOURCES,
    ], tmp_path / "agent.log", env={"MESOS_MASTER": f"file://{zk_file}"})  # fmt: skip
    procs.append(agent)
    slaves = wait_for("agent registered with the leader", lambda: state(m1)["slaves"], 10)
    agent_id = slaves[0]["id"]
    # Only the leader answers; m2 sends the client there.
    status, _, headers = get_full(f"http://127.0.0.1:{m2}/master/slaves")
    assert (status, headers["Location"]) == (307, f"//127.0.0.1:{m1}/master/slaves")
    # The agent checkpoints its SlaveInfo once the master's registration reply arrives, so
    # after the master lists it (as real Mesos: master adds, replies; the agent then writes).
    wait_for("the agent's checkpointed slave.info",
             lambda: (tmp_path / "agent/meta/slaves/latest/slave.info").exists(), 10)
    assert "STAND-IN" in agent.output()

    procs[0].stop()  # the leader goes away; the agent re-registers with the new one
    again = wait_for("agent re-registered after failover", lambda: state(m2)["slaves"], 15)
    assert again[0]["id"] == agent_id and again[0]["active"] is True
    assert get(f"http://127.0.0.1:{aport}/state")[1]["master_hostname"] == "127.0.0.1"


def test_agent_refuses_docker_containerizer_without_docker(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    proc = run("agent", ["--master=127.0.0.1:1", f"--work_dir={tmp_path}/w",
                         "--containerizers=docker,mesos", "--ip=127.0.0.1", "--port=1"],
               env=env)  # fmt: skip
    assert proc.returncode == 1
    assert "Failed to create a containerizer" in proc.stderr
    assert "Cannot connect to the Docker daemon" in proc.stderr


AGENT_ARGS = ["--master=127.0.0.1:1", "--ip=127.0.0.1", "--containerizers=mesos", RESOURCES,
              "--attributes=rack:r1"]  # fmt: skip


def _checkpoint(work: Path, agent_port: int, **changes: object) -> None:
    """meta/slaves/latest -> S-OLD with the SlaveInfo an agent on `agent_port` with AGENT_ARGS
    and --hostname=node1 computes, then `changes` applied."""
    info = slave_info("node1", agent_port, None,
                      {"cpus": 2.0, "mem": 1024.0, "disk": 4096.0, "ports": "[31000-31010]"},
                      {"rack": "r1"})  # fmt: skip
    info.update(changes, id="S-OLD")
    info_dir = work / "meta" / "slaves" / "S-OLD"
    info_dir.mkdir(parents=True)
    (info_dir / "slave.info").write_text(json.dumps(info))
    (work / "meta" / "slaves" / "latest").symlink_to("S-OLD")


@pytest.mark.parametrize("changed", ["hostname", "port", "resources", "attributes", "domain"])
def test_incompatible_agent_info_refused(tmp_path: Path, changed: str) -> None:
    """--reconfiguration_policy=equal (default) compares the WHOLE SlaveInfo with the
    checkpoint: hostname, port, domain, resources, attributes (src/slave/compatibility.cpp)."""
    (port,) = free_ports(1)
    work = tmp_path / "w"
    change: dict[str, object] = {
        "hostname": {"hostname": "10.0.0.9"}, "port": {"port": port + 1},
        "resources": {"resources": {"cpus": 1.0, "mem": 1024.0, "disk": 4096.0,
                                    "ports": "[31000-31010]"}},
        "attributes": {"attributes": {}},
        "domain": {"domain": {"fault_domain": {"region": {"name": "r"}, "zone": {"name": "z"}}}},
    }[changed]  # fmt: skip
    _checkpoint(work, port, **change)
    proc = run("agent", [*AGENT_ARGS, f"--work_dir={work}", f"--port={port}",
                         "--hostname=node1"])  # fmt: skip
    assert proc.returncode == 1
    assert "Failed to perform recovery: Incompatible agent info detected." in proc.stderr
    assert "Old agent info:" in proc.stderr and "New agent info:" in proc.stderr
    assert f"rm -f {work}/meta/slaves/latest" in proc.stderr


def test_same_agent_info_recovers_the_id(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    work = tmp_path / "w"
    _checkpoint(work, port)
    agent = start("agent", [*AGENT_ARGS, f"--work_dir={work}", f"--port={port}",
                            "--hostname=node1"], tmp_path / "a.log")  # fmt: skip
    try:
        wait_for("agent serving", lambda: get(f"http://127.0.0.1:{port}/health")[0] == 200, 10)
        assert "Recovered agent ID S-OLD" in agent.output()
    finally:
        agent.stop()


def test_additive_policy_allows_growth_only(tmp_path: Path) -> None:
    """--reconfiguration_policy=additive: more resources are fine, a changed port is not."""
    (port,) = free_ports(1)
    work = tmp_path / "w"
    _checkpoint(work, port, resources={"cpus": 1.0, "mem": 512.0, "disk": 4096.0,
                                 "ports": "[31000-31005]"})  # fmt: skip
    args = [*AGENT_ARGS, f"--work_dir={work}", "--hostname=node1",
            "--reconfiguration_policy=additive"]  # fmt: skip
    agent = start("agent", [*args, f"--port={port}"], tmp_path / "a.log")
    try:
        wait_for("agent serving", lambda: get(f"http://127.0.0.1:{port}/health")[0] == 200, 10)
        assert "Recovered agent ID S-OLD" in agent.output()
    finally:
        agent.stop()
    proc = run("agent", [*args, f"--port={port + 1}"])
    assert proc.returncode == 1
    assert ("Configuration change not permitted under `additive` policy: Port changed from "
            f"{port} to {port + 1}") in proc.stderr


def test_unknown_reconfiguration_policy_exits(tmp_path: Path) -> None:
    proc = run("agent", [*AGENT_ARGS, f"--work_dir={tmp_path}", "--port=1",
                         "--reconfiguration_policy=bogus"])  # fmt: skip
    assert proc.returncode == 1
    assert "Unknown option for 'reconfiguration_policy' flag bogus." in proc.stderr


def _host(root: Path, v1: bool, runtime: bool = True) -> dict[str, str]:
    """A scratch host for the systemd check: /sbin/init is systemd; v1 has the systemd
    cgroup hierarchy, v2 (Debian 12, Ubuntu 22.04+) does not."""
    (root / "sbin").mkdir(parents=True)
    init = root / "sbin" / "init"
    init.write_text("#!/bin/sh\necho 'systemd 252 (252.22-1~deb12u1)'\necho '+PAM +AUDIT'\n")
    init.chmod(0o755)
    if runtime:
        (root / "run/systemd/system").mkdir(parents=True)
    (root / "sys/fs/cgroup").mkdir(parents=True)
    if v1:
        (root / "sys/fs/cgroup/systemd").mkdir()
    return {"MESOS_STANDIN_ROOT": str(root)}


def test_cgroup_v2_host_with_systemd_support_exits(tmp_path: Path) -> None:
    """clusterd src/linux/systemd.cpp: systemd present, no /sys/fs/cgroup/systemd -> exit."""
    env = _host(tmp_path / "root", v1=False)
    proc = run("agent", [*AGENT_ARGS, f"--work_dir={tmp_path}/w", "--port=1"], env=env)
    assert proc.returncode == 1
    assert ("Failed to initialize systemd: Failed to locate systemd cgroups hierarchy: "
            "'/sys/fs/cgroup/systemd' is not a valid hierarchy") in proc.stderr


def test_systemd_without_runtime_directory_exits(tmp_path: Path) -> None:
    env = _host(tmp_path / "root", v1=True, runtime=False)
    proc = run("agent", [*AGENT_ARGS, f"--work_dir={tmp_path}/w", "--port=1"], env=env)
    assert proc.returncode == 1
    assert ("Failed to initialize systemd: Failed to locate systemd runtime directory: "
            "/run/systemd/system") in proc.stderr


@pytest.mark.parametrize("v1,extra", [(True, []), (False, ["--no-systemd_enable_support"]),
                                      (False, ["--systemd_enable_support=false"])])
def test_agent_starts_on_v1_or_with_systemd_support_off(
    tmp_path: Path, v1: bool, extra: list[str]
) -> None:
    env = _host(tmp_path / "root", v1=v1)
    (port,) = free_ports(1)
    agent = start("agent", [*AGENT_ARGS, f"--work_dir={tmp_path}/w", f"--port={port}", *extra],
                  tmp_path / "a.log", env=env)  # fmt: skip
    try:
        wait_for("agent serving", lambda: get(f"http://127.0.0.1:{port}/health")[0] == 200, 10)
        assert ("Initializing systemd state" in agent.output()) is v1
    finally:
        agent.stop()
