"""apt_lists.py and deploy_facts.AptListsState: when a host's apt lists need a refresh."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from test_tasks_harness import fake_host, plan

from pyinfra_mesos.apt_lists import ListsState, lists_inputs, lists_state, refresh_reason
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


def test_an_input_of_the_same_second_as_the_stamp_counts_as_newer() -> None:
    assert lists_state(1000, 1100, {"a": 999, "b": 1000, "c": 1001}) == ListsState(100,
                                                                                   ("b", "c"))
    # No stamp: never refreshed, every existing input newer.
    assert lists_state(None, 1100, {"a": 5}) == ListsState(None, ("a",))


def run_fact(tmp_path: Path, stamp: Path, paths: tuple[str, ...]) -> ListsState:
    """AptListsState's command run for real here, its stamp moved to `stamp` (and named back
    in the output)."""
    command = AptListsState().command(paths).get_raw_value().replace(APT_UPDATE_STAMP,
                                                                    str(stamp))
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True,
                         timeout=10)
    return AptListsState().process(out.stdout.replace(str(stamp), APT_UPDATE_STAMP).splitlines())


def test_the_fact_reads_the_stamp_and_the_inputs_in_one_command(tmp_path: Path) -> None:
    stamp = tmp_path / "update-success-stamp"
    sources = tmp_path / "aventer mesos.list"  # a space survives the parsing
    pin = tmp_path / "pin"
    missing = str(tmp_path / "missing")
    sources.write_text("deb x\n")
    pin.write_text("Package: x\n")
    never = run_fact(tmp_path, stamp, (str(sources), missing))
    assert never == ListsState(None, (str(sources),))
    stamp.write_text("")
    os.utime(stamp, (2_000_000_000, 2_000_000_000))
    os.utime(sources, (1_000_000_000, 1_000_000_000))
    os.utime(pin, (2_000_000_000, 2_000_000_000))
    lists = run_fact(tmp_path, stamp, (str(sources), str(pin), missing))
    assert lists.newer_inputs == (str(pin),)
    assert lists.age_s is not None and lists.age_s < 0  # the stamp lies in the future here
    assert AptListsState().process([]) == ListsState(None)


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
    # A host without them gets them first, after a refresh of their own.
    bare = [op.name for op in planned["a1"]]
    assert bare.index(FIRST_REFRESH) < next(i for i, n in enumerate(bare)
                                            if n.startswith(KEY_TOOLS)) < bare.index(
        "Download the aventer-mesos apt key")
