"""Flag loading of the stand-ins behaves like stout/Mesos 1.11."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standins.mesos.mesos_standin import flags as flaglib
from tests.standins.mesos.testing import run


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


def test_master_requires_quorum_with_zk(tmp_path: Path) -> None:
    proc = run("master", [f"--work_dir={tmp_path}", "--zk=zk://127.0.0.1:1/mesos"])
    assert proc.returncode == 1
    assert "--quorum" in proc.stderr


def test_agent_requires_master_and_work_dir(tmp_path: Path) -> None:
    proc = run("agent", [f"--work_dir={tmp_path}"])
    assert proc.returncode == 1 and "--master" in proc.stderr
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
    with pytest.raises(flaglib.FlagError, match="Duplicate flag 'port'"):
        flaglib.load("mesos-master", "master", ["--port=1", "--port=2"], environ={})
    with pytest.raises(flaglib.FlagError, match="non-boolean flag 'port'"):
        flaglib.load("mesos-master", "master", ["--no-port"], environ={})


def test_flag_lists_are_the_1_11_lists() -> None:
    master = flaglib.read_flag_list(flaglib.flag_list_path("master"))
    agent = flaglib.read_flag_list(flaglib.flag_list_path("agent"))
    assert (len(master), len(agent)) == (77, 149)
    assert master["port"] == "5050" and agent["port"] == "5051"
