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
CONSENT_MASTER_REMOVAL = "mesos_allow_master_removal"
REMOVE_COMMAND = "python -m pyinfra_mesos remove"

MESOS_MASTER_ENV = "/etc/default/mesos-master"


@dataclass(frozen=True)
class QuorumPlan:
    current: int | None
    new: int
    reset_replicated_log: bool

    @property
    def changes(self) -> bool:
        return self.current is not None and self.current != self.new

    @property
    def shrinks(self) -> bool:
        """The remaining masters run a larger quorum than the new one (masters were removed):
        the departed ones must be gone from the log's replica group first
        (departed_replica_problems)."""
        return self.current is not None and self.current > self.new


def plan_quorum_change(host: str, current_flags: Mapping[str, str], master_count: int,
                       replicated_log_exists: bool, allow_reset: bool,
                       allow_removal: bool = False) -> QuorumPlan:
    """Decide what a master count change needs (apache/mesos docs/operational-guide.md,
    1.11: the replicated log's quorum follows the master count).

    The rule itself is check_master_count_change: 1 -> N masters with a replicated log needs
    mesos_allow_replicated_log_reset (the log is moved aside); shrinking one quorum step
    (5 -> 3) needs mesos_allow_master_removal and never touches the log; growing 3 -> 5 needs
    nothing, the task restarts the existing masters with the new quorum before the new ones
    start. Raises DeployRefused (one line per refusal) before anything changes.
    """
    new = quorum(master_count)
    raw = current_flags.get("quorum")
    current = int(raw) if is_digits(raw) else None
    # Counts are odd (validation refuses even ones), so a quorum q was computed for 2q-1 masters.
    previous_count = None if current is None else 2 * current - 1
    problems = check_master_count_change(previous_count, replicated_log_exists, master_count,
                                         allowed=allow_reset, where=host,
                                         allow_removal=allow_removal)
    refusals = [p for p in problems if p.level == "error"]
    if refusals:
        raise DeployRefused(" ".join(p.format() for p in refusals))
    # A consented 1 -> N change (a warning naming the reset key) needs the log moved aside; a
    # consented shrink keeps it.
    return QuorumPlan(current, new, reset_replicated_log=any(
        p.field == CONSENT_LOG_RESET for p in problems))


def replicated_log_reset_commands(work_dir: str, service: str) -> list[str]:
    """Move the log aside (never delete it): the operator can still restore it by hand."""
    log = f"{work_dir.rstrip('/')}/replicated_log"
    return [f"systemctl stop {service}",
            f"mv {log} {log}.before-quorum-change-$(date +%Y%m%d%H%M%S)"]


def check_master_count_change(previous_master_count: int | None, log_exists: bool,
                              master_count: int, allowed: bool,
                              where: str = "masters", allow_removal: bool = False) -> list[Problem]:
    """Refuse master count changes Mesos' replicated log cannot survive, unless consented to.

    The deploy feeds the facts: how many masters the cluster last ran with (None: unknown or
    new) and whether a replicated log already exists. Returns [] (nothing to say), one error
    (refused: the field names the consent key, or the master count when no consent helps), or
    one warning (a consented change, field: its key).

    - 1 -> N needs the log wiped (a 1-master log cannot gain replicas): `allowed`
      (mesos_allow_replicated_log_reset).
    - Shrinking, apache/mesos docs/operational-guide.md "Decreasing the quorum size": the
      departed masters are stopped for good first (`python -m pyinfra_mesos remove`), then the
      remaining ones restart with the lower quorum; the log is kept. One quorum step per
      deploy (5 -> 3, never 5 -> 1: "to decrease by N repeat N times"), and only with
      `allow_removal` (mesos_allow_master_removal).
    - Growing 3 -> 5 is supported (restart the old ones with the new quorum first) and needs no
      consent.
    """
    new = master_count
    if previous_master_count is None or not log_exists or new == previous_master_count or new == 0:
        return []
    if new < previous_master_count:
        return _shrink_problems(previous_master_count, new, allow_removal, where)
    if not (previous_master_count == 1 and new > 1):
        return []
    how = f"rerun with --data {CONSENT_LOG_RESET}=true"
    change = (f"growing from 1 master to {new} needs the existing replicated log wiped "
              "(Mesos cannot add replicas to a 1-master log); the registry (agents, "
              "frameworks) is lost and agents re-register")
    if allowed:
        return [warning(where, CONSENT_LOG_RESET, f"{change}; going ahead as asked")]
    return [error(where, CONSENT_LOG_RESET, f"{change}. Nothing was changed; to accept, {how}")]


def _shrink_problems(previous: int, new: int, allowed: bool, where: str) -> list[Problem]:
    old_q, new_q = quorum(previous), quorum(new)
    if old_q - new_q > 1:
        step = previous - (2 * (old_q - 1) - 1)
        return [error(where, "masters",
                      f"shrinking from {previous} masters to {new} drops the quorum from "
                      f"{old_q} to {new_q}; Mesos lowers it one step at a time (apache/mesos "
                      f"docs/operational-guide.md): remove {step}, deploy, then "
                      f"{previous - new - step} more. Nothing was changed")]
    change = (f"shrinking from {previous} masters to {new} restarts the remaining masters with "
              f"quorum {new_q} (was {old_q}); the replicated log is kept. The departed masters "
              f"must be stopped and masked first ({REMOVE_COMMAND} INVENTORY HOST...)")
    if allowed:
        return [warning(where, CONSENT_MASTER_REMOVAL, f"{change}; going ahead as asked")]
    return [error(where, CONSENT_MASTER_REMOVAL,
                  f"{change}. Nothing was changed; to accept, rerun with "
                  f"--data {CONSENT_MASTER_REMOVAL}=true")]
