"""Flag loading of the stand-ins behaves like stout/Mesos 1.11."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standins.mesos.mesos_standin import flags as flaglib
from tests.standins.mesos.mesos_standin.aventer_flags import AGENT_EXTRA
from tests.standins.mesos.testing import free_ports, get, run, start, wait_for


def test_unknown_flag_exits_1_with_mesos_wording(tmp_path: Path) -> None:
    proc = run("master", [f"--work_dir={tmp_path}", "--foo=bar"])
    assert proc.returncode == 1
    assert "Failed to load unknown flag 'foo'" in proc.stderr


def test_unknown_negated_flag_names_the_flag() -> None:
    with pytest.raises(flaglib.FlagError, match=r"unknown flag 'foo' via 'no-foo'"):
        flaglib.load("mesos-master", "master", ["--no-foo"], environ={})


def test_unknown_agent_flag(tmp_path: Path) -> None:
    # `zk` is a master flag, not an agent flag: the agent must refuse it on the command line.
    proc = run("agent", ["--master=127.0.0.1:1", f"--work_dir={tmp_path}", "--zk=zk://x/y"])
    assert proc.returncode == 1
    assert "Failed to load unknown flag 'zk'" in proc.stderr


def test_master_requires_work_dir() -> None:
    proc = run("master", ["--ip=127.0.0.1", "--port=1"])
    assert proc.returncode == 1
    assert "--work_dir" in proc.stderr


def test_only_the_replicated_log_registry_writes_the_log(tmp_path: Path) -> None:
    # apache/mesos 1.11.0 src/master/main.cpp: `--registry=in_memory` gives InMemoryStorage and
    # no Log; only `replicated_log` opens <work_dir>/replicated_log (work_dir then required).
    for registry, writes in (("in_memory", False), ("replicated_log", True)):
        (port,) = free_ports(1)
        work = tmp_path / registry
        proc = start("master", [f"--work_dir={work}", "--ip=127.0.0.1", f"--port={port}",
                                f"--registry={registry}"], tmp_path / f"{registry}.log")
        try:
            wait_for("master up", lambda p=port: get(f"http://127.0.0.1:{p}/health")[0] == 200, 15)
        finally:
            proc.stop()
        assert (work / "replicated_log").is_dir() is writes, registry


def test_master_requires_quorum_with_zk(tmp_path: Path) -> None:
    proc = run("master", [f"--work_dir={tmp_path}", "--zk=zk://127.0.0.1:1/mesos"])
    assert proc.returncode == 1
    assert "--quorum" in proc.stderr


def test_agent_requires_master_and_work_dir(tmp_path: Path) -> None:
    proc = run("agent", [f"--work_dir={tmp_path}"])
    # src/slave/main.cpp: EXIT(EXIT_FAILURE) << "Missing required option ..." (no usage text).
    assert proc.returncode == 1
    assert "EXIT with status 1: Missing required option `--master` or `--master_detector`" \
        in proc.stderr
    assert "`--master_detector`." not in proc.stderr and "Usage:" not in proc.stderr
    proc = run("agent", ["--master=127.0.0.1:5050"])
    assert proc.returncode == 1 and "work_dir" in proc.stderr


def test_env_and_argv_argv_wins() -> None:
    env = {"MESOS_QUORUM": "2", "MESOS_PORT": "6000", "MESOS_NOT_A_FLAG": "ignored"}
    flags = flaglib.load("mesos-master", "master", ["--port=7000"], environ=env)
    assert flags.get("quorum") == "2"  # from the environment
    assert flags.get("port") == "7000"  # argv wins
    assert "not_a_flag" not in flags.values  # unknown MESOS_* variables are ignored, as stout does


def test_booleans_and_duplicates() -> None:
    argv = ["--no-hostname_lookup", "--log_auto_initialize"]
    flags = flaglib.load("mesos-master", "master", argv, environ={})
    assert flags.boolean("hostname_lookup") is False
    assert flags.boolean("log_auto_initialize") is True
    # stout's wording (flags.hpp FlagsBase::load), not "Duplicate flag".
    with pytest.raises(flaglib.FlagError, match="Flag 'port' is already loaded via name 'port'"):
        flaglib.load("mesos-master", "master", ["--port=1", "--port=2"], environ={})
    with pytest.raises(flaglib.FlagError, match="non-boolean flag 'port'"):
        flaglib.load("mesos-master", "master", ["--no-port"], environ={})


def test_flag_lists_are_the_1_11_lists() -> None:
    master = flaglib.read_flag_list(flaglib.flag_list_path("master"))
    agent = flaglib.read_flag_list(flaglib.flag_list_path("agent"))
    assert (len(master), len(agent)) == (77, 149)
    assert master["port"] == "5050" and agent["port"] == "5051"


def test_unknown_mesos_env_is_ignored_but_unknown_argv_is_fatal(tmp_path: Path) -> None:
    """stout flags.hpp `extract`: MESOS_* names that are no flag are skipped silently; only a
    command-line flag is checked ("Failed to load unknown flag")."""
    env = {"MESOS_NOT_A_FLAG": "x", "MESOS_ZK_TYPO": "zk://h:1/mesos"}
    flags = flaglib.load("mesos-agent", "agent", ["--master=h:5050"], environ=env)
    assert "not_a_flag" not in flags.values and "zk_typo" not in flags.values
    with pytest.raises(flaglib.FlagError, match=r"^Failed to load unknown flag 'zk_typo'$"):
        flaglib.load("mesos-agent", "agent", ["--zk_typo=zk://h:1/mesos"], environ={})
    # The same through a real start: the environment does not stop the agent at flag loading.
    proc = run("agent", [f"--work_dir={tmp_path}"], env={"MESOS_NOT_A_FLAG": "1"})
    assert "unknown flag" not in proc.stderr and "Missing required option" in proc.stderr


@pytest.mark.parametrize("kind", ["master", "agent"])
def test_aventer_cleanup_log_files_accepted(kind: str) -> None:
    flags = flaglib.load(f"mesos-{kind}", kind, ["--cleanup_log_files=7"], environ={})
    assert flags.get("cleanup_log_files") == "7"


def test_aventer_agent_flags_accepted_and_master_refuses_them() -> None:
    """The 17 agent flags aventer-mesos adds (clusterd v1.11.0-0.6.0 src/slave/flags.cpp)."""
    names = sorted(AGENT_EXTRA)
    assert len(names) == 17
    assert {"network_link_speed", "xfs_quota_headroom", "ingress_burst", "egress_burst",
            "minimum_ingress_rate_limit", "maximum_egress_rate_limit",
            "network_rate_statistics_window"} <= set(names)  # fmt: skip
    argv = [f"--{n}" if AGENT_EXTRA[n] in ("true", "false") else f"--{n}=1" for n in names]
    flags = flaglib.load("mesos-agent", "agent", argv, environ={})
    assert set(names) <= set(flags.values)
    assert flaglib.load("mesos-agent", "agent", ["--no-ingress_isolate_existing_containers"],
                        environ={}).boolean("ingress_isolate_existing_containers") is False
    with pytest.raises(flaglib.FlagError, match="unknown flag 'network_link_speed'"):
        flaglib.load("mesos-master", "master", ["--network_link_speed=1GB"], environ={})


def test_file_urls_are_read_at_flag_loading(tmp_path: Path) -> None:
    """--zk / --master accept file:// (SecurePathOrValue, stout flags/parse.hpp): the value is
    the file's content; a missing file fails flag loading with stout's message."""
    zk_file = tmp_path / "zk"
    zk_file.write_text("zk://10.0.0.1:2181,10.0.0.2:2181/mesos\n")
    env = {"MESOS_ZK": f"file://{zk_file}"}
    master = flaglib.load("mesos-master", "master", [], environ=env)
    assert master.get("zk") == "zk://10.0.0.1:2181,10.0.0.2:2181/mesos\n"
    agent = flaglib.load("mesos-agent", "agent", [f"--master=file://{zk_file}"], environ={})
    assert agent.get("master") == "zk://10.0.0.1:2181,10.0.0.2:2181/mesos\n"
    missing = tmp_path / "nope"
    with pytest.raises(flaglib.FlagError, match=(
            rf"^Failed to load flag 'zk': Failed to load value 'file://{missing}': Error "
            rf"reading file '{missing}': No such file or directory$")):  # fmt: skip
        flaglib.load("mesos-master", "master", [], environ={"MESOS_ZK": f"file://{missing}"})
    # Path flags keep the URL as given (fetch<Path> does not read the file).
    creds = flaglib.load("mesos-master", "master", [f"--credentials=file://{missing}"], {})
    assert creds.get("credentials") == f"file://{missing}"


def test_master_with_missing_zk_file_exits_at_flag_loading(tmp_path: Path) -> None:
    proc = run("master", [f"--work_dir={tmp_path}"], env={"MESOS_ZK": "file:///nonexistent/zk"})
    assert proc.returncode == 1
    assert "Error reading file '/nonexistent/zk'" in proc.stderr
