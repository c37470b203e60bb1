"""apt_lists.py and deploy_facts.AptListsState: when a host's apt lists need a refresh."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from test_tasks_harness import fake_host, plan

from pyinfra_mesos.apt_lists import (
    ListsState,
    lists_inputs,
    refresh_command,
    refresh_must_succeed,
    refresh_reason,
)
from pyinfra_mesos.deploy.deploy_facts import APT_UPDATE_STAMP, AptListsState

KEY_TOOLS = "Install what the aventer-mesos key needs"
FIRST_REFRESH = "Refresh apt lists (for the tools the aventer-mesos key needs)"


def test_each_role_names_the_apt_inputs_common_writes_for_it() -> None:
    assert lists_inputs([]) == ()
    assert lists_inputs({"load_balancer"}) == ()
    assert lists_inputs({"zookeeper"}) == ("/etc/apt/preferences.d/pyinfra-mesos-zookeeper",)
    assert lists_inputs({"marathon"}) == ("/etc/apt/preferences.d/pyinfra-mesos-docker",)
    assert lists_inputs({"agent", "zookeeper", "master"}) == (
        "/etc/apt/preferences.d/pyinfra-mesos-zookeeper",
        "/etc/apt/preferences.d/pyinfra-mesos-docker",
        "/etc/apt/keyrings/aventer-mesos.asc",
        "/etc/apt/sources.list.d/aventer-mesos.list",
        "/etc/apt/preferences.d/aventer-mesos")


def test_refresh_reasons() -> None:
    assert refresh_reason(ListsState(None), 3600) == "never refreshed"
    assert refresh_reason(ListsState(10, ("/etc/apt/x.list",)), 3600) == (
        "older than /etc/apt/x.list")
    assert refresh_reason(ListsState(10), 0) == "apt_cache_time_s is 0"
    assert refresh_reason(ListsState(3600), 3600) == (
        "refreshed 3600 s ago, apt_cache_time_s is 3600")
    assert refresh_reason(ListsState(3599), 3600) is None


def test_only_lists_that_must_follow_an_input_or_were_never_refreshed_must_succeed() -> None:
    assert refresh_must_succeed(ListsState(None))
    assert refresh_must_succeed(ListsState(10, ("/etc/apt/x.list",)))
    assert not refresh_must_succeed(ListsState(999999))


@pytest.mark.parametrize(("must_succeed", "apt_rc"),
                         [(False, 0), (False, 100), (True, 0), (True, 100)])
def test_the_refresh_touches_the_stamp_only_after_a_complete_update(
        tmp_path: Path, must_succeed: bool, apt_rc: int) -> None:
    """refresh_command run for real with an `apt-get` that exits `apt_rc` (100: a source failed
    under --error-on=any): the stamp moves only after a complete update; a failed one is an
    error where the lists must follow an input, a warning (exit 0) where they are only old."""
    stamp = tmp_path / "stamp"
    stamp.write_text("")
    os.utime(stamp, (1000, 1000))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(f"#!/bin/sh\necho \"apt-get $*\"\nexit {apt_rc}\n")
    (bin_dir / "apt-get").chmod(0o755)
    out = subprocess.run(["sh", "-c", refresh_command(must_succeed, str(stamp))],
                         capture_output=True, text=True, timeout=10,
                         env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert out.stdout == "apt-get update --error-on=any\n"
    if not apt_rc:
        assert out.returncode == 0 and stamp.stat().st_mtime > 1000 and out.stderr == ""
        return
    assert stamp.stat().st_mtime == 1000
    if must_succeed:
        assert out.returncode == 1 and out.stderr.startswith("error: apt lists not refreshed")
    else:
        assert out.returncode == 0 and out.stderr.startswith("warning: apt lists not refreshed")


def test_the_lenient_refresh_is_what_lists_only_old_plan() -> None:
    hosts = {"agents": [fake_host("a1", {"date +now=%s": ["now=999999", "mtime=1000"]},
                                  ip="10.0.1.11")],
             "masters": [fake_host("m1", {}, ip="10.0.0.11", zookeeper_id=1)]}
    commands = [c for op in plan(hosts, ["tasks/common.py"])["a1"]
                for c in op.commands if "apt-get update" in c]
    # Both refreshes of a host without the key's tools (theirs first) are the lenient one.
    assert commands and set(commands) == {refresh_command(False, APT_UPDATE_STAMP)}


def run_fact(stamp: Path, paths: tuple[str, ...]) -> ListsState:
    """AptListsState's command run for real here, its stamp moved to `stamp`."""
    command = AptListsState().command(paths).get_raw_value().replace(APT_UPDATE_STAMP,
                                                                    str(stamp))
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True,
                         timeout=10)
    assert out.stderr == ""
    return AptListsState().process(out.stdout.splitlines())


def test_the_fact_reads_the_stamp_and_the_inputs_in_one_command(tmp_path: Path) -> None:
    stamp = tmp_path / "update-success-stamp"
    sources = tmp_path / "aventer mesos.list"  # a space survives the quoting and the parsing
    pin = tmp_path / "pin"
    same_second = tmp_path / "same-second"
    missing = str(tmp_path / "missing")
    for path in (sources, pin, same_second, stamp):
        path.write_text("x\n")
    assert run_fact(tmp_path / "none", (str(sources), missing)) == ListsState(None)
    now = int(time.time())
    os.utime(stamp, ns=(now * 10**9 + 500_000_000,) * 2)
    os.utime(sources, ns=((now - 100) * 10**9,) * 2)
    os.utime(pin, ns=((now + 1) * 10**9,) * 2)
    # Written earlier in the second the stamp was touched: older, at full resolution (a whole-
    # second comparison would refresh again on the next run, which must change nothing).
    os.utime(same_second, ns=(now * 10**9 + 100_000_000,) * 2)
    lists = run_fact(stamp, (str(sources), str(pin), str(same_second), missing))
    assert lists.newer_inputs == (str(pin),)
    assert lists.age_s is not None and 0 <= lists.age_s <= 5
    assert run_fact(stamp, ()) == ListsState(lists.age_s)
    assert AptListsState().process([]) == ListsState(None)
    assert AptListsState().process(["now=100"]) == ListsState(None)


def test_a_host_with_the_key_tools_gets_one_refresh_and_one_install() -> None:
    """The sandbox's hosts and most images have ca-certificates, curl and gnupg: the
    aventer-mesos repository is then set up before the only refresh."""
    tools = {"dpkg -l": [f"ii  {name}  1.0  amd64  x"
                         for name in ("ca-certificates", "curl", "gnupg")]}
    hosts = {"masters": [fake_host("m1", tools, ip="10.0.0.11", zookeeper_id=1)],
             "agents": [fake_host("a1", {}, ip="10.0.1.11")]}
    planned = plan(hosts, ["tasks/common.py"])
    names = [op.name for op in planned["m1"]]
    assert not any(name.startswith((KEY_TOOLS, FIRST_REFRESH)) for name in names)
    assert sum(1 for name in names if name.startswith("Refresh apt lists")) == 1
    installs = [c for op in planned["m1"] for c in op.commands
                if "apt-get" in c and " install " in c]
    assert len(installs) == 1 and installs[0].endswith(" aventer-mesos"), installs
    # A host without them gets them first, after a refresh of their own.
    bare = [op.name for op in planned["a1"]]
    assert bare.index(FIRST_REFRESH) < next(i for i, n in enumerate(bare)
                                            if n.startswith(KEY_TOOLS)) < bare.index(
        "Download the aventer-mesos apt key")


def test_an_input_written_during_the_run_asks_for_the_refresh_planning_did_not_see() -> None:
    """A converged master whose mesos_version changed: at planning its lists are fresh and
    newer than every input, so the refresh plans nothing; once the apt files' operation has
    run (it rewrote the pin), the refresh reads the times again and refreshes."""
    from pyinfra.api.operation import OperationMeta
    from pyinfra.api.state import StateOperationHostData, StateStage
    from pyinfra.context import ctx_host
    from pyinfra_cli.util import exec_file
    from test_tasks_harness import ROOT, prepared

    fresh = ["now=2000", "mtime=1990"]
    answers = {"date +now=%s": fresh}
    hosts = {"masters": [fake_host("m1", answers, ip="10.0.0.11", zookeeper_id=1)]}
    with prepared(hosts) as (state, inventory):
        m1 = inventory.get_host("@fake/m1")
        with ctx_host.use(m1):
            exec_file(str(ROOT / "tasks/common.py"))
        by_name = {name.split(" | ", 1)[-1]: op_hash for op_hash in m1.op_hash_order
                   for name in state.get_op_meta(op_hash).names}
        refresh = next(h for n, h in by_name.items() if n.startswith("Refresh apt lists (older"))
        pins = next(h for n, h in by_name.items() if n.startswith("Add the aventer-mesos"))
        with ctx_host.use(m1):
            assert list(state.get_op_data_for_host(m1, refresh).command_generator()) == []
        state.set_stage(StateStage.Execute)
        m1.connector.data["fake_responses"]["date +now=%s"] = [
            "now=2001", "mtime=1990", "newer=/etc/apt/preferences.d/aventer-mesos"]
        meta = OperationMeta(pins, is_change=True)
        meta.set_complete(True, ["upload the pin"], None)  # type: ignore[arg-type]
        state.set_op_data_for_host(m1, pins, StateOperationHostData(
            lambda: iter(()), {}, meta))  # type: ignore[arg-type]
        with ctx_host.use(m1):
            commands = [str(c) for c in state.get_op_data_for_host(m1, refresh)
                        .command_generator()]
    assert commands == [refresh_command(True, APT_UPDATE_STAMP)]
