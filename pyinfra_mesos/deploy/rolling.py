"""The rolling, health-gated restart every component uses: a pyinfra fact and operation.

A running service restarts when it started before its newest input file was written: a config
written in this run, a run killed between writing a file and restarting, a package that started
a service before its config existed, a package upgrade (dpkg rewrites the package's .list file).
The rule reads the host at execution time, so a deploy finishes what an interrupted one started
(a re-run restarts what is stale though it writes nothing), and a service that was started after
its files were written (a new member) is not restarted again. Planning (`--dry`) cannot see
writes that have not happened yet, so there the operations that would write the inputs count.
Callers pass `_serial=True`, so hosts go one at a time, each answering its health probe
(bounded) before the next.

Leader last (`leader_last_restart`): ZooKeeper, the Mesos masters and Marathon restart their
leader once, after every other member, so a rolling restart moves leadership once (ZooKeeper
zookeeperAdmin.md: restarting the leader forces an election; apache/mesos docs/upgrades.md:
masters one at a time, the leader last; Marathon's upgrade notes: the leader last). pyinfra
runs one operation on every host before the next, but visits the hosts of a `_serial`
operation in the order of a set (pyinfra 3.10 api/operations.py `_run_single_op` iterates
`state.active_hosts`, a set of Host objects): no order can be asked of one operation. So each
member gets a turn of its own, one operation per member in inventory order, and a last one:
- "<name>: <host> (k of n), unless it leads" restarts <host> when it is stale, unless <host>
  leads at that moment (asked at execution; planning asks too, for --dry): then it waits;
- "<name>: the leader, last" restarts whoever waited and is still stale (normally the leader;
  several one at a time if leadership moved during the turns).
Every member calls every operation (the others note "not its turn"), so each host's chain of
operations orders them (pyinfra's DAG, api/state.py get_op_order), whatever other operations a
host runs. A member whose leadership is unknown restarts in its turn (inventory order) with a
warning saying so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyinfra import host, logger, state
from pyinfra.api import FactBase, QuoteString, StringCommand, operation
from pyinfra.api.operation import OperationMeta

from pyinfra_mesos.deploy.leader_facts import Leadership
from pyinfra_mesos.deploy.planning_facts import defer_fact, fact_until_change, reading_ahead
from pyinfra_mesos.restarts import Freshness, parse_freshness, restart_and_wait_command


class ServiceFreshness(FactBase[Freshness]):
    """Whether a systemd unit is active, when it became active, and when each input was last
    modified (symlinks followed). One command for all of it: one round trip."""

    def command(self, unit: str, paths: Sequence[str]) -> StringCommand:
        # Two programs, whatever the number of inputs (every fork, and every unit systemd
        # serialises for `show`, costs the host's CPU, shared by every host of a small
        # machine): systemctl's own `Key=value` lines, which parse_freshness reads, and one
        # stat for the inputs that exist (builtin tests). A systemctl older than
        # --timestamp (systemd 248) refuses the option: the state alone then, as it
        # reads an unknown start as "not started before its inputs".
        parts: list[object] = [
            "{ systemctl show --timestamp=us+utc -p ActiveState -p ActiveEnterTimestamp",
            QuoteString(unit), "2>/dev/null || systemctl show -p ActiveState", QuoteString(unit),
            "; };",
        ]
        if paths:
            parts += ["set --; for p in", *[QuoteString(path) for path in paths], "; do",
                      '[ -e "$p" ] && set -- "$@" "$p"; done;',
                      "[ $# -eq 0 ] || stat -L -c 'input=%.9Y %n' -- \"$@\";"]
        parts.append("true")
        return StringCommand(*parts)

    def process(self, output: list[str]) -> Freshness:
        return parse_freshness(output)

    @staticmethod
    def default() -> Freshness:
        return Freshness(False, None, {})


def _changed(meta: OperationMeta) -> bool:
    """Did (or, before execution, will) this operation change anything."""
    return meta.did_change() if meta.is_complete() else meta.will_change


def restart_reasons(service: str, inputs: Sequence[str], changes: Sequence[OperationMeta],
                     force: bool) -> list[str]:
    """Why `service` must restart on this host now ([]: it need not)."""
    fact, where = freshness_read(service=service, inputs=inputs)
    freshness = fact_until_change(host, fact, **where)
    reasons = []
    if force:
        reasons.append("forced")
    if not state.is_executing and any(_changed(meta) for meta in changes):
        reasons.append("its inputs will change in this run")
    if freshness.stale and freshness.newest_input:
        reasons.append(f"it started before {freshness.newest_input[0]} was written")
    return reasons


def freshness_read(*args: Any, service: str, inputs: Sequence[str], **kwargs: Any
                   ) -> tuple[type[ServiceFreshness], dict[str, Any]]:
    """The freshness read a restart of `service` makes: (ServiceFreshness, its arguments)."""
    return ServiceFreshness, {"unit": service, "paths": tuple(inputs)}


@operation(is_idempotent=True)
def _rolling_restart(service: str, inputs: Sequence[str], probe: str, timeout_s: int,
                    changes: Sequence[OperationMeta] = (), force: bool = False):
    """Restart `service` and wait (at most `timeout_s` seconds) until `probe`, a shell command,
    succeeds; a clear error naming the service and probe otherwise.

    Restarts when `force`, or when the service runs and started before one of `inputs` (paths)
    was last modified; while planning, also when one of `changes` (the operations writing the
    inputs) will change something. `host.noop` otherwise. Pass `_serial=True` for one host at
    a time.
    """
    if not restart_reasons(service, inputs, changes, force):
        host.noop(f"{service} runs with its current inputs")
        return
    yield restart_and_wait_command(service, probe, timeout_s)


# Named ahead while pyinfra loads the deploy, read in one command per host (planning_facts).
rolling_restart = reading_ahead(_rolling_restart, freshness_read)


@dataclass(frozen=True)
class LeaderQuery:
    """How a member is asked whether it leads: a leader_facts fact and its arguments; `role`
    names the leader in messages ("ZooKeeper leader")."""

    fact: type[FactBase[Leadership]]
    arguments: Mapping[str, Any]
    role: str


@dataclass
class Turn:
    """One host's state between its turn and the last operation (one per host per run, kept in
    both operations' arguments): why it waited ("" when it did not)."""

    waited: str = field(default="")


@operation(is_idempotent=True)
def restart_in_turn(service: str, inputs: Sequence[str], probe: str, timeout_s: int,
                    member: str, turn: Turn, leader: LeaderQuery,
                    changes: Sequence[OperationMeta] = (), force: bool = False):
    """`member`'s turn: on that host, rolling_restart's rule, unless it leads now (then it
    waits for restart_leader_last). Any other host: `host.noop`, nothing asked."""
    if host.name != member:
        host.noop(f"{service}: {member}'s turn")
        return
    turn.waited = ""
    if not restart_reasons(service, inputs, changes, force):
        host.noop(f"{service} runs with its current inputs")
        return
    leadership = host.get_fact(leader.fact, **leader.arguments)
    if leadership.leads:
        turn.waited = f"{host.name} is the {leader.role} ({leadership.detail})"
        host.noop(f"{turn.waited}: {service} restarts last")
        return
    if leadership.leads is None:
        # Shown without -v: the order the upstream guides ask for is not assured.
        logger.warning(f"{host.print_prefix}{leader.role} unknown ({leadership.detail}): "
                       f"{service} restarts in inventory order")
    yield restart_and_wait_command(service, probe, timeout_s)


@operation(is_idempotent=True)
def restart_leader_last(service: str, inputs: Sequence[str], probe: str, timeout_s: int,
                        turn: Turn, its_turn: OperationMeta,
                        changes: Sequence[OperationMeta] = (), force: bool = False):
    """After every turn: restart this host if it waited in its turn (`its_turn`, the host's own
    restart_in_turn) and still needs it by rolling_restart's rule. `host.noop` otherwise."""
    if _changed(its_turn):  # asked first: while planning, this runs the turn's rule
        host.noop(f"{service} restarted in its turn")
        return
    if not turn.waited:
        host.noop(f"{service}: nothing waited for the last turn")
        return
    if not restart_reasons(service, inputs, changes, force):
        host.noop(f"{service} runs with its current inputs")
        return
    yield restart_and_wait_command(service, probe, timeout_s)


def leader_last_restart(name: str, members: Sequence[str], leader: LeaderQuery, service: str,
                        inputs: Sequence[str], probe: str, timeout_s: int,
                        changes: Sequence[OperationMeta] = (), force: bool = False) -> None:
    """Add, for the current host (one of `members`, host names in inventory order), one
    restart_in_turn operation per member and then restart_leader_last, all `_serial`.

    Operation names: "<name>: <member> (k of n), unless it leads" and "<name>: the leader,
    last". Called at one place in a task file, by every member that takes part: the operations
    are told apart by their position in pyinfra's loop (`host.loop`, api/host.py).
    """
    if host.name not in members:
        raise ValueError(f"{host.name} is not one of the members {list(members)}")
    fact, where = freshness_read(service=service, inputs=inputs)
    defer_fact(host, fact, **where)  # read ahead with the host's others (planning_facts)
    turn = Turn()
    restart = {"service": service, "inputs": inputs, "probe": probe, "timeout_s": timeout_s,
               "changes": changes, "force": force}
    own: OperationMeta | None = None
    for index in host.loop(range(len(members))):
        member = members[index]
        meta = restart_in_turn(
            name=f"{name}: {member} ({index + 1} of {len(members)}), unless it leads",
            member=member, turn=turn, leader=leader, _serial=True, **restart)
        if member == host.name:
            own = meta
    assert own is not None
    restart_leader_last(name=f"{name}: the leader, last", turn=turn, its_turn=own,
                        _serial=True, **restart)
