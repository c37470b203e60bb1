"""deploy/planning_facts.py: one read per host while planning, a fresh read once executing."""

from __future__ import annotations

from typing import Any

import pytest
from pyinfra.api.state import StateStage
from pyinfra.connectors.fake import FakeConnector
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import FileContents
from test_tasks_harness import fake_host, prepared

from pyinfra_mesos.deploy.planning_facts import executed_operations, fact_until_change

DPKG = {"dpkg -l": ["ii  zookeeper  3.8.0-11  all  centralized coordination"]}


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    original = FakeConnector.run_shell_command

    def record(self: FakeConnector, command: Any, *args: Any, **kwargs: Any) -> Any:
        text = command if isinstance(command, str) else command.get_masked_value()
        seen.append((self.host.name, text))
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(FakeConnector, "run_shell_command", record)
    return seen


def test_a_fact_is_read_once_per_host_and_arguments_while_planning(
        commands: list[tuple[str, str]]) -> None:
    hosts = {"masters": [fake_host("m1", DPKG), fake_host("m2", DPKG)]}
    with prepared(hosts) as (_state, inventory):
        m1, m2 = inventory.get_host("@fake/m1"), inventory.get_host("@fake/m2")
        first = fact_until_change(m1, DebPackages)
        assert fact_until_change(m1, DebPackages) == first
        assert "zookeeper" in first
        fact_until_change(m2, DebPackages)
        fact_until_change(m1, FileContents, path="/etc/a")
        fact_until_change(m1, FileContents, path="/etc/b")
        fact_until_change(m1, FileContents, path="/etc/a")
    reads = [(host, "dpkg" if "dpkg" in text else "/etc/a" if "/etc/a" in text else "/etc/b")
             for host, text in commands if "-release" not in text]
    assert sorted(reads) == sorted([("@fake/m1", "dpkg"), ("@fake/m2", "dpkg"),
                                    ("@fake/m1", "/etc/a"), ("@fake/m1", "/etc/b")]), reads


def test_while_executing_a_read_is_kept_until_an_operation_of_the_host_runs_commands(
        commands: list[tuple[str, str]]) -> None:
    """pyinfra -y runs operations' reads as they execute: an operation that ran nothing leaves
    the host as it was, one that ran commands (OperationMeta.executed) may have changed it."""
    from pyinfra.api.operation import OperationMeta
    from pyinfra.api.state import StateOperationHostData

    hosts = {"masters": [fake_host("m1", DPKG), fake_host("m2", DPKG)]}
    with prepared(hosts) as (state, inventory):
        m1, m2 = inventory.get_host("@fake/m1"), inventory.get_host("@fake/m2")
        fact_until_change(m1, DebPackages)
        fact_until_change(m2, DebPackages)
        state.set_stage(StateStage.Execute)
        fact_until_change(m1, DebPackages)  # kept: nothing ran
        assert sum("dpkg" in text for _, text in commands) == 2

        def completed(op_hash: str, commands_run: list[str]) -> None:
            meta = OperationMeta(op_hash, is_change=bool(commands_run))
            meta.set_complete(True, commands_run, None)  # type: ignore[arg-type]
            state.set_op_data_for_host(m1, op_hash, StateOperationHostData(
                lambda: iter(()), {}, meta))  # type: ignore[arg-type]

        completed("nothing", [])
        fact_until_change(m1, DebPackages)  # an operation that ran nothing: still kept
        assert sum("dpkg" in text for _, text in commands) == 2
        completed("changed", ["apt-get install zookeeper"])
        assert executed_operations(m1) == 1 and executed_operations(m2) == 0
        fact_until_change(m1, DebPackages)  # read again: m1 ran commands
        fact_until_change(m1, DebPackages)  # and kept from that read
        fact_until_change(m2, DebPackages)  # m2 ran nothing
    assert [host for host, text in commands if "dpkg" in text] == [
        "@fake/m1", "@fake/m2", "@fake/m1"]


def test_deferred_command_runs_in_a_real_shell_and_each_section_parses(tmp_path: Any) -> None:
    import subprocess

    from pyinfra.facts.files import Directory

    from pyinfra_mesos.deploy import planning_facts as pf

    (tmp_path / "a").write_text("line one\nline two\n")
    reads = [(FileContents, {"path": str(tmp_path / "a")}),
             (Directory, {"path": str(tmp_path)}),
             (FileContents, {"path": str(tmp_path / "missing")})]
    command, facts = pf.deferred_command(reads)
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30,
                         check=True).stdout.splitlines()
    sections = pf.deferred_sections(out, len(reads))
    assert facts[0].process(sections[0]) == ["line one", "line two"]
    assert facts[1].process(sections[1])["mode"] > 0
    # A missing file's read exits 0 with pyinfra's own "missing" answer, which its process
    # turns into None, exactly as a read on its own does.
    assert facts[2].process(sections[2]) is None


def test_deferred_reads_are_made_in_one_command_and_the_operations_find_them(
        commands: list[tuple[str, str]]) -> None:
    from pyinfra_mesos.deploy.planning_facts import MARK, defer_fact, read_deferred

    combined = [f"{MARK} 0", "ii  zookeeper  3.8.0-11  all  coordination", f"{MARK} 0 rc=0",
                f"{MARK} 1", "hello", f"{MARK} 1 rc=0", f"{MARK} 2", f"{MARK} 2 rc=1"]
    hosts = {"masters": [fake_host("m1", {MARK: combined})]}
    with prepared(hosts) as (_state, inventory):
        m1 = inventory.get_host("@fake/m1")
        defer_fact(m1, DebPackages)
        defer_fact(m1, FileContents, path="/etc/a")
        defer_fact(m1, FileContents, path="/etc/b")
        defer_fact(m1, FileContents, path="/etc/a")  # named twice, read once
        assert read_deferred(m1) == 2
        assert read_deferred(m1) == 0  # nothing left to read
        before = len(commands)
        assert "zookeeper" in fact_until_change(m1, DebPackages)
        assert fact_until_change(m1, FileContents, path="/etc/a") == ["hello"]
        assert len(commands) == before  # both from the one command
        fact_until_change(m1, FileContents, path="/etc/b")  # its section failed: read alone
        assert len(commands) == before + 1 and "/etc/b" in commands[-1][1]
    assert sum(MARK in text for _, text in commands) == 1


def test_a_background_read_is_waited_for_and_kept(commands: list[tuple[str, str]]) -> None:
    from pyinfra_mesos.deploy.planning_facts import (
        _PENDING,
        defer_fact,
        kept_fact,
        read_deferred,
        read_in_background,
    )

    with prepared({"masters": [fake_host("m1", DPKG)]}) as (state, inventory):
        m1 = inventory.get_host("@fake/m1")
        read_in_background(m1, DebPackages)
        read_in_background(m1, DebPackages)  # already under way: not started twice
        assert "zookeeper" in fact_until_change(m1, DebPackages)  # waits, then keeps it
        assert kept_fact(m1, DebPackages)[0]
        read_in_background(m1, FileContents, path="/etc/a")
        defer_fact(m1, FileContents, path="/etc/a")
        read_deferred(m1)  # neither made again in the host's batch nor waited for here
        assert sum("/etc/a" in text for _, text in commands) <= 1
        assert [key[1] for key in _PENDING[state] if key[0] == m1.name] == [FileContents]
        assert kept_fact(m1, FileContents, path="/etc/a")[0]  # the asking read waits for it
    assert sum("dpkg" in text for _, text in commands) == 1
    assert sum("/etc/a" in text for _, text in commands) == 1


def test_a_background_read_started_through_the_host_proxy_succeeds(
        commands: list[tuple[str, str]]) -> None:
    # A task file passes pyinfra's `host` proxy: the read's greenlet must get the Host itself
    # (with the proxy, it recursed without end and every deploy printed the traceback).
    import pyinfra
    from pyinfra.context import ctx_host

    from pyinfra_mesos.deploy.planning_facts import kept_fact, read_in_background

    with prepared({"masters": [fake_host("m1", DPKG)]}) as (_state, inventory):
        m1 = inventory.get_host("@fake/m1")
        with ctx_host.use(m1):
            read_in_background(pyinfra.host, DebPackages)
        found, answer = kept_fact(m1, DebPackages)  # waits for it; reads nothing itself
        assert found and "zookeeper" in answer
    assert sum("dpkg" in text for _, text in commands) == 1


def test_reads_together_are_one_command_and_kept_for_read_kept(
        commands: list[tuple[str, str]]) -> None:
    from pyinfra_mesos.deploy.planning_facts import MARK, read_kept, read_together

    combined = [f"{MARK} 0", "ii  zookeeper  3.8.0-11  all  coordination", f"{MARK} 0 rc=0",
                f"{MARK} 1", "hello", f"{MARK} 1 rc=0", f"{MARK} 2", f"{MARK} 2 rc=1"]
    hosts = {"masters": [fake_host("m1", {MARK: combined})]}
    reads = [(DebPackages, {}), (FileContents, {"path": "/etc/a"}),
             (FileContents, {"path": "/etc/b"})]
    with prepared(hosts) as (state, inventory):
        m1 = inventory.get_host("@fake/m1")
        assert read_together(m1, reads) == 2
        before = len(commands)
        assert "zookeeper" in read_kept(m1, (DebPackages, {}))
        assert read_kept(m1, (FileContents, {"path": "/etc/a"})) == ["hello"]
        assert len(commands) == before  # both from the one command
        # Kept reads are not made again; the failed one is, alone, by its caller.
        assert read_together(m1, reads[:2]) == 0 and len(commands) == before
        read_kept(m1, (FileContents, {"path": "/etc/b"}))
        assert len(commands) == before + 1 and "/etc/b" in commands[-1][1]
        # Only while pyinfra loads the deploy.
        state.current_stage = StateStage.Execute
        assert read_together(m1, [(FileContents, {"path": "/etc/c"})]) == 0
    assert sum(MARK in text for _, text in commands) == 1


def test_reads_together_run_with_the_hosts_sudo_as_pyinfras_own_reads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that connects as a user and sets `_sudo` reads root's files with sudo: the one
    command of read_together / read_deferred too, or it would keep "missing" for them."""
    from pyinfra_mesos.deploy.planning_facts import MARK, read_together

    seen: list[dict[str, Any]] = []
    original = FakeConnector.run_shell_command

    def record(self: FakeConnector, command: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(FakeConnector, "run_shell_command", record)
    combined = [f"{MARK} 0", "hello", f"{MARK} 0 rc=0"]
    hosts = {"masters": [fake_host("m1", {MARK: combined}, _sudo=True, _sudo_user="root")]}
    with prepared(hosts) as (_state, inventory):
        m1 = inventory.get_host("@fake/m1")
        assert read_together(m1, [(FileContents, {"path": "/etc/default/mesos-master"})]) == 1
        own = fact_until_change(m1, FileContents, path="/etc/other")  # pyinfra's own read
    assert own is None or isinstance(own, list)
    ours, theirs = seen[-2], seen[-1]
    assert ours.get("_sudo") is True and ours.get("_sudo_user") == "root"
    assert {k: ours.get(k) for k in ("_sudo", "_sudo_user")} == {
        k: theirs.get(k) for k in ("_sudo", "_sudo_user")}


def test_a_background_read_is_not_used_once_its_host_ran_commands_nor_kept_when_it_failed(
        commands: list[tuple[str, str]]) -> None:
    """The ZooKeeper ACL read may end during execution (read_deferred does not wait for it):
    its answer counts as made before any operation of the host ran, so once one ran commands
    it is dropped and the operation reads again. A read that raised is not kept either, nor
    does it fail the host."""
    from pyinfra.api.facts import FactBase
    from pyinfra.api.operation import OperationMeta
    from pyinfra.api.state import StateOperationHostData

    from pyinfra_mesos.deploy.planning_facts import kept_fact, read_in_background

    class Raises(FactBase[str]):
        def command(self) -> str:
            return "echo boom"

        def process(self, output: list[str]) -> str:
            raise RuntimeError("a fact that raised")

    class Fails(FactBase[str]):
        def command(self) -> str:
            return "zkCli-that-fails"

    answers = {**DPKG, "echo boom": ["boom"],
               "zkCli-that-fails": {"success": False, "stderr": ["connection lost"]}}
    with prepared({"masters": [fake_host("m1", answers)]}) as (state, inventory):
        m1 = inventory.get_host("@fake/m1")
        read_in_background(m1, DebPackages)
        read_in_background(m1, Raises)
        read_in_background(m1, Fails)
        assert kept_fact(m1, Fails) == (False, None)  # failed: not kept, the host not failed
        assert m1 not in state.failed_hosts
        state.set_stage(StateStage.Execute)
        meta = OperationMeta("restart", is_change=True)
        meta.set_complete(True, ["systemctl restart zookeeper"], None)  # type: ignore[arg-type]
        state.set_op_data_for_host(m1, "restart", StateOperationHostData(
            lambda: iter(()), {}, meta))  # type: ignore[arg-type]
        assert kept_fact(m1, DebPackages) == (False, None)
        assert kept_fact(m1, Raises) == (False, None)
        assert m1 not in state.failed_hosts
