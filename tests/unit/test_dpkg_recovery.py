"""dpkg_recovery: a run killed during apt leaves dpkg unfinished; the next run finishes it first.

The fact's parsing, the operation's decision (through the real tasks/common.py on pyinfra @fake
hosts), and the retry loop run for real by sh against a stand-in `dpkg` on PATH.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from test_tasks_harness import fake_host, op_named, plan

from pyinfra_mesos.deploy.deploy_facts import DpkgInterrupted, parse_dpkg_interrupted
from pyinfra_mesos.deploy.dpkg_recovery import configure_pending_command

OP = "Finish what an interrupted dpkg left (dpkg --configure -a)"
# `dpkg --audit` on Debian 12 after a SIGPIPE'd install (captured form; the fact prefixes it).
AUDIT = [
    "audit: The following packages have been unpacked but not yet configured.",
    "audit: They must be configured using dpkg --configure or the configure",
    "audit: menu option in dselect for them to work:",
    "audit:  zookeeper            Centralized coordination service",
    "audit: ",
]


def test_a_clean_host_has_nothing_unfinished() -> None:
    assert parse_dpkg_interrupted([]) == []
    assert parse_dpkg_interrupted(["audit: ", "  "]) == []


def test_pending_journal_and_audit_lines_are_reported() -> None:
    found = parse_dpkg_interrupted(["pending-updates", *AUDIT])
    assert found[0] == "pending-updates"
    assert any("zookeeper" in line for line in found)
    assert "audit:" not in found  # blank audit lines dropped


def test_fact_command_reads_both_marks_in_one_round_trip() -> None:
    command = DpkgInterrupted().command()
    assert "/var/lib/dpkg/updates" in command and "dpkg --audit" in command


def ops_for(responses: dict) -> list[str]:
    groups = {"masters": [fake_host("m1", responses, ip="10.0.0.11", zookeeper_id=1)],
              "agents": [fake_host("a1", {}, ip="10.0.1.11")]}
    return op_named(plan(groups, ["tasks/common.py"])["m1"], OP).commands


def test_the_deploy_configures_pending_packages_before_any_apt_operation() -> None:
    commands = ops_for({"dpkg --audit": ["pending-updates"]})
    assert len(commands) == 1 and "dpkg --configure -a" in commands[0]
    names = [op.name for op in plan(
        {"masters": [fake_host("m1", {}, ip="10.0.0.11", zookeeper_id=1)], "agents": []},
        ["tasks/common.py"])["m1"]]
    assert names.index(OP) < next(i for i, name in enumerate(names)
                                  if name.startswith("Refresh apt lists"))


def test_a_clean_host_gets_no_command() -> None:
    assert ops_for({}) == []


def fake_dpkg(tmp_path: Path, failures: int) -> dict[str, str]:
    """A `dpkg` on PATH that fails `failures` times (lock held), then succeeds."""
    counter = tmp_path / "calls"
    script = tmp_path / "dpkg"
    script.write_text("#!/bin/sh\n"
                      f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); "
                      f"echo $n > {counter}\n"
                      f"if [ $n -le {failures} ]; then "
                      "echo 'dpkg: error: dpkg frontend lock was locked by another process' >&2; "
                      "exit 2; fi\nexit 0\n")
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}


def run_command(timeout_s: int, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = configure_pending_command(timeout_s, interval_s=1).get_raw_value()
    return subprocess.run(command, shell=True, env=env, capture_output=True, text=True,
                          timeout=30)


def test_retries_while_the_lock_is_held_then_succeeds(tmp_path: Path) -> None:
    result = run_command(5, fake_dpkg(tmp_path, failures=2))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls").read_text().strip() == "3"


def test_gives_up_after_the_bound_with_dpkgs_error(tmp_path: Path) -> None:
    result = run_command(3, fake_dpkg(tmp_path, failures=100))
    assert result.returncode == 1
    assert "lock was locked by another process" in result.stderr
    assert (tmp_path / "calls").read_text().strip() == "3"
