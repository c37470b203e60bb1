"""The Mesos master (tasks/mesos_master.py): its env file, quorum changes, the replicated log.

The master's flags are computed in flags.py (flag_tables.MASTER says which key sets which);
the files both roles share, and the package, are mesos_package.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.problems import Problem, error, warning
from pyinfra_mesos.topology import quorum
from pyinfra_mesos.value_checks import is_digits

CONSENT_LOG_RESET = "mesos_allow_replicated_log_reset"

MESOS_MASTER_ENV = "/etc/default/mesos-master"


@dataclass(frozen=True)
class QuorumPlan:
    current: int | None
    new: int
    reset_replicated_log: bool

    @property
    def changes(self) -> bool:
        return self.current is not None and self.current != self.new


def plan_quorum_change(host: str, current_flags: Mapping[str, str], master_count: int,
                       replicated_log_exists: bool, allow_reset: bool) -> QuorumPlan:
    """Decide what a master count change needs (apache/mesos docs/operational-guide.md,
    1.11: the replicated log's quorum follows the master count).

    The rule itself is check_master_count_change, the same one `check` documents:
    1 -> N masters, or shrinking, with a replicated log needs mesos_allow_replicated_log_reset
    (refused otherwise, before anything changes); growing 3 -> 5 needs nothing, the task
    restarts the existing masters with the new quorum before the new ones start.
    """
    new = quorum(master_count)
    raw = current_flags.get("quorum")
    current = int(raw) if is_digits(raw) else None
    # Counts are odd (validation refuses even ones), so a quorum q was computed for 2q-1 masters.
    previous_count = None if current is None else 2 * current - 1
    problems = check_master_count_change(previous_count, replicated_log_exists, master_count,
                                         allowed=allow_reset, where=host)
    refusals = [p for p in problems if p.level == "error"]
    if refusals:
        raise DeployRefused(" ".join(p.format() for p in refusals))
    # A remaining (warning) problem is a consented change that needs the log moved aside.
    return QuorumPlan(current, new, reset_replicated_log=bool(problems))


def replicated_log_reset_commands(work_dir: str, service: str) -> list[str]:
    """Move the log aside (never delete it): the operator can still restore it by hand."""
    log = f"{work_dir.rstrip('/')}/replicated_log"
    return [f"systemctl stop {service}",
            f"mv {log} {log}.before-quorum-change-$(date +%Y%m%d%H%M%S)"]


def check_master_count_change(previous_master_count: int | None, log_exists: bool,
                              master_count: int, allowed: bool,
                              where: str = "masters") -> list[Problem]:
    """Refuse master count changes Mesos' replicated log cannot survive, unless consented to.

    The deploy feeds the facts: how many masters the cluster last ran with (None: unknown or
    new) and whether a replicated log already exists. 1 -> N needs the log wiped (a 1-master log
    cannot gain replicas); shrinking leaves the log with replicas it counts on. Growing 3 -> 5
    is supported (restart the old ones with the new quorum first) and needs no consent.
    """
    new = master_count
    if previous_master_count is None or not log_exists or new == previous_master_count or new == 0:
        return []
    how = f"rerun with --data {CONSENT_LOG_RESET}=true"
    if previous_master_count == 1 and new > 1:
        change = (f"growing from 1 master to {new} needs the existing replicated log wiped "
                  "(Mesos cannot add replicas to a 1-master log); the registry (agents, "
                  "frameworks) is lost and agents re-register")
    elif new < previous_master_count:
        change = (f"shrinking from {previous_master_count} masters to {new} changes the quorum "
                  f"to {quorum(new)} under a log written by {previous_master_count} replicas; "
                  "the replicated log must be reset on the remaining masters")
    else:
        return []
    if allowed:
        return [warning(where, CONSENT_LOG_RESET, f"{change}; going ahead as asked")]
    return [error(where, CONSENT_LOG_RESET, f"{change}. Nothing was changed; to accept, {how}")]
