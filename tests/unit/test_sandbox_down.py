"""sandbox/down.py: host trees are removed side by side; the state forgets each host as its
removal is reported, in the recorded order, and a failed removal keeps the rest recorded."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox import down
from sandbox.state import StateFile


class Recorder:
    def __init__(self, st: StateFile) -> None:
        self.st = st
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()
        self.saved_hosts: list[list[str]] = []

    def remove(self, rec: dict[str, Any]) -> list[str]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        # The first host is the slowest: the others finish before it.
        time.sleep(0.3 if rec["dir"].endswith("h0") else 0.05)
        with self.lock:
            self.running -= 1
        if rec["dir"].endswith("bad"):
            raise OSError(f"{rec['dir']}: still there")
        return [f"dir {rec['dir']}"]


@pytest.fixture()
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateFile:
    st = StateFile(tmp_path / "state.json", "sb")
    st.data.setdefault("hosts", {})
    st.data.setdefault("services", {})
    monkeypatch.setattr(down, "stop", lambda *a, **k: None)
    monkeypatch.setattr(down.services, "service_records", lambda st: [])
    monkeypatch.setattr(down.services, "exec_root", lambda sandbox: tmp_path / "exec")
    monkeypatch.setattr(down.config, "state_dir", lambda sandbox: tmp_path / "sdir")
    monkeypatch.setattr(down, "mounts_under", lambda path: [])
    monkeypatch.setattr(down.network, "delete_bridge", lambda st: [])
    monkeypatch.setattr(down, "restore_limits", lambda st: [])
    return st


def test_hosts_are_removed_side_by_side_and_forgotten_in_order(
        state: StateFile, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(4):
        state.hosts[f"h{i}"] = {"dir": f"/x/h{i}"}
    state.save()
    recorder = Recorder(state)
    monkeypatch.setattr(down, "_remove_host", recorder.remove)
    assert down.down(state) == 0
    assert recorder.most > 1, "removals ran one after the other"
    assert state.hosts == {}
    printed = [line.split(":")[0].strip() for line in capsys.readouterr().out.splitlines()
               if line.startswith("   h")]
    assert printed == ["h0", "h1", "h2", "h3"]


def test_a_failed_removal_keeps_that_host_and_the_later_ones_recorded(
        state: StateFile, monkeypatch: pytest.MonkeyPatch) -> None:
    state.hosts.update({"a": {"dir": "/x/a"}, "b": {"dir": "/x/bad"}, "c": {"dir": "/x/c"}})
    state.save()
    monkeypatch.setattr(down, "_remove_host", Recorder(state).remove)
    with pytest.raises(OSError, match="still there"):
        down.down(state)
    assert list(StateFile(state.path, "sb").hosts) == ["b", "c"]
