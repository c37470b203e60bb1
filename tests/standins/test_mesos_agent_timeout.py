"""When the master stand-in marks a silent agent unreachable, and what its tasks become.

Upstream (apache/mesos 1.11.0): src/master/constants.hpp DEFAULT_AGENT_PING_TIMEOUT = 15 s and
DEFAULT_MAX_AGENT_PING_TIMEOUTS = 5; src/master/flags.cpp `--agent_ping_timeout` (1secs..15mins)
and `--max_agent_ping_timeouts` (at least 1); src/master/master.cpp SlaveObserver,
Master::markUnreachable / __removeSlave (TASK_UNREACHABLE for PARTITION_AWARE frameworks,
TASK_LOST otherwise, REASON_SLAVE_REMOVED, "health check timed out") and __reregisterSlave (the
agent comes back with its tasks as it reports them).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.standins.mesos.mesos_standin import flags as flaglib
from tests.standins.mesos.mesos_standin.http import call
from tests.standins.mesos.mesos_standin.master_state import Registry
from tests.standins.mesos.testing import Proc, Scheduler, free_ports, get, run, start, wait_for

RANGE = "Expected `--agent_ping_timeout` to be between 1secs and 15mins"


def _load(*argv: str) -> flaglib.Flags:
    return flaglib.load("mesos-master", "master", list(argv), environ={})


def test_default_is_75_s_from_the_two_flags() -> None:
    assert _load().get("agent_ping_timeout") == "15secs"
    assert _load().get("max_agent_ping_timeouts") == "5"
    assert flaglib.total_ping_timeout_s(_load()) == 75.0
    assert Registry("m").agent_timeout_s == 75.0
    assert flaglib.total_ping_timeout_s(_load("--agent_ping_timeout=1mins")) == 300.0
    assert flaglib.total_ping_timeout_s(
        _load("--agent_ping_timeout=0.5mins", "--max_agent_ping_timeouts=2")) == 60.0


@pytest.mark.parametrize(("arg", "message"), [
    ("--agent_ping_timeout=500ms", RANGE),
    ("--agent_ping_timeout=16mins", RANGE),
    ("--max_agent_ping_timeouts=0", "Expected `--max_agent_ping_timeouts` to be at least 1"),
    ("--agent_ping_timeout=15", "Failed to load flag 'agent_ping_timeout': Failed to load value "
                                "'15': Invalid duration '15'"),
    ("--agent_ping_timeout=15sec", "Failed to load flag 'agent_ping_timeout': Failed to load value "
                                   "'15sec': Unknown duration unit 'sec'; supported units are "
                                   "'ns', 'us', 'ms', 'secs', 'mins', 'hrs', 'days', and 'weeks'"),
    ("--max_agent_ping_timeouts=five", "Failed to load flag 'max_agent_ping_timeouts': Failed to "
                                       "load value 'five': Failed to convert into required type"),
])  # fmt: skip
def test_bad_ping_flags_stop_the_master_with_stouts_message(arg: str, message: str) -> None:
    with pytest.raises(flaglib.FlagError) as exc:
        _load(arg)
    assert str(exc.value) == message
    done = run("master", [arg, "--registry=in_memory"])
    assert done.returncode == 1 and done.stderr.startswith(message + "\n\nUsage: ")


@pytest.fixture
def master(tmp_path: Path) -> Iterator[int]:
    """A standalone master (no --zk) whose agents are unreachable after 1secs x 3 = 3 s."""
    (port,) = free_ports(1)
    proc: Proc = start("master", [
        "--ip=127.0.0.1", f"--port={port}", "--registry=in_memory",
        "--agent_ping_timeout=1secs", "--max_agent_ping_timeouts=3",
    ], tmp_path / "master.log")  # fmt: skip
    try:
        wait_for("master elected", lambda: get(f"http://127.0.0.1:{port}/health")[0] == 200, 15)
        yield port
    finally:
        proc.stop()


def _post(port: int, path: str, body: dict[str, Any]) -> Any:
    status, reply, _ = call("POST", f"http://127.0.0.1:{port}{path}", body)
    assert status == 200, (path, status, reply)
    return reply


def _state(port: int) -> dict[str, Any]:
    return get(f"http://127.0.0.1:{port}/master/state")[1]


def _framework(port: int, fid: str) -> dict[str, Any]:
    return next(f for f in _state(port)["frameworks"] if f["id"] == fid)


def test_silent_agent_is_unreachable_after_the_flags_and_comes_back(master: int) -> None:
    aware_sched, plain_sched = Scheduler(), Scheduler()
    try:
        aware = _post(master, "/standin/v1/frameworks/register",
                      {"id": None, "name": "marathon", "pid": aware_sched.pid,
                       "capabilities": [{"type": "PARTITION_AWARE"}]})["id"]  # fmt: skip
        plain = _post(master, "/standin/v1/frameworks/register",
                      {"id": None, "name": "plain", "pid": plain_sched.pid})["id"]
    finally:
        aware_sched.stop()
        plain_sched.stop()
    tasks = [{"id": f"{fid}.web", "framework_id": fid, "state": "TASK_RUNNING", "image": "x",
              "cpus": 0.1, "mem": 32} for fid in (aware, plain)]  # fmt: skip
    agent = {"id": None, "hostname": "a1", "ip": "127.0.0.1", "port": 5051,
             "resources": {"cpus": 2, "mem": 1024, "disk": 4096, "ports": "[31000-31010]"},
             "attributes": {}, "tasks": tasks}  # fmt: skip
    agent["id"] = _post(master, "/standin/v1/agents/register", agent)["id"]
    silent_from = time.monotonic()

    # 1.5 s of silence is inside 1secs x 3: still registered and active.
    time.sleep(1.5)
    assert [(s["id"], s["active"]) for s in _state(master)["slaves"]] == [(agent["id"], True)]

    # Past 3 s: marked unreachable, no longer a registered agent (Master::__removeSlave).
    wait_for("agent marked unreachable", lambda: _state(master)["unreachable_slaves"] == 1.0, 10)
    assert time.monotonic() - silent_from > 3.0
    st = _state(master)
    assert st["slaves"] == [] and st["deactivated_slaves"] == 0.0
    assert st["activated_slaves"] == 0.0
    metrics = get(f"http://127.0.0.1:{master}/metrics/snapshot")[1]
    assert metrics["master/slaves_unreachable"] == 1.0
    for fid, want in ((aware, "TASK_UNREACHABLE"), (plain, "TASK_LOST")):
        fw = _framework(master, fid)
        assert fw["tasks"] == [] and fw["completed_tasks"] == []
        (task,) = fw["unreachable_tasks"]
        assert (task["id"], task["state"]) == (f"{fid}.web", want)
        last = task["statuses"][-1]
        assert (last["state"], last["reason"], last["source"], last["message"]) == (
            want, "REASON_SLAVE_REMOVED", "SOURCE_MASTER", "health check timed out")

    # The agent comes back (re-registers with its id and tasks): registered, tasks running.
    _post(master, "/standin/v1/agents/register", agent)
    st = _state(master)
    assert [(s["id"], s["active"]) for s in st["slaves"]] == [(agent["id"], True)]
    assert st["unreachable_slaves"] == 0.0
    for fid in (aware, plain):
        fw = _framework(master, fid)
        assert fw["unreachable_tasks"] == []
        assert [(t["id"], t["state"]) for t in fw["tasks"]] == [(f"{fid}.web", "TASK_RUNNING")]
