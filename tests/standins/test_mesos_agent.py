"""Agent stand-in: registration, refusal without Docker, checkpointed agent info."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.mesos.testing import Proc, free_ports, get, run, start, state, wait_for

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
    for i, port in enumerate((m1, m2)):
        procs.append(start("master", [
            f"--zk=zk://{zookeeper}{path}", "--quorum=1", f"--work_dir={tmp_path}/m{i}",
            "--ip=127.0.0.1", f"--port={port}", "--zk_session_timeout=2secs",
        ], tmp_path / f"m{i}.log"))  # fmt: skip
        wait_for("master up", lambda port=port: state(port), 10)
    agent = start("agent", [
        f"--master=zk://{zookeeper}{path}", f"--work_dir={tmp_path}/agent", "--ip=127.0.0.1",
        f"--port={aport}", "--containerizers=mesos", RESOURCES,
    ], tmp_path / "agent.log")  # fmt: skip
    procs.append(agent)
    slaves = wait_for("agent registered with the leader", lambda: state(m1)["slaves"], 10)
    agent_id = slaves[0]["id"]
    assert state(m2)["slaves"] == []  # only the leader tracks agents
    assert (tmp_path / "agent/meta/slaves/latest/slave.info").exists()
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


def test_incompatible_agent_info_refused(tmp_path: Path) -> None:
    work = tmp_path / "w"
    info_dir = work / "meta" / "slaves" / "S-OLD"
    info_dir.mkdir(parents=True)
    (info_dir / "slave.info").write_text(
        '{"id": "S-OLD", "resources": {"cpus": 1.0, "mem": 512.0, "disk": 4096.0, '
        '"ports": "[31000-31010]"}, "attributes": {}}'
    )
    (work / "meta" / "slaves" / "latest").symlink_to("S-OLD")
    (port,) = free_ports(1)
    proc = run("agent", ["--master=127.0.0.1:1", f"--work_dir={work}", "--ip=127.0.0.1",
                         f"--port={port}", "--containerizers=mesos", RESOURCES])  # fmt: skip
    assert proc.returncode == 1
    assert "Incompatible agent info" in proc.stderr
    assert f"rm -f {work}/meta/slaves/latest" in proc.stderr
