"""The agent's Docker path, against a fake `docker` CLI that records calls (no engine here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.standins.mesos.mesos_standin.http import call
from tests.standins.mesos.testing import Scheduler, free_ports, get, start, state, wait_for

# A fake docker: `info` succeeds, `run` records argv and creates a "container" file holding its
# labels, `inspect` reports it running (or exited after `stop`), `ps` lists them, `rm` deletes.
FAKE_DOCKER = r"""#!/usr/bin/env python3
import json, os, sys
d = os.environ["FAKE_DOCKER_DIR"]
args = sys.argv[1:]
if args[:1] == ["-H"]:
    args = args[2:]
with open(os.path.join(d, "calls.log"), "a") as f:
    f.write(json.dumps(args) + "\n")
cmd = args[0]
def path(name): return os.path.join(d, "c-" + name)
if cmd == "info":
    print("24.0"); sys.exit(0)
if cmd == "run":
    name = args[args.index("--name") + 1]
    labels = dict(a.split("=", 1) for i, a in enumerate(args) if i and args[i - 1] == "--label")
    json.dump({"State": {"Status": "running", "ExitCode": 0}, "Config": {"Labels": labels}},
              open(path(name), "w"))
    print("c0ffee"); sys.exit(0)
if cmd == "inspect":
    if not os.path.exists(path(args[1])): sys.exit(1)
    print(json.dumps([json.load(open(path(args[1])))])); sys.exit(0)
if cmd == "ps":
    print("\n".join(n[2:] for n in os.listdir(d) if n.startswith("c-"))); sys.exit(0)
if cmd == "stop":
    sys.exit(0)
if cmd == "rm":
    if os.path.exists(path(args[-1])): os.remove(path(args[-1]))
    sys.exit(0)
sys.exit(1)
"""


def test_launch_runs_docker_and_recovers_after_restart(tmp_path: Path) -> None:
    bin_dir, fake_dir = tmp_path / "bin", tmp_path / "docker"
    bin_dir.mkdir()
    fake_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_DOCKER_DIR": str(fake_dir)}
    mport, aport = free_ports(2)
    master = start("master", [f"--work_dir={tmp_path}/m", "--ip=127.0.0.1", f"--port={mport}"],
                   tmp_path / "m.log")  # fmt: skip
    agent_args = [f"--master=127.0.0.1:{mport}", f"--work_dir={tmp_path}/a", "--ip=127.0.0.1",
                  f"--port={aport}", "--containerizers=docker,mesos",
                  "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31010]"]  # fmt: skip
    agent = start("agent", agent_args, tmp_path / "a.log", env=env)
    scheduler = Scheduler()  # launches need a framework the master reached at its pid
    try:
        agent_id = wait_for("agent registered", lambda: state(mport)["slaves"], 10)[0]["id"]
        fid = call("POST", f"http://127.0.0.1:{mport}/standin/v1/frameworks/register",
                   {"id": None, "name": "marathon", "pid": scheduler.pid})[1]["id"]  # fmt: skip
        task = {"id": "hello.abc", "name": "hello", "image": "pyinfra-mesos/hello:1.0",
                "cpus": 0.5, "mem": 64, "cmd": None, "args": ["--port", "8080"],
                "env": {"PORT0": "31002"}, "labels": {}, "network": "BRIDGE",
                "port_mappings": [{"container_port": 8080, "host_port": 31002,
                                   "protocol": "tcp"}]}  # fmt: skip
        status = call("POST", f"http://127.0.0.1:{mport}/standin/v1/launch",
                      {"framework_id": fid, "agent_id": agent_id, "task": task})[0]  # fmt: skip
        assert status == 202

        def running() -> list[dict] | None:
            fw = next(f for f in state(mport)["frameworks"] if f["id"] == fid)
            return [t for t in fw["tasks"] if t["state"] == "TASK_RUNNING"] or None

        wait_for("TASK_RUNNING", running, 10)
        calls = [json.loads(line) for line in (fake_dir / "calls.log").read_text().splitlines()]
        run = next(c for c in calls if c[0] == "run")
        assert run[:4] == ["run", "-d", "--name", "mesos-hello.abc"]
        assert "pyinfra-mesos.task=hello.abc" in run and "31002:8080/tcp" in run
        assert "PORT0=31002" in run and "-m" in run
        assert run[-3:] == ["pyinfra-mesos/hello:1.0", "--port", "8080"]

        agent.stop()  # a restarted agent adopts its containers by label
        agent = start("agent", agent_args, tmp_path / "a2.log", env=env)
        wait_for("recovered task in agent state", lambda: get(
            f"http://127.0.0.1:{aport}/state")[1]["frameworks"], 10)  # fmt: skip
        assert "Recovered task hello.abc" in agent.output()

        kill = call(
            "POST",
            f"http://127.0.0.1:{mport}/standin/v1/kill",
            {"framework_id": fid, "agent_id": agent_id, "task_id": "hello.abc"},
        )
        assert kill[0] == 202

        def killed() -> bool:
            fw = next(f for f in state(mport)["frameworks"] if f["id"] == fid)
            return any(t["state"] == "TASK_KILLED" for t in fw["completed_tasks"])

        wait_for("TASK_KILLED", killed, 10)
        assert not (fake_dir / "c-mesos-hello.abc").exists()
    finally:
        agent.stop()
        master.stop()
        scheduler.stop()
