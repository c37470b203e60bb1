"""Clusters of N hosts for the benchmark (sandbox/bench/grow.py, on the e2e's add_agent_line),
the kernel limits ``sandbox up`` raises (sandbox/limits.py) and why an ``up`` failed
(sandbox/bench/runner.py ``up_failure_reason``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:  # `sandbox` and `tests.*` live at the project root
    sys.path.insert(0, str(PROJECT_ROOT))

from sandbox import limits  # noqa: E402
from sandbox.bench.grow import grown_inventory, parse_host_counts  # noqa: E402
from sandbox.bench.runner import up_failure_reason  # noqa: E402
from sandbox.invfile import load_inventory  # noqa: E402
from sandbox.state import StateFile  # noqa: E402

INVENTORY = PROJECT_ROOT / "inventory" / "sandbox.py"


def test_the_sandbox_inventory_grows_by_agents_to_the_asked_host_count(tmp_path, monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)  # the copy finds `sandbox` through the working directory
    base = load_inventory(INVENTORY).hosts
    text, added = grown_inventory(INVENTORY.read_text(), base, 10)
    assert added == [f"agent{i}" for i in range(3, 8)]
    copy = tmp_path / INVENTORY.name
    copy.write_text(text)
    grown = load_inventory(copy)
    assert grown.hosts == [*base, *added] and len(grown.hosts) == 10
    assert grown.sandbox == load_inventory(INVENTORY).sandbox
    assert grown_inventory(INVENTORY.read_text(), base, len(base)) == (
        INVENTORY.read_text(), [])
    with pytest.raises(ValueError, match="already names 5 hosts"):
        grown_inventory(INVENTORY.read_text(), base, 4)


@pytest.mark.parametrize(("text", "counts"), [
    ("5,10,max", [5, 10, "max"]), ("5", [5]), ("max", ["max"]), (" 5 , MAX ", [5, "max"])])
def test_host_counts(text, counts):
    assert parse_host_counts(text) == counts


@pytest.mark.parametrize("text", ["", "5,5", "10,5", "max,5", "0", "five", "max,max"])
def test_bad_host_counts_are_refused(text):
    with pytest.raises(ValueError, match="^--hosts: "):
        parse_host_counts(text)


def state(tmp_path: Path) -> StateFile:
    return StateFile(tmp_path / "state.json", "bench-test")


def test_limits_are_raised_recorded_and_restored(tmp_path):
    low, high = tmp_path / "instances", tmp_path / "watches"
    low.write_text("128\n")
    high.write_text("999999\n")
    st = state(tmp_path)
    changes, problems = limits.raise_limits(st, {str(low): 1024, str(high): 524288})
    assert problems == [] and len(changes) == 1 and "128 -> 1024" in changes[0]
    assert low.read_text() == "1024\n" and high.read_text() == "999999\n"
    # Recorded on disk, so a `down` after a crash restores it.
    assert StateFile(st.path, "bench-test").data["sysctl"] == {
        str(low): {"was": 128, "set": 1024}}
    # A second `up` changes nothing.
    assert limits.raise_limits(st, {str(low): 1024}) == ([], [])
    assert limits.restore_limits(st) == [f"{low} back to 128"]
    assert low.read_text() == "128\n" and "sysctl" not in st.data


def test_a_limit_changed_by_someone_else_since_is_left_alone(tmp_path):
    path = tmp_path / "instances"
    path.write_text("128\n")
    st = state(tmp_path)
    limits.raise_limits(st, {str(path): 1024})
    path.write_text("4096\n")
    assert limits.restore_limits(st) == []
    assert path.read_text() == "4096\n" and "sysctl" not in st.data


def test_a_limit_that_cannot_be_written_is_a_note_and_not_recorded(tmp_path):
    st = state(tmp_path)
    # Unreadable: not a limit this kernel has, nothing to do.
    assert limits.raise_limits(st, {str(tmp_path / "missing"): 1024}) == ([], [])
    # Read-only for everyone, root included (procfs checks sysctl modes for root too): the
    # open for writing fails, nothing is written.
    read_only = "/proc/sys/fs/file-nr"
    changes, problems = limits.raise_limits(st, {read_only: 2**62})
    assert changes == [] and problems[0].startswith(f"{read_only}: cannot set {2**62}")
    assert "sysctl" not in st.data
    assert "sysctl" not in StateFile(st.path, "bench-test").data


def test_up_failure_reason_names_the_error_the_host_log_and_inotify(tmp_path):
    host = tmp_path / "agent14"
    host.mkdir()
    (host / "nspawn.log").write_text(
        "Spawning container agent14.\n\nFailed to allocate manager object: Too many open files\n")
    output = ("== hosts\n   agent14  198.51.100.24  created: overlay\n"
              "error: hosts not reachable over ssh: agent14 (clean up with: ...)\n")
    reason = up_failure_reason(output, {"agent14": host, "agent1": tmp_path / "agent1"})
    parts = reason.split(" | ")
    assert parts[0].startswith("error: hosts not reachable over ssh: agent14")
    assert "agent14 nspawn.log: Failed to allocate manager object: Too many open files" in parts
    assert parts[-1].startswith("inotify instances in use: ")
    assert "max_user_instances" in parts[-1]
