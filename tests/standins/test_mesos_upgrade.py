"""Two aventer-mesos stand-in builds, as a package upgrade (and the downgrade back) meets them.

Real Mesos reports the build it runs on `/version` and in `/state` (`git_tag`, `git_sha`,
`build_*`; apache/mesos 1.11.0 src/version/version.cpp, src/common/build.cpp): compiled in, so a
running process keeps its build after dpkg replaced its files, until it restarts. An agent
restarted on a new build recovers its checkpointed agent ID and its running Docker containers
(`--recover=reconnect`, the default; the docker containerizer reattaches to its executors:
apache/mesos 1.11.0 src/slave/slave.cpp `Slave::recover`, src/slave/containerizer/docker.cpp
`DockerContainerizerProcess::recover`), so the tasks keep running under the same ids and
nothing is launched or killed again. The builds here are the real .debs build_repo makes,
unpacked and run from their own files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.standins.mesos import build_repo
from tests.standins.mesos.mesos_standin import load_build
from tests.standins.mesos.mesos_standin.http import call
from tests.standins.mesos.testing import (
    REPO,
    Proc,
    Scheduler,
    _env,
    free_ports,
    get,
    state,
    wait_for,
)
from tests.standins.test_mesos_agent_docker import FAKE_DOCKER

DEFAULT, UPGRADE = build_repo.DEFAULT, build_repo.UPGRADE
PROGRAMS = "usr/lib/mesos-standin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{package version: a root with that .deb unpacked}, from one build_repo run."""
    base = tmp_path_factory.mktemp("upgrade")
    out = base / "repo"
    proc = subprocess.run([sys.executable, "-m", "tests.standins.mesos.build_repo", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    roots = {}
    for build in build_repo.BUILDS:
        root = base / build.version
        subprocess.run(["dpkg-deb", "-x", str(out / build_repo.POOL / build.deb_name),
                        str(root)], check=True, timeout=60)
        # The programs look for their flag lists next to a checkout first (flags.py), then
        # under /usr/share/mesos-standin: point the first at the package's own copy.
        (root / "pyinfra_mesos").mkdir()
        (root / "pyinfra_mesos" / "data").symlink_to(root / "usr/share/mesos-standin")
        roots[build.version] = root
    return roots


def start_installed(root: Path, kind: str, args: Sequence[str], log: Path,
                    env: dict[str, str] | None = None) -> Proc:
    """Run /usr/bin/mesos-<kind>'s program from an unpacked package, as its launcher does."""
    code = (f"import sys; sys.path.insert(0, {str(root / PROGRAMS)!r}); "
            f"from mesos_standin.{kind} import main; sys.exit(main())")
    with open(log, "wb") as handle:
        popen = subprocess.Popen([sys.executable, "-c", code, *args], cwd=root, env=_env(env),
                                 stdout=handle, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
    return Proc(popen, log)


def version(port: int) -> dict:
    status, body = get(f"http://127.0.0.1:{port}/version")
    assert status == 200 and isinstance(body, dict), (status, body)
    return body


def test_build_records_are_the_real_releases() -> None:
    """Each .deb names a real aventer-mesos release (tag, commit) and the same Mesos 1.11.0."""
    assert DEFAULT.version.startswith("1.11.0-0.7.1") and DEFAULT.git_tag == "v1.11.0-0.7.1"
    assert UPGRADE.version.startswith("1.11.0-0.8.0") and UPGRADE.git_tag == "v1.11.0-0.8.0"
    for build in build_repo.BUILDS:
        files = build_repo.package_files(build)
        record = json.loads(files[build_repo.BUILD_RECORD][0])
        assert record["git_tag"] == build.git_tag and len(record["git_sha"]) == 40
        assert files[build_repo.BUILD_RECORD][1] == 0o644


def test_load_build_refuses_a_broken_record(tmp_path: Path) -> None:
    assert "git_tag" not in load_build(tmp_path / "absent.json")  # source tree: no tag
    broken = tmp_path / "build.json"
    broken.write_text('{"git_tag": "v1"}')
    with pytest.raises(ValueError, match="build record needs"):
        load_build(broken)


def test_master_reports_its_build_and_keeps_it_until_restarted(
        installed: dict[str, Path], tmp_path: Path) -> None:
    """/version and /state report the build the process started from; replacing the files
    (what dpkg does on an upgrade) changes nothing until a restart."""
    root = installed[DEFAULT.version]
    (mport,) = free_ports(1)
    args = [f"--work_dir={tmp_path}/m", "--ip=127.0.0.1", f"--port={mport}"]
    master = start_installed(root, "master", args, tmp_path / "m1.log")
    try:
        wait_for("master /version", lambda: get(f"http://127.0.0.1:{mport}/version")[0] == 200,
                 15)
        answer = version(mport)
        assert answer["version"] == "1.11.0" and answer["git_tag"] == "v1.11.0-0.7.1"
        assert answer["git_sha"] == DEFAULT.git_sha and answer["build_time"] == DEFAULT.build_time
        body = state(mport)
        assert (body["version"], body["git_tag"]) == ("1.11.0", "v1.11.0-0.7.1")
        record = root / PROGRAMS / "mesos_standin" / "build.json"
        record.write_bytes(UPGRADE.record())  # the upgrade's files, the old process running
        assert version(mport)["git_tag"] == "v1.11.0-0.7.1"
        master.stop()
        master = start_installed(root, "master", args, tmp_path / "m2.log")
        wait_for("restarted master /version",
                 lambda: get(f"http://127.0.0.1:{mport}/version")[0] == 200, 15)
        assert version(mport)["git_tag"] == "v1.11.0-0.8.0"
    finally:
        master.stop()
        (root / PROGRAMS / "mesos_standin" / "build.json").write_bytes(DEFAULT.record())


def test_agent_upgrade_and_downgrade_keep_its_id_and_running_tasks(
        installed: dict[str, Path], tmp_path: Path) -> None:
    """0.7.1 -> 0.8.0 -> 0.7.1 on one agent with a running Docker task: after each restart on
    the other build the agent has the same ID, the master the same task RUNNING, and Docker
    was asked for nothing but inspections (no run, stop or rm: the container was adopted)."""
    bin_dir, fake_dir = tmp_path / "bin", tmp_path / "docker"
    bin_dir.mkdir()
    fake_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_DOCKER_DIR": str(fake_dir)}
    mport, aport = free_ports(2)
    master = start_installed(installed[DEFAULT.version], "master",
                             [f"--work_dir={tmp_path}/m", "--ip=127.0.0.1", f"--port={mport}"],
                             tmp_path / "m.log")
    agent_args = [f"--master=127.0.0.1:{mport}", f"--work_dir={tmp_path}/a", "--ip=127.0.0.1",
                  f"--port={aport}", "--containerizers=docker,mesos",
                  "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31010]"]
    agent = start_installed(installed[DEFAULT.version], "agent", agent_args,
                            tmp_path / "a0.log", env)
    scheduler = Scheduler()
    try:
        agent_id = wait_for("agent registered", lambda: state(mport)["slaves"], 15)[0]["id"]
        fid = call("POST", f"http://127.0.0.1:{mport}/standin/v1/frameworks/register",
                   {"id": None, "name": "marathon", "pid": scheduler.pid})[1]["id"]
        task = {"id": "hello.1", "name": "hello", "image": "pyinfra-mesos/hello:1.0",
                "cpus": 0.1, "mem": 32, "cmd": None, "args": [], "env": {}, "labels": {},
                "network": "BRIDGE", "port_mappings": [
                    {"container_port": 8080, "host_port": 31001, "protocol": "tcp"}]}
        assert call("POST", f"http://127.0.0.1:{mport}/standin/v1/launch",
                    {"framework_id": fid, "agent_id": agent_id, "task": task})[0] == 202

        def running() -> list[str] | None:
            fw = next(f for f in state(mport)["frameworks"] if f["id"] == fid)
            return [t["id"] for t in fw["tasks"] if t["state"] == "TASK_RUNNING"] or None

        assert wait_for("TASK_RUNNING", running, 15) == ["hello.1"]
        assert version(aport)["git_tag"] == DEFAULT.git_tag
        for step, build in enumerate((UPGRADE, DEFAULT), start=1):
            calls_before = (fake_dir / "calls.log").read_text().splitlines()
            agent.stop()  # systemctl restart: SIGTERM to the agent (KillMode=process)
            agent = start_installed(installed[build.version], "agent", agent_args,
                                    tmp_path / f"a{step}.log", env)
            wait_for(f"agent on {build.version}",
                     lambda: get(f"http://127.0.0.1:{aport}/version")[0] == 200, 15)
            assert version(aport)["git_tag"] == build.git_tag
            slaves = wait_for("agent re-registered", lambda: [
                s for s in state(mport)["slaves"] if s["active"]], 15)
            assert [s["id"] for s in slaves] == [agent_id]
            assert f"Recovered agent ID {agent_id}" in agent.output()
            assert "Recovered task hello.1" in agent.output()
            assert wait_for("task still running", running, 15) == ["hello.1"]
            calls = (fake_dir / "calls.log").read_text().splitlines()[len(calls_before):]
            verbs = {json.loads(line)[0] for line in calls}
            assert verbs <= {"info", "ps", "inspect"}, calls
            assert (fake_dir / "c-mesos-hello.1").exists()
    finally:
        agent.stop()
        master.stop()
        scheduler.stop()
