"""The benchmark's goals, table, JSON and comparison (sandbox/bench/report.py), and the command
line's refusals that need no sandbox (sandbox/bench/__main__.py).

Figures are the issue 13 "before" measurements (5 hosts: floor 150, bare 252, no-op 7.4,
pyinfra floor 0.83, agent floor 25, add agent 40; 10 hosts no-op 9.0; 17 hosts no-op 12.5).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:  # `sandbox` lives at the project root
    sys.path.insert(0, str(PROJECT_ROOT))

from sandbox.bench import report  # noqa: E402
from sandbox.bench.report import ClusterResult  # noqa: E402


def cluster(label: str, hosts: int, noop: float, **figures: float) -> ClusterResult:
    result = ClusterResult(label, hosts)
    result.figures.update(figures)
    result.set_runs([noop - 0.2, noop, noop + 0.5], [0.8, 0.83, 0.9])
    return result


def issue_document() -> dict:
    five = cluster("5", 5, 7.4, floor=150.0, bare_deploy=252.0, agent_floor=25.0,
                   add_agent=40.0)
    five.slowest_operations = [{"index": 7, "name": "Install ZooKeeper", "seconds": 120.0,
                                "serial": False, "hosts": 5},
                               {"index": 6, "name": "Restart Docker", "seconds": 14.0,
                                "serial": True, "hosts": 5}]
    ten = cluster("10", 10, 9.0, floor=200.0, bare_deploy=358.0)
    ten.fail("add one agent", "exit 1 after 12 s (log: x): boom")
    big = cluster("max", 17, 12.5)
    return report.build_document([five, ten, big], "2026-12-01T10:00:00Z", 3600.0,
                                 {"cpus": 2, "memory_gb": 23.0, "kernel": "6"}, "sources: x",
                                 3, {"asked": True, "booted": 18,
                                     "stopped_by": "inotify instances in use: 128"})


def goal(doc: dict, label: str, text_start: str) -> dict:
    (found,) = [g for g in doc["goals"]
                if g["label"] == label and g["goal"].startswith(text_start)]
    return found


def test_repeated_runs_give_median_min_and_max():
    result = cluster("5", 5, 7.4)
    assert result.figures["noop_median"] == 7.4
    assert (result.figures["noop_min"], result.figures["noop_max"]) == (7.2, 7.9)
    assert result.figures["pyinfra_floor_median"] == 0.83


def test_the_issues_before_figures_miss_every_goal():
    doc = issue_document()
    bare = goal(doc, "5", "bare deploy")
    assert (bare["ratio"], bare["limit_seconds"], bare["met"]) == (1.68, 187.5, False)
    noop = goal(doc, "5", "no-op <= 3x")
    assert noop["ratio"] == pytest.approx(8.916, abs=0.001) and noop["met"] is False
    add = goal(doc, "5", "add agent")
    # 1.2 x 25 + 7.4 = 37.4 s allowed, 40 s taken.
    assert (add["limit_seconds"], add["met"]) == (37.4, False)
    scaling = goal(doc, "10", "no-op <= 1.3x")
    assert scaling["ratio"] == pytest.approx(1.216, abs=0.001) and scaling["met"] is True
    sub_linear = goal(doc, "max", "no-op grows sub-linearly")
    assert sub_linear["factor"] == 3.4 and sub_linear["met"] is True


def test_a_goal_without_its_figures_is_not_judged():
    doc = issue_document()
    add = goal(doc, "10", "add agent")
    assert (add["ratio"], add["limit_seconds"], add["met"]) == (None, None, None)


def test_goals_are_met_at_their_limit():
    ok = cluster("5", 5, 2.49, floor=100.0, bare_deploy=125.0)
    doc = report.build_document([ok], "t", 1.0, {}, "", 3, {})
    assert goal(doc, "5", "bare deploy")["met"] is True
    assert goal(doc, "5", "no-op <= 3x")["met"] is True


def test_the_json_shape_is_stable_and_round_trips():
    doc = json.loads(json.dumps(issue_document()))
    assert doc["format"] == report.FORMAT
    assert set(doc) == {"format", "started_utc", "seconds", "machine", "sources", "noop_runs",
                        "clusters", "goals", "max_hosts"}
    for entry in doc["clusters"]:
        assert list(entry["figures"]) == list(report.FIGURES)
        assert set(entry) == {"label", "hosts", "figures", "noop_runs", "pyinfra_floor_runs",
                              "floor_hosts", "agent_floor_host", "slowest_operations",
                              "failures"}
    assert {tuple(sorted(g)) for g in doc["goals"]} == {(
        "factor", "figure", "floor_figure", "floor_seconds", "goal", "hosts", "label",
        "limit_seconds", "met", "plus_seconds", "ratio", "seconds")}


def test_the_table_shows_figures_ratios_goals_operations_failures_and_the_max():
    table = report.render_table(issue_document())
    lines = table.splitlines()
    bare = next(line for line in lines if line.startswith("5 ") and "bare deploy" in line
                and "x" in line)
    assert "252.0" in bare and "1.68x" in bare and "(187.5 s)" in bare and bare.endswith("NO")
    assert any("(scaling)" in line and line.endswith("yes") for line in lines)
    assert "== the 2 slowest operations of the bare deploy, 5 hosts" in table
    assert any(line.strip().startswith("120.0") and "Install ZooKeeper" in line
               for line in lines)
    assert "Restart Docker [serial]" in table
    assert "FAILED at 10 hosts: add one agent: exit 1 after 12 s" in table
    assert "max hosts: 18 booted; stopped by: inotify instances in use: 128" in table
    assert any(line.startswith("17 (max)") for line in lines)


def test_compare_prints_differences_and_changed_verdicts():
    old = issue_document()
    new = json.loads(json.dumps(old))
    new["started_utc"] = "2026-12-02T10:00:00Z"
    new["clusters"][0]["figures"]["bare_deploy"] = 180.0
    new["goals"] = report.evaluate_goals(new["clusters"])
    text = report.compare(old, new)
    row = next(line for line in text.splitlines() if line.startswith("5 ") and "bare" in line)
    assert row.split()[-4:] == ["252.0", "180.0", "-72.0", "-29%"]
    assert "goal at 5: bare deploy <= 1.25x floor: met False -> True" in text
    assert "2026-12-01T10:00:00Z -> 2026-12-02T10:00:00Z" in text


def test_load_document_refuses_what_is_not_a_benchmark(tmp_path: Path):
    other = tmp_path / "other.json"
    other.write_text('{"format": "something-else"}')
    with pytest.raises(report.ReportError, match="format"):
        report.load_document(other)
    with pytest.raises(report.ReportError, match="cannot read"):
        report.load_document(tmp_path / "missing.json")


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sandbox.bench", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_compare_against_runs_nothing_and_prints_the_differences(tmp_path: Path):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(issue_document()))
    doc = issue_document()
    doc["clusters"][0]["figures"]["floor"] = 140.0
    new.write_text(json.dumps(doc))
    done = bench("--compare", str(old), "--against", str(new))
    assert done.returncode == 0, done.stderr
    assert "-10.0" in done.stdout and "floor: packages + images" in done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--hosts", "5,max,10"], "error: --hosts: 'max' must come last"),
    (["--hosts", "10,5"], "error: --hosts: counts must grow"),
    (["--noop-runs", "0"], "error: --noop-runs: at least 1"),
    (["--compare", "/nonexistent.json"], "error: /nonexistent.json: cannot read"),
    (["--against", "x.json"], "error: --against: only with --compare"),
])
def test_bad_arguments_are_one_line_each_and_exit_2(args, message):
    done = bench(*args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
