"""`python -m pyinfra_mesos remove INVENTORY HOST [HOST...] [--yes]`: take master hosts (Mesos
master, ZooKeeper member, Marathon), or one agent, out of the cluster the way apache/mesos
docs/operational-guide.md "Decreasing the quorum size" orders it, from the operator's machine
over SSH only (every request runs on a cluster host, as for `status` and `drain`).

Steps, each printed: (1) check, before anything changes (remove_plan.target_problems: the hosts
are in the inventory, not agents, load balancers or the registry host; an odd count of masters,
at least one, remains; the quorum drops by one step at most, 5 -> 3, never 5 -> 1), then that
every remaining master names a Mesos leader and every remaining ZooKeeper member serves
(status_collect's probes), so the remaining ones hold the log's quorum and ZooKeeper's while the
others stop; (2) one host at a time: stop, disable and mask its marathon, mesos-master and
ZooKeeper units ("ensure they will not be restarted": not by a reboot, nor by a package's
postinst), then wait until the hosts still running have a ZooKeeper leader with every member
following, one Mesos leader and one Marathon leader, and until the log's replica group in
ZooKeeper no longer lists it (a stopped master's znode stays until its ZooKeeper session
expires; the deploy refuses a shrink while it is listed), before the next host; (3) print what
comes next: delete the hosts from the inventory and run the deploy with `--data
mesos_allow_master_removal=true` (the remaining masters restart with the lower quorum, the
leader last; tasks/mesos_master.py). The pure decisions are remove_plan.py.

`--dead HOST` (repeatable; HOST must be among the hosts removed and not an agent, else exit 2
before connecting): the operator states that the master HOST is gone for good (powered off or
wiped), since its units cannot be masked. It must be unreachable over SSH (one that answers is
refused: remove it normally). Nothing is sent to it; step (1) leaves it out of the unreachable
hosts (taken as already stopped; the remaining ones must still hold both quorums); step (2)
takes it first, with the same waits after it (leaders again, its log replica znode gone once
its ZooKeeper session expired), then the live hosts; the printed steps name it as taken dead.

An agent (`remove INVENTORY AGENT`, one at a time, on its own): (1) check, before anything
changes (remove_plan.agent_target_problems: an agent of the inventory, not the last, no master
side role, a load balancer left when it is one), then that another agent is active in Mesos;
(2) unless its machine is already DOWN in Mesos maintenance (drained before), drain's steps
(drain.drain_machine: scheduled, its Marathon tasks moved one at a time and waited for until
they run healthy elsewhere and behind every load balancer, machine DOWN); (3) print the load
balancers that remain (clients move to them), then stop, disable and mask mesos-agent, the
HAProxy bridge and HAProxy, Docker's socket and daemon (remove_plan.agent_units), in one
command; (4) leave the machine DOWN in the maintenance schedule: apache/mesos
docs/maintenance.md, starting maintenance "prevents the machine from being accidentally
rebooted and rejoining the Mesos cluster"; print the next step: delete its line and run the
deploy (every other host's /etc/hosts block, firewall set and ZooKeeper/Mesos config come from
the inventory). Adding it back: its line, `undrain`, then the deploy (README).

Exit status: 0 done; 1 refused or failed (one line `error: <where>: <field>: <message>`, or one
line per problem found by the checks); 2 usage error or bad inventory. Bounds: each wait
--wait seconds (default 300), each host's stops 300 s, each check 30 s.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

from pyinfra_mesos import drain as drain_cmd
from pyinfra_mesos import remove_plan as plan
from pyinfra_mesos.drain import (
    EXIT_DONE,
    EXIT_FAILED,
    EXIT_USAGE,
    WAIT_S,
    Failed,
    _say,
    _wait,
    confirmed,
)
from pyinfra_mesos.log_replicas import departed_replicas, fact_command, parse_fact
from pyinfra_mesos.mesos_master import CONSENT_MASTER_REMOVAL
from pyinfra_mesos.problems import error, unreachable_line, without_host
from pyinfra_mesos.remote import Hosts, RemoteError
from pyinfra_mesos.status import marathon_auth, open_hosts, topology_or_report
from pyinfra_mesos.status_collect import collect
from pyinfra_mesos.status_model import RawAnswers
from pyinfra_mesos.topology import Member, Topology, quorum

STOP_S = 300.0  # Marathon alone may take its 45 s graceful shutdown + 30 s
PROBE_S = 30.0
# fact_command runs zkCli twice, each waiting up to this for a serving member, plus two JVM
# start-ups, all inside one PROBE_S command: a third each leaves the start-ups a third.
REPLICAS_WAIT_MS = int(PROBE_S * 1000) // 3


def add_parser(commands: Any) -> None:
    """Add `remove` to the CLI's subcommands (cli.py)."""
    text = ("stop, disable and mask master hosts (Mesos master, ZooKeeper, Marathon) one at a "
            "time, before the deploy lowers the quorum; or drain one agent and stop, disable "
            "and mask its agent, HAProxy and Docker")
    parser = commands.add_parser("remove", help=text, description=text + ". Exit 0: done; 1: "
                                 "refused or failed; 2: usage error or bad inventory.")
    parser.add_argument("inventory", metavar="INVENTORY")
    parser.add_argument("hosts", metavar="HOST", nargs="+",
                        help="master hosts, or one agent, to remove, as named in the "
                             "inventory")
    parser.add_argument("--dead", action="append", default=[], metavar="HOST",
                        help="a master HOST (also named as a HOST) that is gone for good and "
                             "cannot be reached over SSH: nothing is sent to it (repeatable)")
    parser.add_argument("--yes", action="store_true", help="do not ask before starting")
    parser.add_argument("--wait", type=float, default=WAIT_S, metavar="SECONDS",
                        help="bound on each wait for the cluster to settle (default 300)")
    parser.set_defaults(run=run_remove)


def _probe(topo: Topology, hosts: Hosts, auth: bool, dead: Sequence[str] = ()) -> RawAnswers:
    """status_collect's answers for `topo` (its masters, ZooKeeper and Marathon hosts); the
    `dead` hosts are left out of its unreachable ones (taken as already stopped)."""
    down = {n: r for n, r in hosts.unreachable.items() if n not in dead}
    # Each probe gets its own PROBE_S: the connections were opened with a deadline PROBE_S after
    # the start, and a removal whose cluster takes longer to settle must still be able to look.
    deadline = time.monotonic() + PROBE_S
    return collect(topo, hosts.transport_until(deadline), auth, deadline, down)


def _sh(hosts: Hosts, host: str, command: str, timeout_s: float) -> str:
    status, out, err = hosts.connection(host).run(command, timeout_s)
    if status != 0:
        last = (err.strip().splitlines() or [f"exit status {status}"])[-1]
        raise Failed(f"{host}: {last}")
    return out


def _departed_replica(running: Topology, hosts: Hosts) -> str | None:
    """None once `<zookeeper_mesos_path>/log_replicas` lists only `running`'s masters, else
    why not. A stopped master's ephemeral znode stays until its ZooKeeper session expires
    (log_replicas.py), and the deploy refuses a shrink while it is listed: `remove` is done only
    when the deploy that follows can go ahead. Read on `running`'s first ZooKeeper member, as
    the deploy reads it (the deploy's digests are on the first member of the inventory). A
    read that fails (SSH error or timeout, nonzero exit) is "not yet" as well: the host is
    stopped by then, and `_wait`'s bound ends the retries."""
    zookeeper = running.zookeepers[0]
    data = zookeeper.data
    command = fact_command(str(data["zookeeper_mesos_path"]), int(data["zookeeper_client_port"]),
                           REPLICAS_WAIT_MS)
    try:
        observed = parse_fact(_sh(hosts, zookeeper.name, command, PROBE_S).splitlines())
    except (Failed, RemoteError) as exc:     # not yet: _wait's bound ends it
        return f"the replica group could not be read on {zookeeper.name}: {exc}"
    if not observed["reachable"]:
        return f"the replica group could not be read from ZooKeeper on {zookeeper.name}"
    departed = departed_replicas(observed, [a for m in running.masters for a in (m.ip, m.name)])
    return ("still listed (its ZooKeeper session has not expired yet): "
            + ", ".join(upid for _, upid in departed)) if departed else None


def remove(args: argparse.Namespace, topo: Topology, auth: bool) -> int:
    started = time.monotonic()
    names = list(dict.fromkeys(args.hosts))
    dead = [n for n in dict.fromkeys(args.dead) if n in names]
    side = plan.master_side(topo)
    hosts = open_hosts(side, time.monotonic() + PROBE_S)
    try:
        answering = [n for n in dead if n not in hosts.unreachable]
        if answering:
            for name in answering:
                print(error(args.inventory, "remove", plan.dead_but_reachable(name)).format())
            return EXIT_FAILED
        remaining = plan.without(side, names)
        problems = plan.live_problems(remaining, _probe(remaining, hosts, auth, dead))
        unreachable = [n for n in names if n in hosts.unreachable and n not in dead]
        problems += [unreachable_line(n, hosts.unreachable[n]) for n in unreachable]
        for problem in dict.fromkeys(problems):
            print(error(args.inventory, "remove", problem).format())
        hint = plan.settling_hint(dead, problems)
        if hint:
            print(hint)
        if problems:
            return EXIT_FAILED
        _say(f"checked: {len(remaining.masters)} remaining master(s) name a Mesos leader, "
             f"{len(remaining.zookeepers)} ZooKeeper member(s) serve"
             + (f"; {', '.join(dead)} unreachable over SSH, taken as dead (--dead)"
                if dead else ""), started)
        for problem in plan.one_way_warnings(topo, names, args.inventory):
            print(problem.format())
        live = [n for n in names if n not in dead]
        what = "stop, disable and mask their Marathon, mesos-master and ZooKeeper"
        if dead:
            what = (f"take {', '.join(dead)} as dead (nothing sent to it), then "
                    + (f"stop, disable and mask the Marathon, mesos-master and ZooKeeper of "
                       f"{', '.join(live)}" if live else "wait for the cluster without it"))
        if not args.yes:
            if not confirmed(f"Remove {', '.join(names)}: {what}? [y/N] "):
                print(error(args.inventory, names[0], "not removed (not confirmed)").format())
                return EXIT_FAILED
        done: list[str] = []
        try:
            _remove_each(args, topo, side, hosts, auth, dead + live, dead, done, started)
        except (Failed, RemoteError) as exc:
            raise Failed(plan.partial_failure(str(exc), done, args.inventory, names,
                                              dead)) from exc
    finally:
        hosts.close()
    left = plan.without(topo, names)
    print(f"removed: {', '.join(names)}. Next: delete their lines from {args.inventory}, then "
          f"run the deploy with --data {CONSENT_MASTER_REMOVAL}=true (the remaining "
          f"{len(left.masters)} master(s) restart with quorum {quorum(len(left.masters))}, the "
          "leader last; README: Removing a master). A deploy run before the lines are deleted "
          "starts their services again (the inventory still lists them)."
          + (f" Taken as dead, not masked: {', '.join(dead)}: it must never start again."
             if dead else ""))
    return EXIT_DONE


def _remove_each(args: argparse.Namespace, topo: Topology, side: Topology, hosts: Hosts,
                 auth: bool, names: list[str], dead: list[str], done: list[str],
                 started: float) -> None:
    """Step (2) of the module docstring, host by host (`names`: the `dead` ones first, nothing
    sent to them); `done` gets each live host once its units are stopped, disabled and masked.
    Failed or RemoteError on a step that could not be done."""
    gone: list[str] = []
    for name in names:
        if name in dead:
            _say(plan.dead_step(name, hosts.unreachable[name]), started)
        else:
            units = plan.units(topo, name)
            _sh(hosts, name, plan.stop_command(units), STOP_S)
            state = _sh(hosts, name, plan.state_command(units), PROBE_S)
            missing = plan.stopped_problem(units, state)
            if missing is not None:
                raise Failed(f"{name}: {missing}")
            done.append(name)
            _say(f"{name}: {', '.join(units)} stopped, disabled and masked", started)
        gone.append(name)
        current = plan.without(side, gone)
        _wait(f"{name}: the cluster settling without it",
              lambda current=current: plan.settled(current, _probe(current, hosts, auth)),
              float(args.wait))
        _wait(f"{name}: its replica leaving the masters' log group",
              lambda current=current: _departed_replica(current, hosts), float(args.wait))
        _say(f"{name}: removed; ZooKeeper, Mesos and Marathon each have a leader again, "
             "and the log's replica group lists only the masters still running", started)


def remove_agent(args: argparse.Namespace, topo: Topology, agent: Member) -> int:
    """Steps of an agent's removal (module docstring); Failed or RemoteError on a step that
    could not be done."""
    started = time.monotonic()
    cluster, hosts = drain_cmd.open_cluster(topo)
    try:
        # One maintenance read serves both: the agents out of maintenance, and this one's state.
        maintenance = drain_cmd.maintenance_status(cluster)
        others = drain_cmd.other_agents(cluster, agent, maintenance)
        down = drain_cmd.machine_is_down(maintenance, agent)
        balancers = plan.remaining_load_balancers(topo, agent.name)
        _say(f"checked: {agent.name} is an agent of the inventory, {len(others)} other agent(s) "
             f"active in Mesos, machine {'DOWN' if down else 'up'}", started)
        units = plan.agent_units(topo, agent.name)
        if not args.yes:
            if not confirmed(f"Remove agent {agent.name}: "
                             + ("" if down else "drain it (move its tasks), then ")
                             + f"stop, disable and mask {', '.join(units)}? [y/N] "):
                print(error(args.inventory, agent.name, "not removed (not confirmed)").format())
                return EXIT_FAILED
        if down:
            _say(f"{agent.name}: machine already DOWN in Mesos maintenance (drained): no task "
                 "to move", started)
        else:
            drain_cmd.drain_machine(cluster, topo, agent, float(args.wait), started)
        if "load_balancer" in topo.roles_of(agent.name):
            _say(f"{agent.name}: stopping its HAProxy; clients move to the remaining load "
                 f"balancer(s): {', '.join(balancers)}", started)
        cluster.sh(agent.name, plan.stop_command(units), STOP_S)
        missing = plan.stopped_problem(units, cluster.sh(agent.name, plan.state_command(units),
                                                         PROBE_S))
        if missing is not None:
            raise Failed(f"{agent.name}: {missing}")
        _say(f"{agent.name}: {', '.join(units)} stopped, disabled and masked", started)
    finally:
        hosts.close()
    print(f"removed: {agent.name}. Its machine stays DOWN in the Mesos maintenance schedule "
          f"(it cannot rejoin by accident). Next: delete its line from {args.inventory}, then "
          "run the deploy (the other hosts' /etc/hosts, firewall and ZooKeeper/Mesos config "
          "then forget it; README: Removing an agent). A deploy run before the line is "
          "deleted starts its services again (the inventory still lists it).")
    return EXIT_DONE


def run_remove(args: argparse.Namespace) -> int:
    topo = topology_or_report(args.inventory)
    if topo is None:
        return EXIT_USAGE
    usage = plan.dead_problems(topo, args.hosts, args.dead, args.inventory)
    for problem in usage:
        print(problem.format())
    if usage:
        return EXIT_USAGE
    agents = {m.name: m for m in topo.agents}
    if any(name in agents for name in args.hosts):
        problems = plan.agent_target_problems(topo, args.hosts, args.inventory)
        for problem in problems:
            print(problem.format())
        if problems:
            return EXIT_FAILED
        try:
            return remove_agent(args, topo, agents[args.hosts[0]])
        except (Failed, RemoteError) as exc:
            print(error(args.inventory, args.hosts[0],
                        without_host(args.hosts[0], str(exc))).format())
            return EXIT_FAILED
    problems = plan.target_problems(topo, args.hosts, args.inventory)
    for problem in problems:
        print(problem.format())
    if problems:
        return EXIT_FAILED
    auth = marathon_auth(topo)
    try:
        return remove(args, topo, auth)
    except (Failed, RemoteError) as exc:
        print(error(args.inventory, "remove", str(exc)).format())
        return EXIT_FAILED
