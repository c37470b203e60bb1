"""deploy/remembered_reads.py and deploy/run_memo.py: what one run keeps for the next, and what
it computes once for all its hosts (issue 13)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from pyinfra.connectors.fake import FakeConnector
from pyinfra.context import ctx_host
from pyinfra.facts.files import File, FileContents
from test_tasks_harness import fake_host, prepared

from pyinfra_mesos.deploy import remembered_reads as remembered_module
from pyinfra_mesos.deploy.file_set import FileSetState
from pyinfra_mesos.deploy.planning_facts import (
    MARK,
    defer_fact,
    named_reads,
    read_deferred,
    read_together,
)
from pyinfra_mesos.deploy.remembered_reads import (
    REMEMBERED_READS,
    Remembered,
    decode,
    encode,
    remember_reads,
    remembered_reads,
)
from pyinfra_mesos.deploy.rolling import ServiceFreshness

READS = [
    (FileSetState, {"paths": ("/etc/a", "/etc/b c"), "dirs": ("/etc/pyinfra-mesos",)}),
    (ServiceFreshness, {"unit": "docker.service", "paths": ("/etc/docker/daemon.json",)}),
    (File, {"path": "/var/lib/pyinfra-mesos/docker-drain-pending"}),
]


def test_reads_come_back_from_json_as_the_same_hashable_reads() -> None:
    rows = json.loads(json.dumps(encode(READS)))
    assert decode(rows) == READS
    for _, kwargs in decode(rows):
        hash(tuple(sorted(kwargs.items())))  # planning_facts keys reads by them


def test_rows_naming_anything_but_a_fact_of_ours_or_pyinfras_are_skipped() -> None:
    good = encode(READS[:1])
    rows = [["os:system", {"command": "true"}],  # nothing is imported from the file
            ["pyinfra.facts.server:Command", {"command": "rm -rf /"}],  # not one we remember
            ["pyinfra_mesos.__main__:main", {}],
            ["pyinfra_mesos.deploy.file_set:FileSetState", {"no_such_argument": 1}],  # old
            ["pyinfra_mesos.deploy.file_set:FileSetState"],  # malformed
            "FileSetState", *good]
    assert decode(rows) == READS[:1]
    assert decode({"not": "a list"}) == []
    # Arguments JSON cannot give back equal are left out, not kept wrong; nor are facts the
    # deploy does not name ahead.
    assert encode([(File, {"path": object()})]) == []
    assert encode([(FileContents, {"path": "/etc/a"})]) == []


def test_a_read_whose_fact_refuses_its_arguments_fails_its_own_section_only() -> None:
    """An older version's row that slipped through costs its read, never the run."""
    from pyinfra_mesos.deploy.planning_facts import deferred_command, deferred_sections

    command, _ = deferred_command([(FileSetState, {"no_such_argument": 1}), READS[2]])
    import subprocess

    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)
    assert list(deferred_sections(out.stdout.splitlines(), 2)) == [1]


def _in(tmp_path: Path, _state: Any) -> None:
    """This test's file, in place of the scratch one prepared() gives each run."""
    remembered_module.REMEMBERED_READS = tmp_path / REMEMBERED_READS


def test_a_host_s_reads_are_kept_0600_for_its_cluster_and_rewritten_only_when_they_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[str] = []
    replace = os.replace

    def counted(source: str, target: Any) -> None:
        writes.append(str(target))
        replace(source, target)

    monkeypatch.setattr(os, "replace", counted)
    hosts = {"masters": [fake_host("m1", {}), fake_host("m2", {}, cluster_name="other")]}
    with prepared(hosts) as (state, inventory):
        _in(tmp_path, state)
        m1, m2 = inventory.get_host("@fake/m1"), inventory.get_host("@fake/m2")
        assert remembered_reads(m1) == Remembered()  # no file yet
        remember_reads(m1, READS, READS[2:])
        remember_reads(m2, READS[:1])
        path = tmp_path / REMEMBERED_READS
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert writes == [str(path), str(path)]
        remember_reads(m1, READS, READS[2:])  # the same: not written
        assert len(writes) == 2
        remember_reads(m1, READS)  # the background read no longer asked for: written
        remember_reads(m1, READS, READS[2:])
        assert len(writes) == 4
    saved = json.loads(path.read_text())
    assert set(saved) == {"pyinfra-mesos", "other"}
    assert list(saved["pyinfra-mesos"]) == ["@fake/m1"]
    with prepared(hosts) as (state, inventory):  # the next run
        _in(tmp_path, state)
        assert remembered_reads(inventory.get_host("@fake/m1")) == Remembered(READS, READS[2:])
        assert remembered_reads(inventory.get_host("@fake/m2")) == Remembered(READS[:1], [])
    # A file that is not JSON is as no file; nothing fails.
    path.write_text("{not json")
    with prepared(hosts) as (state, inventory):
        _in(tmp_path, state)
        assert remembered_reads(inventory.get_host("@fake/m1")) == Remembered()


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every command the @fake hosts are sent, as its shell text."""
    commands: list[str] = []
    original = FakeConnector.run_shell_command

    def record(self: FakeConnector, command: Any, *args: Any, **kwargs: Any) -> Any:
        commands.append(command if isinstance(command, str) else command.get_raw_value())
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(FakeConnector, "run_shell_command", record)
    return commands


def test_reads_named_last_run_go_in_the_first_command_and_none_is_left_for_the_last(
        tmp_path: Path, seen: list[str]) -> None:
    """The case the module exists for: with last run's list, a converged host's loading sends
    one command; read_deferred finds every named read kept and sends nothing."""
    answer = [line for index in range(len(READS))
              for line in (f"{MARK} {index}", f"{MARK} {index} rc=0")]
    hosts = {"masters": [fake_host("m1", {MARK: answer})]}
    with prepared(hosts) as (state, inventory):
        _in(tmp_path, state)
        m1 = inventory.get_host("@fake/m1")
        remember_reads(m1, READS)
    with prepared(hosts) as (state, inventory):
        _in(tmp_path, state)
        m1 = inventory.get_host("@fake/m1")
        with ctx_host.use(m1):
            assert read_together(m1, remembered_reads(m1).reads) == len(READS)
            for fact, kwargs in READS:  # what the operations name while they are planned
                defer_fact(m1, fact, **kwargs)
            assert named_reads(m1) == READS
            before = len(seen)
            assert read_deferred(m1) == 0
            assert len(seen) == before
    assert sum(MARK in command for command in seen) == 1


def test_the_topology_and_the_inventory_s_problems_are_computed_once_per_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pyinfra

    from pyinfra_mesos import validation
    from pyinfra_mesos.deploy.run_memo import run_problems, run_topology

    calls: list[str | None] = []

    def validate(inventory: Any, path: str | None) -> list[Any]:
        calls.append(path)
        return []

    monkeypatch.setattr(validation, "validate_inventory", validate)
    hosts = {"masters": [fake_host("m1", {}, ip="10.0.0.11")],
             "agents": [fake_host("a1", {}, ip="10.0.1.11")]}
    with prepared(hosts) as (state, _inventory):
        first = run_topology(pyinfra.state)  # the proxy, as a task file passes it
        assert run_topology(state) is first
        assert [m.name for m in first.agents] == ["@fake/a1"]
        problems = run_problems(state, "inventory/x.py")
        problems.append("a caller's own line")  # a copy: the kept list is not changed
        assert run_problems(pyinfra.state, "inventory/x.py") == []
        assert calls == ["inventory/x.py"]
    with prepared(hosts) as (state, _inventory):  # another run: computed again
        assert run_topology(state) is not first
        run_problems(state, "inventory/x.py")
        assert calls == ["inventory/x.py", "inventory/x.py"]


def test_a_background_read_is_recorded_once_and_a_second_start_makes_no_second_read(
        seen: list[str]) -> None:
    """deploy.py starts last run's background reads (the ACL read's JVM) as a host's loading
    begins; the task file that asks for the same read later starts nothing more, and only its
    request keeps the read for the next run (one nobody asks for any more is dropped)."""
    from pyinfra.facts.deb import DebPackages

    from pyinfra_mesos.deploy.planning_facts import (
        background_reads,
        kept_fact,
        read_in_background,
        start_in_background,
    )

    answer = [f"{MARK} 0", "ii  zookeeper  3.8.0-11  all  coordination", f"{MARK} 0 rc=0"]
    with prepared({"masters": [fake_host("m1", {MARK: answer, "dpkg -l": answer[1:2]})]}) as (
            _state, inventory):
        m1 = inventory.get_host("@fake/m1")
        start_in_background(m1, [(DebPackages, {})])  # deploy.py, from the remembered list
        assert background_reads(m1) == []  # not asked for by a task file (yet): not kept
        read_in_background(m1, DebPackages)  # the task file: under way, only recorded
        read_in_background(m1, DebPackages)
        assert background_reads(m1) == [(DebPackages, {})]
        found, answer_kept = kept_fact(m1, DebPackages)
        assert found and "zookeeper" in answer_kept
    assert sum("dpkg" in command for command in seen) == 1
