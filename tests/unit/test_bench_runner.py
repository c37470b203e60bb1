"""The benchmark's phases in order, with the sandbox and pyinfra commands replaced by a recorder
(sandbox/bench/runner.py). What is pinned: which commands run on which inventory, that every
``up`` is followed by a ``down`` whatever fails, what a failure records, the max probe.

The commands themselves are the e2e tier's (tested there); the floor is tested in
test_bench_floor.py; here only their order and bookkeeping.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:  # `sandbox` and `tests.*` live at the project root
    sys.path.insert(0, str(PROJECT_ROOT))

from pyinfra_mesos.topology import build_topology  # noqa: E402
from sandbox.bench import runner  # noqa: E402
from sandbox.bench.floor import FloorResult  # noqa: E402
from sandbox.bench.streamed import Streamed  # noqa: E402
from sandbox.invfile import host_names, load_inventory  # noqa: E402

NOOP_OUTPUT = """\
--> Beginning operation run...
--> Starting operation: Install base packages
    [master1] No changes
--> Results:
    Operation               Hosts   Success   Error   No Change
    Install base packages   1       -         -       1
    Grand total             1       -         -       1
"""
CHANGED_OUTPUT = NOOP_OUTPUT.replace("1       -         -       1",
                                     "1       1         -       -")


class Recorder:
    """Stands in for run_streamed, measure_floor and leftovers; records what ran."""

    def __init__(self, fail: dict[str, int] | None = None, changed: set[str] | None = None,
                 leftovers: list[str] | None = None) -> None:
        self.fail = fail or {}
        self.changed = changed or set()
        self.leftovers = leftovers or []
        self.calls: list[tuple[str, int]] = []  # (step, hosts in the inventory copy)
        self.floors: list[list[str]] = []

    def hosts_in(self, command: list[str]) -> int:
        inventory = Path(next(c for c in command if c.endswith("sandbox.py")))
        return len(load_inventory(inventory).hosts)

    def run_streamed(self, step, command, timeout_s, log_dir, echo=False):
        assert timeout_s > 0
        self.calls.append((step, self.hosts_in(command)))
        rc = self.fail.get(step, 0)
        out = CHANGED_OUTPUT if step in self.changed else NOOP_OUTPUT
        if "sandbox" in command and "up" in command and rc:
            out = "error: hosts not reachable over ssh: agent9 (clean up with: ...)\n"
        lines = [(0.1 * i, line) for i, line in enumerate(out.splitlines())]
        return Streamed(step, rc, 1.5, log_dir / f"{step}.log", lines)

    def measure_floor(self, topo, names, images, timeout_s):
        self.floors.append(list(names))
        hosts = {n: {"seconds": 10.0 + len(self.floors), "stages": {}} for n in names}
        return FloorResult(max(h["seconds"] for h in hosts.values()), hosts, {})

    def steps(self) -> list[str]:
        return [step for step, _ in self.calls]


@pytest.fixture
def recorder(monkeypatch, tmp_path):
    rec = Recorder()
    monkeypatch.setattr(runner, "run_streamed", rec.run_streamed)
    monkeypatch.setattr(runner, "measure_floor", rec.measure_floor)
    monkeypatch.setattr(runner, "leftovers", lambda sandbox, names: rec.leftovers)
    monkeypatch.setattr(runner, "LOG_DIR", tmp_path)

    def topology(bench):
        import runpy
        attrs = runpy.run_path(str(bench.inventory), run_name="__inventory__")
        names = host_names(attrs)
        return build_topology({"masters": [(n, {"ip": n}) for n in names if "master" in n],
                               "agents": [(n, {"ip": n}) for n in names if "agent" in n]})

    monkeypatch.setattr(runner.Bench, "topology", topology)
    monkeypatch.chdir(PROJECT_ROOT)
    return rec


def test_one_cluster_runs_floors_then_deploys_and_always_goes_down(recorder):
    results, probe, problems = runner.run_all([5], noop_runs=2, max_cap=24)
    assert problems == [] and not probe.asked
    assert recorder.calls == [
        ("h5-floor-up", 6), ("h5-floor-down", 6),
        ("h5-up", 5), ("h5-bare-deploy", 5), ("h5-noop-1", 5), ("h5-noop-2", 5),
        ("h5-exec-1", 5), ("h5-exec-2", 5), ("h5-up-agent", 6), ("h5-add-agent", 6),
        ("h5-deploy-down", 6)]
    # The extra agent alone first, then the cluster without it.
    assert recorder.floors == [["agent3"],
                               ["master1", "master2", "master3", "agent1", "agent2"]]
    (result,) = results
    assert result.failures == []
    assert result.figures["agent_floor"] == 11.0 and result.figures["floor"] == 12.0
    assert result.figures["bare_deploy"] == 1.5 and result.figures["add_agent"] == 1.5
    assert result.figures["noop_median"] == 1.5 and result.noop_runs == [1.5, 1.5]
    assert result.figures["bare_planning"] == 0.0
    assert result.slowest_operations[0]["name"] == "Install base packages"


def test_a_failed_bare_deploy_is_recorded_and_the_sandbox_still_goes_down(recorder):
    recorder.fail = {"h5-bare-deploy": 1}
    results, _, problems = runner.run_all([5, 10], noop_runs=2, max_cap=24)
    assert problems == []
    steps = recorder.steps()
    assert steps[steps.index("h5-bare-deploy") + 1] == "h5-deploy-down"
    assert "h10-bare-deploy" in steps  # the next cluster still runs
    (failure,) = results[0].failures
    assert failure["step"] == "bare deploy" and failure["message"].startswith("exit 1 after")
    assert results[0].figures["bare_deploy"] is None


def test_a_no_op_that_changes_something_is_a_failure_but_keeps_its_time(recorder):
    recorder.changed = {"h5-noop-2"}
    (result,), _, _ = runner.run_all([5], noop_runs=2, max_cap=24)
    (failure,) = result.failures
    assert failure["step"] == "no-op re-run 2" and "not a no-op" in failure["message"]
    assert "Install base packages: changed on 1 host(s)" in failure["message"]
    assert result.noop_runs == [1.5, 1.5]


def test_max_boots_one_more_host_per_up_until_up_fails(recorder):
    recorder.fail = {"max-probe-9": 1}
    results, probe, problems = runner.run_all([5, "max"], noop_runs=1, max_cap=24)
    assert problems == []
    probe_steps = [c for c in recorder.calls if c[0].startswith("max-probe")]
    assert probe_steps == [("max-probe-6", 6), ("max-probe-7", 7), ("max-probe-8", 8),
                           ("max-probe-9", 9), ("max-probe-down", 9)]
    assert probe.booted == 8
    assert probe.stopped_by.startswith("sandbox up of host 9: error: hosts not reachable")
    assert "inotify instances in use" in probe.stopped_by
    assert [(r.label, r.hosts) for r in results] == [("5", 5), ("max", 7)]
    assert ("h7-floor-up", 8) in recorder.calls


def test_max_stops_at_the_cap(recorder):
    _, probe, _ = runner.run_all(["max"], noop_runs=1, max_cap=7)
    assert [c[0] for c in recorder.calls if c[0].startswith("max-probe")] == [
        "max-probe-6", "max-probe-7", "max-probe-8", "max-probe-down"]
    assert probe.booted == 8 and probe.stopped_by is None


def test_a_down_that_leaves_something_ends_the_run(recorder):
    recorder.leftovers = ["bridge pmsbr0"]
    results, _, problems = runner.run_all([5, 10], noop_runs=1, max_cap=24)
    assert problems[0].startswith("stopped: sandbox down exit 0") and "pmsbr0" in problems[0]
    assert not any(step.startswith("h10") for step in recorder.steps())
    assert len(results) == 1
