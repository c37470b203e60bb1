"""Operation timings from pyinfra's streamed output (sandbox/bench/optimes.py).

RECORDED is pyinfra 3.10's own output of a bare deploy on the sandbox (build/e2e-logs of an e2e
run, lines kept as printed, trailing spaces included), cut after the ZooKeeper install, with
the "--> Results:" line pyinfra prints after the last operation. The times are assigned here.
The live test runs pyinfra itself on @local, so a change of its output format fails here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:  # `sandbox` and `tests.*` live at the project root
    sys.path.insert(0, str(PROJECT_ROOT))

from sandbox.bench.optimes import parse_operation_times  # noqa: E402
from sandbox.bench.streamed import run_streamed  # noqa: E402

REFRESH = ("tasks/common.py | Refresh apt lists (older than apt_cache_time_s or than this host's "
           "apt sources, key and pins)")
RESTART = "tasks/docker.py | Restart Docker (daemon.json changed), one host at a time"
RECORDED = f"""\
--> Connecting to hosts...
    [master1] Connected
    [agent1]  Connected

--> Skipping change detection
--> Beginning operation run...
--> Starting operation: {REFRESH} \n\
    [agent2]  Success
    [master3] Success
    [agent1]  Success
    [master1] Success
    [master2] Success

--> Starting operation: tasks/common.py | Install base packages \n\
    [master3] No changes
    [agent1]  No changes
    [agent2]  No changes
    [master1] No changes
    [master2] No changes

--> Starting serial operation: {RESTART} \n\
    [master1] Success
    [master2] Success
    [agent2]  Success
    [agent1]  Success
    [master3] Success

--> Starting operation: tasks/zookeeper.py | Install ZooKeeper \n\
    [agent2]  Skipped
    [agent1]  Skipped
    [master1] Success
    [master2] Success
    [master3] Success

--> Results:
    Operation             Hosts   Success   Error   No Change
"""


def timed(text: str, times: dict[str, float]) -> list[tuple[float, str]]:
    """Each line at the time of the latest `times` key it starts with (a line's prefix)."""
    now = 0.0
    out = []
    for line in text.splitlines():
        for prefix, when in times.items():
            if line.startswith(prefix):
                now = when
        out.append((now, line))
    return out


TIMES = {"--> Connecting": 0.5, "--> Beginning": 3.0,
         "--> Starting operation: tasks/common.py | Refresh": 3.1,
         "--> Starting operation: tasks/common.py | Install base": 9.1,
         "--> Starting serial operation": 10.0,
         "--> Starting operation: tasks/zookeeper.py": 24.0,
         "--> Results:": 144.0}


def test_each_operation_lasts_until_the_next_one_starts_and_the_last_until_the_results():
    timings = parse_operation_times(timed(RECORDED, TIMES), end_s=145.0)
    assert timings.planning_s == 3.0
    got = [(op.name, op.seconds, op.serial, op.hosts) for op in timings.operations]
    assert got == [
        (REFRESH, 6.0, False, 5),
        ("tasks/common.py | Install base packages", 0.9, False, 5),
        ("tasks/docker.py | Restart Docker (daemon.json changed), one host at a time",
         14.0, True, 5),
        ("tasks/zookeeper.py | Install ZooKeeper", 120.0, False, 5),
    ]
    assert [op.name.split(" | ")[1][:14] for op in timings.slowest(2)] == [
        "Install ZooKee", "Restart Docker"]


def test_a_run_that_died_ends_its_last_operation_at_the_exit():
    cut = RECORDED.split("--> Results:")[0]
    timings = parse_operation_times(timed(cut, TIMES), end_s=200.0)
    assert timings.operations[-1].seconds == pytest.approx(176.0)


def test_output_before_the_run_began_has_no_operations():
    timings = parse_operation_times([(0.1, "--> Connecting to hosts..."),
                                     (0.2, "--> Starting operation: not yet")], end_s=1.0)
    assert timings.planning_s is None and timings.operations == ()


def test_colour_codes_are_ignored():
    lines = [(0.0, "--> Beginning operation run..."),
             (1.0, "\x1b[34m--> Starting run once operation:\x1b[0m \x1b[1mOnce\x1b[0m "),
             (1.5, "    [\x1b[1mh1\x1b[0m] \x1b[32mSuccess\x1b[0m"),
             (4.0, "--> Results:")]
    (op,) = parse_operation_times(lines).operations
    assert (op.name, op.seconds, op.serial, op.hosts) == ("Once", 3.0, False, 1)


def test_live_pyinfra_output_streams_into_operation_timings(tmp_path: Path):
    deploy = tmp_path / "bench_deploy.py"
    deploy.write_text(
        "from pyinfra.operations import server\n"
        "server.shell(name='Sleep a little', commands=['sleep 0.6'])\n"
        "server.shell(name='One host at a time', commands=['true'], _serial=True)\n")
    pyinfra = Path(sys.executable).parent / "pyinfra"
    run = run_streamed("live", [str(pyinfra), "-y", "@local", str(deploy)], 120, tmp_path)
    assert run.rc == 0, run.tail()
    timings = parse_operation_times(run.lines, run.seconds)
    names = [(op.name, op.serial, op.hosts) for op in timings.operations]
    assert names == [("Sleep a little", False, 1), ("One host at a time", True, 1)]
    assert timings.operations[0].seconds >= 0.55
    assert timings.planning_s is not None and 0 < timings.planning_s < run.seconds
    assert "[+" in run.log.read_text()


def test_a_command_past_its_timeout_is_killed_with_its_children(tmp_path: Path):
    run = run_streamed("slow", ["sh", "-c", "echo started; sleep 60 & wait"], 1.0, tmp_path)
    assert run.rc is None and run.seconds < 30
    assert run.lines[0][1] == "started"
