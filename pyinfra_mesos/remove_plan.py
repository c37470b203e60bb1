"""Pure decisions of `remove` (remove.py does the SSH): which master hosts may go, the commands
that stop them for good, and when the cluster has settled after each; for an agent, whether it
may go (drain_plan's rules plus a load balancer left) and the units that stop with it.

Source: apache/mesos docs/operational-guide.md, "Decreasing the quorum size" (5 masters run with
--quorum=3; remove 2 and "ensure they will not be restarted"; then restart the remaining 3 with
--quorum=2; to decrease by N repeat N times) and its NOTE (more masters running than the
quorum was computed for may corrupt the log). ZooKeeper's static ensemble follows the same
arithmetic (a majority of the listed servers), and Marathon only needs one instance left.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterable, Sequence

from pyinfra_mesos import drain_plan
from pyinfra_mesos.docker import DOCKER_SERVICE, DOCKER_SOCKET
from pyinfra_mesos.haproxy_bridge import BRIDGE_SERVICE, BRIDGE_TIMER, HAPROXY_SERVICE
from pyinfra_mesos.mesos_agent import MESOS_AGENT_SERVICE
from pyinfra_mesos.mesos_master import CONSENT_LOG_RESET, check_master_count_change
from pyinfra_mesos.problems import Problem, error, unreachable_line, warning, without_host
from pyinfra_mesos.status_model import (
    Failed,
    RawAnswers,
    marathon_leader,
    marathon_view,
    master_view,
    member_for_address,
    mesos_leader,
    zookeeper_members,
    zookeeper_problems,
)
from pyinfra_mesos.topology import Member, Topology, member_port, quorum

MASTER_ROLES = frozenset({"master", "zookeeper", "marathon"})
# The deploy's own unit files live here (marathon.service): `systemctl mask` cannot replace a
# regular file, so it is moved aside first (kept, never deleted).
UNIT_DIR = "/etc/systemd/system"
MARATHON_SERVICE = "marathon.service"
MASTER_SERVICE = "mesos-master.service"
SERVING = ("leader", "follower", "standalone")


def without(topo: Topology, names: Iterable[str]) -> Topology:
    """`topo` without the hosts `names`, in every group."""
    gone = set(names)

    def keep(group: tuple[Member, ...]) -> tuple[Member, ...]:
        return tuple(m for m in group if m.name not in gone)

    return Topology(*(keep(getattr(topo, f.name)) for f in dataclasses.fields(topo)))


def master_side(topo: Topology) -> Topology:
    """Only the masters, ZooKeeper and Marathon hosts (what `remove` connects to and probes)."""
    return dataclasses.replace(topo, agents=(), load_balancers=(), registries=())


def units(topo: Topology, name: str) -> list[str]:
    """The units `remove` stops on host `name`, in that order: Marathon (the framework) first,
    then mesos-master, then ZooKeeper (`<zookeeper_service>.service` of its data)."""
    roles = topo.roles_of(name)
    out = []
    if "marathon" in roles:
        out.append(MARATHON_SERVICE)
    if "master" in roles:
        out.append(MASTER_SERVICE)
    if "zookeeper" in roles:
        member = next(m for m in topo.zookeepers if m.name == name)
        out.append(f"{member.data['zookeeper_service']}.service")
    return out


def target_problems(topo: Topology, hosts: Sequence[str], where: str) -> list[Problem]:
    """Every reason the hosts cannot be removed (where: the inventory), one line each: not in
    the inventory; an agent (that is `drain`'s job); no master-side role; a load balancer or
    registry role besides (remove would leave HAProxy or the registry running); an even or empty
    remainder of masters or ZooKeeper members; a Mesos quorum drop of more than one step
    (mesos_master.check_master_count_change, the rule the deploy applies) or the same for
    ZooKeeper when it is a group of its own."""
    problems: list[Problem] = []
    known = {m.name for m in topo.all_members}
    for name in dict.fromkeys(hosts):
        roles = topo.roles_of(name)
        if name not in known:
            problems.append(error(where, name, "not in the inventory"))
        elif "agent" in roles:
            problems.append(error(where, name, "an agent: remove agents one at a time, on "
                                               "their own (not with masters)"))
        elif not roles & MASTER_ROLES:
            problems.append(error(where, name, "runs no Mesos master, ZooKeeper or Marathon: "
                                               "nothing for remove to stop"))
        else:
            problems += _other_roles(topo, name, MASTER_ROLES, "a master's Mesos master, "
                                     "ZooKeeper and Marathon", where)
    if problems:
        return problems
    gone = set(hosts)
    left = without(topo, gone)
    problems += _ensemble_problems("masters", "Mesos masters", len(topo.masters),
                                   len(left.masters), where)
    if len(topo.masters) != len(left.masters) and len(left.masters) % 2:
        problems += [p for p in check_master_count_change(
            len(topo.masters), True, len(left.masters), allowed=False, where=where,
            allow_removal=True) if p.level == "error"]
    if [m.name for m in topo.zookeepers] != [m.name for m in topo.masters]:
        problems += _ensemble_problems("zookeepers", "ZooKeeper members", len(topo.zookeepers),
                                       len(left.zookeepers), where)
        if len(left.zookeepers) % 2 and quorum(len(topo.zookeepers)) - quorum(
                max(len(left.zookeepers), 1)) > 1:
            problems.append(error(where, "zookeepers", (
                f"removing {len(topo.zookeepers) - len(left.zookeepers)} of "
                f"{len(topo.zookeepers)} ZooKeeper members drops its majority by more than one "
                "step: remove 2, deploy, then the rest")))
    if topo.marathons and not left.marathons:
        problems.append(error(where, "marathon", "no Marathon instance would be left"))
    return problems


def one_way_warnings(topo: Topology, hosts: Sequence[str], where: str) -> list[Problem]:
    """One warning when the removal leaves a single master of several: allowed (apache/mesos
    docs/operational-guide.md, one quorum step: 3 -> 1), but one-way, since growing from 1
    master again needs the replicated log wiped (mesos_master.check_master_count_change:
    mesos_allow_replicated_log_reset, the registry is lost); else []."""
    left = without(topo, hosts)
    if len(topo.masters) < 2 or len(left.masters) != 1:
        return []
    return [warning(where, "masters", (
        f"{len(topo.masters)} -> 1 master is one-way: Mesos cannot add replicas to a 1-master "
        f"log, so growing back later needs --data {CONSENT_LOG_RESET}=true, which wipes the "
        "replicated log (the registry: agents, frameworks; agents re-register)"))]


AGENT_SIDE_ROLES = frozenset({"agent", "load_balancer"})


def remaining_load_balancers(topo: Topology, name: str) -> list[str]:
    """The load balancers left once host `name` is gone (inventory order)."""
    return [m.name for m in without(topo, [name]).load_balancers]


def agent_target_problems(topo: Topology, hosts: Sequence[str], where: str) -> list[Problem]:
    """Every reason the agent among `hosts` cannot be removed (where: the inventory), one line
    each: more than one host named (agents go one at a time, on their own); drain's own
    refusals (drain_plan.target_problems: an agent of the inventory, not the last one); a role
    besides agent and load balancer (a master, ZooKeeper, Marathon or registry host); the last
    load balancer (clients would have nowhere to go)."""
    names = list(dict.fromkeys(hosts))
    if len(names) != 1:
        return [error(where, "remove", f"{', '.join(names)}: remove takes one agent at a time, "
                                       "on its own (masters in a run of their own)")]
    name = names[0]
    problems = drain_plan.target_problems(topo, name, where)
    if problems:
        return problems
    problems += _other_roles(topo, name, AGENT_SIDE_ROLES, "an agent (and its load balancer)",
                             where)
    if "load_balancer" in topo.roles_of(name) and not remaining_load_balancers(topo, name):
        problems.append(error(where, name, "the last load balancer: clients would have nowhere "
                                           "to go; add one (group load_balancers) and deploy "
                                           "first"))
    return problems


def _other_roles(topo: Topology, name: str, kept: frozenset[str], what: str,
                 where: str) -> list[Problem]:
    """One error when host `name` has a role outside `kept` (remove would leave it running:
    a load balancer's HAProxy, the registry), naming those roles; else []."""
    others = sorted(topo.roles_of(name) - kept)
    if not others:
        return []
    return [error(where, name, f"also runs {', '.join(others)}: remove takes out {what} only")]


def agent_units(topo: Topology, name: str) -> list[str]:
    """The units `remove` stops on agent `name`, in that order: mesos-agent; on a load
    balancer the bridge's timer, then its service (so no run rewrites haproxy.cfg), then
    HAProxy; then Docker's socket before its daemon (socket activation would start the daemon
    again: docker.service requires docker.socket)."""
    out = [MESOS_AGENT_SERVICE]
    if "load_balancer" in topo.roles_of(name):
        out += [BRIDGE_TIMER, BRIDGE_SERVICE, HAPROXY_SERVICE]
    return out + [DOCKER_SOCKET, DOCKER_SERVICE]


def _ensemble_problems(field: str, what: str, before: int, after: int,
                       where: str) -> list[Problem]:
    if before == after:
        return []
    if after < 1:
        return [error(where, field, f"no {what} would be left")]
    if after % 2 == 0:
        counts = [n for n in (before - after - 1, before - after + 1)
                  if 0 < n < before and quorum(before) - quorum(before - n) <= 1]
        return [error(where, field, (
            f"{after} {what} would be left: an ensemble needs an odd count (a majority of an "
            f"even one tolerates no more failures than one fewer); remove "
            f"{' or '.join(map(str, counts or [before - after + 1]))}"))]
    return []


def dead_problems(topo: Topology, hosts: Sequence[str], dead: Sequence[str],
                  where: str) -> list[Problem]:
    """Usage errors of `--dead` (where: the inventory), one line each: a host named with
    --dead that is not among the HOSTs removed (remove.py exits 2: it is the command line that
    is wrong, not the cluster), or an agent (a dead agent needs no `remove`: delete its line
    and run the deploy, README "Removing an agent"). [] when every dead host is a target."""
    problems: list[Problem] = []
    targets = set(hosts)
    for name in dict.fromkeys(dead):
        if name not in targets:
            problems.append(error(where, name, (
                "named with --dead but not among the HOSTs to remove: name it as a HOST too "
                "(--dead only says that a host being removed is gone for good)")))
        elif "agent" in topo.roles_of(name):
            problems.append(error(where, name, (
                "--dead takes masters only: a dead agent needs no remove, delete its line from "
                "the inventory and run the deploy (README: Removing an agent)")))
    return problems


def dead_but_reachable(name: str) -> str:
    """The refusal for a host named with --dead that answers over SSH (one line)."""
    return (f"{name}: named with --dead but it answers over SSH: remove it normally (without "
            "--dead), so that its units are stopped, disabled and masked")


# live_problems' words for a remaining master that names no leader; settling_hint looks for them.
SILENT_MASTER = "mesos-master does not name a leader"


def settling_hint(dead: Sequence[str], problems: Sequence[str]) -> str | None:
    """After a refusal with `--dead`: why a remaining master may be silent for a while (one
    line), or None when no problem is a master that does not answer. A leading master connected
    to the dead host's ZooKeeper member loses its session and commits suicide once
    `--zk_session_timeout` has passed without a reconnect (apache/mesos src/master/master.cpp
    "Lost leadership... committing suicide!"), then systemd starts it again."""
    if not dead or not any(SILENT_MASTER in p for p in problems):
        return None
    return (f"hint: a master that lost ZooKeeper with {', '.join(dead)} restarts once, within "
            "about twice mesos_zk_session_timeout after the death plus its unit's RestartSec; "
            "wait until `python -m pyinfra_mesos status` shows the other masters agreeing on a "
            "leader for a minute, then run the same remove again")


def dead_step(name: str, reason: str) -> str:
    """The printed step for a dead host taken out (reason: remote.Hosts' `unreachable[name]`)."""
    return (f"{name}: taken as dead (--dead; unreachable over SSH: {without_host(name, reason)})"
            ": no command sent to it; its units could not be masked, so it is up to you that "
            "it never starts again (powered off for good or wiped)")


def partial_failure(failure: str, stopped: Sequence[str], inventory: str,
                    names: Sequence[str], dead: Sequence[str] = ()) -> str:
    """The one line for a master removal that failed part way: `failure`, the hosts already
    stopped, disabled and masked (`stopped`, in order), the hosts taken as dead (`dead`), and
    the way on: the same command with the same hosts `names` and the same `--dead` hosts. That
    is safe: stop_command is idempotent, and target_problems and the live checks leave out
    every host named (a subset would be refused: `m5` alone after `m4 m5` leaves an even
    count)."""
    so_far = f"already stopped, disabled and masked: {', '.join(stopped)}" if stopped else \
        "none stopped yet"
    if dead:
        so_far += f"; taken as dead (nothing sent): {', '.join(dead)}"
    flags = "".join(f" --dead {name}" for name in dead)
    return (f"{failure}; {so_far}. Re-run the same command with the same hosts "
            f"(python -m pyinfra_mesos remove {inventory} {' '.join(names)}{flags}): the stops "
            "are idempotent and the checks leave out every host named")


def stop_command(unit_names: Sequence[str], unit_dir: str = UNIT_DIR) -> str:
    """Stop, disable and mask each unit (in order), so neither a reboot nor a package's
    postinst starts it again; a unit file of the deploy's own under `unit_dir` is moved aside
    to `<file>.removed` first (mask links /dev/null in its place). Idempotent."""
    steps = []
    for unit in unit_names:
        quoted = shlex.quote(unit)
        path = shlex.quote(f"{unit_dir.rstrip('/')}/{unit}")
        steps.append(
            f"systemctl stop {quoted} || true; systemctl disable {quoted} >/dev/null 2>&1 "
            f"|| true; if [ -f {path} ] && [ ! -L {path} ]; then mv -f {path} {path}.removed; "
            f"systemctl daemon-reload; fi; systemctl mask {quoted}")
    return "set -e; " + "; ".join(steps)


def state_command(unit_names: Sequence[str]) -> str:
    """`<unit> <is-active> <is-enabled>` per unit (always exits 0)."""
    return " ".join(
        f"printf '%s %s %s\\n' {shlex.quote(u)} \"$(systemctl is-active {shlex.quote(u)})\" "
        f"\"$(systemctl is-enabled {shlex.quote(u)} 2>/dev/null)\";" for u in unit_names
    ) + " true"


def stopped_problem(unit_names: Sequence[str], output: str) -> str | None:
    """None when every unit is inactive (or failed) and masked; else what is not (one line)."""
    seen = {}
    for line in output.splitlines():
        parts = line.split()
        if parts:
            seen[parts[0]] = parts[1:]
    for unit in unit_names:
        state = seen.get(unit)
        if not state or len(state) < 2:
            return f"{unit}: no state read"
        if state[0] not in ("inactive", "failed"):
            return f"{unit} is {state[0]}"
        if state[1] != "masked":
            return f"{unit} is {state[1]}, not masked"
    return None


def live_problems(remaining: Topology, raw: RawAnswers) -> list[str]:
    """Before anything stops: each remaining master answers (mesos-master runs and names a
    leader) and each remaining ZooKeeper member serves in a quorum, so the remaining ones
    still hold the log's quorum and ZooKeeper's while the others stop. One line each."""
    problems = [unreachable_line(name, reason) for name, reason in sorted(raw.unreachable.items())]
    for member in remaining.masters:
        view = master_view(member, member_port(member, "mesos_master_port"),
                           raw.redirect.get(member.name, Failed("not asked")))
        if view.leader is None:
            problems.append(f"{member.name}: {SILENT_MASTER} ({view.answer})")
    for zk in zookeeper_members(remaining, raw.srvr):
        if zk.mode not in SERVING:
            problems.append(f"{zk.name}: ZooKeeper is {zk.mode}"
                            + (f" ({zk.detail})" if zk.detail else ""))
    return problems


def settled(current: Topology, raw: RawAnswers) -> str | None:
    """None once the hosts still running (`current`) have one ZooKeeper leader with every other
    member following, agree on a Mesos leader among them, and agree on a Marathon leader; else
    the first thing missing (one line)."""
    zk = zookeeper_problems(zookeeper_members(current, raw.srvr))
    if zk:
        return zk[0]
    views = [master_view(m, member_port(m, "mesos_master_port"),
                         raw.redirect.get(m.name, Failed("not asked"))) for m in current.masters]
    leader, problems = mesos_leader(views)
    if problems or leader is None:
        return (problems or ["Mesos: no leader"])[0]
    if member_for_address(current.masters, leader) is None:
        return f"Mesos: the leader {leader} is not a remaining master"
    if current.marathons:
        m_views = [marathon_view(m, member_port(m, "marathon_http_port"),
                                 raw.marathon_leader.get(m.name, Failed("not asked")))
                   for m in current.marathons]
        m_leader, m_problems = marathon_leader(m_views)
        if m_problems or m_leader is None:
            return (m_problems or ["Marathon: no leader"])[0]
    return None
