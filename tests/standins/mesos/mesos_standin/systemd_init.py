"""The agent's systemd start-up check (m3scluster/clusterd src/slave/main.cpp and
src/linux/systemd.cpp, tag v1.11.0-0.6.0, unchanged through HEAD).

With `--systemd_enable_support` (default true) and systemd as the init system, the agent runs
systemd::initialize and exits on failure with "Failed to initialize systemd: <reason>":
1. systemd::exists(): realpath(/sbin/init) run with `--version` prints "systemd <number>";
   otherwise systemd support is skipped (no error).
2. `--systemd_runtime_directory` (default /run/systemd/system) must exist:
   "Failed to locate systemd runtime directory: <dir>".
3. `<--cgroups_hierarchy>/systemd` (default /sys/fs/cgroup/systemd) must be a cgroup v1
   hierarchy: "Failed to locate systemd cgroups hierarchy: '<dir>' is not a valid hierarchy"
   (cgroups::verify). Hosts that boot the unified (v2) hierarchy only have no such directory.

Not kept: creating and starting mesos_executors.slice and checking that its cgroup exists (the
stand-in's tasks are Docker containers and never enter that slice), and the mount-table check
(an existing directory counts as a hierarchy).

Test hook: MESOS_STANDIN_ROOT (default empty) is prefixed to /sbin/init and to both directories
when they are checked, so tests build a v1 or a v2 host in a scratch tree; messages name the
paths without it. Real Mesos ignores the variable (a MESOS_* name that is no flag).
"""

from __future__ import annotations

import logging
import os
import subprocess

from .flags import Flags

ROOT_ENV = "MESOS_STANDIN_ROOT"


def _root() -> str:
    return os.environ.get(ROOT_ENV, "").rstrip("/")


def systemd_exists(log: logging.Logger) -> bool:
    """systemd::exists(): is /sbin/init systemd (by its `--version` output)?"""
    init = _root() + "/sbin/init"
    if not os.path.exists(init):
        log.warning("Failed to test /sbin/init for systemd environment: does not exist")
        return False
    real = os.path.realpath(init)
    try:
        out = subprocess.run([real, "--version"], capture_output=True, text=True, timeout=10,
                             check=False).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("Failed to test command '%s --version': %s", real, exc)
        return False
    tokens = out.split()
    if len(tokens) < 2 or tokens[0] != "systemd" or not tokens[1].isdigit():
        return False
    log.info("systemd version `%s` detected", tokens[1])
    return True


def initialize_problem(flags: Flags, log: logging.Logger) -> str | None:
    """None when the agent may go on, else the reason it exits (without the prefix)."""
    if not flags.boolean("systemd_enable_support") or not systemd_exists(log):
        return None
    log.info("Initializing systemd state")
    runtime = flags.get("systemd_runtime_directory") or "/run/systemd/system"
    if not os.path.isdir(_root() + runtime):
        return f"Failed to locate systemd runtime directory: {runtime}"
    hierarchy = os.path.join(flags.get("cgroups_hierarchy") or "/sys/fs/cgroup", "systemd")
    if not os.path.isdir(_root() + hierarchy):
        return f"Failed to locate systemd cgroups hierarchy: '{hierarchy}' is not a valid hierarchy"
    return None
