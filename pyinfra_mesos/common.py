"""What every host gets (tasks/common.py) and what every component's task shares.

/etc/hosts entries, apt's lock wait, a host's own Member, the work_dir refusal.
"""

from __future__ import annotations

from typing import Any

from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.problems import Problem, error
from pyinfra_mesos.topology import ROLE_GROUPS, Member, Topology

APT_LOCK_CONF = "/etc/apt/apt.conf.d/50pyinfra-mesos-lock-timeout"


def apt_lock_timeout_conf(seconds: int) -> str:
    """apt.conf: wait up to `seconds` for the dpkg frontend lock instead of failing at once
    (`DPkg::Lock::Timeout`, apt 1.9.11+; Debian 12 has 2.6)."""
    return ("// Managed by pyinfra-mesos (tasks/common.py): a re-run after a killed apt waits.\n"
            f'DPkg::Lock::Timeout "{int(seconds)}";\n')


def hosts_entries(topo: Topology) -> list[tuple[str, str]]:
    """(address, name) for every cluster member, so names resolve the same on every host."""
    return [(m.ip, m.name) for m in topo.all_members if m.ip != m.name]


def member_named(topo: Topology, name: str) -> Member:
    """The topology member called `name` (the host being configured); DeployRefused when the
    host is in none of the role groups."""
    for member in topo.all_members:
        if member.name == name:
            return member
    raise DeployRefused(f"{name}: host is in none of the groups {', '.join(ROLE_GROUPS)}")


def check_work_dir(host: str, field: str, path: str) -> None:
    """Refuse a work_dir that work_dir_problem refuses (the one rule `check` uses too)."""
    problem = work_dir_problem(host, field, path)
    if problem is not None:
        raise DeployRefused(problem.format())


def work_dir_problem(where: str, field: str, path: Any) -> Problem | None:
    """The one work_dir rule, for `check` and the deploy alike: never under /tmp.

    Mesos keeps the master's replicated log and the agent's checkpoints there, and /tmp is
    cleared at boot (apache/mesos docs/configuration/master.md: "--work_dir ... should not be
    /tmp"). The deploy's tasks call this through check_work_dir and refuse on it;
    validation.py for `check`.
    """
    if not isinstance(path, str):
        return None  # the schema reports the type
    if path.rstrip("/") == "/tmp" or path.startswith("/tmp/"):
        return error(where, field, f"{path} is under /tmp, which is cleared at boot; the "
                                   "replicated log / agent checkpoints would be lost. Use a "
                                   "persistent directory such as /var/lib/mesos")
    return None
