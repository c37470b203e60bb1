"""`python -m pyinfra_mesos status INVENTORY [--json]`: the live state of a cluster, from the
operator's machine over SSH only.

Reports ZooKeeper's mode per member, the Mesos leader each master names, each agent (active or
not), the frameworks (active, connected), the Marathon leader each instance names, each app's
instances / running / healthy, and whether each load balancer serves each servicePort. Every
request runs on a cluster host against that host's own address (status_collect.py), so the
cluster's ports may be firewalled from the operator.

Exit status:
  0  healthy
  1  unhealthy: at least one problem (listed last, one line each)
  2  the status is incomplete or could not be taken: a bad inventory, a usage error, or a host
     that could not be reached over SSH (the report still shows everything that was seen)

Bounds: SSH connect 10 s, each command 10 s, the whole run 60 s (--timeout).
Marathon's credentials come from the inventory or the operator's credentials directory
(pyinfra_mesos/credentials.py; never generated here); on the hosts curl reads them from the
deploy's 0600 /etc/pyinfra-mesos/marathon-curl.conf.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

from pyinfra_mesos.credentials import marathon_credentials
from pyinfra_mesos.inventory_data import project_root
from pyinfra_mesos.inventory_loader import load_inventory
from pyinfra_mesos.problems import Problem, error, errors
from pyinfra_mesos.remote import Hosts, ssh_spec, user_ssh_config
from pyinfra_mesos.status_collect import collect
from pyinfra_mesos.status_model import build_status
from pyinfra_mesos.status_render import render_json, render_table
from pyinfra_mesos.topology import Member, Topology, topology_from_inventory
from pyinfra_mesos.validation import validate

EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_INCOMPLETE = 0, 1, 2
RUN_TIMEOUT_S = 60.0

HELP = ("Exit 0: healthy; 1: unhealthy (problems listed last); 2: bad inventory, usage error, "
        "or a host unreachable over SSH (the report shows what was seen).")


def add_parser(commands: Any) -> None:
    """Add `status` to the CLI's subcommands (cli.py)."""
    parser = commands.add_parser(
        "status", help="show the live state of a cluster over SSH",
        description="The live state of the cluster, asked over SSH on the hosts themselves: "
                    "ZooKeeper modes, Mesos and Marathon leaders, agents, frameworks, apps and "
                    "load balancers. " + HELP)
    parser.add_argument("inventory", metavar="INVENTORY")
    parser.add_argument("--json", action="store_true",
                        help="print JSON for scripts (shape in pyinfra_mesos/status_render.py)")
    parser.add_argument("--timeout", type=float, default=RUN_TIMEOUT_S, metavar="SECONDS",
                        help="bound on the whole run (default 60)")
    parser.set_defaults(run=run)


def load_topology(inventory: str) -> Topology | list[Problem]:
    """The inventory's topology, or its problems (errors only) when it cannot be used."""
    loaded = load_inventory(inventory)
    if isinstance(loaded, Problem):
        return [loaded]
    topo = topology_from_inventory(loaded)
    problems = errors(validate(topo, source=inventory))
    if not topo.masters:
        problems.append(error(inventory, "masters", "no hosts in group `masters`"))
    return problems or topo


def topology_or_report(inventory: str) -> Topology | None:
    """load_topology for a command: the topology, or None after printing its problems (one
    line each); the caller then exits 2, as status, backup and restore all document."""
    loaded = load_topology(inventory)
    if isinstance(loaded, list):
        for problem in loaded:
            print(problem.format())
        return None
    return loaded


def marathon_auth(topo: Topology) -> bool:
    """Whether Marathon wants HTTP credentials on this cluster (its first Marathon host's data,
    else the first master's; credentials.marathon_credentials): the day-two commands' curl then
    reads the host's 0600 curl config."""
    data = topo.marathons[0].data if topo.marathons else topo.masters[0].data
    return bool(marathon_credentials(data, project_root()))


def open_hosts(topo: Topology, deadline: float,
               members: Sequence[Member] | None = None) -> Hosts:
    """SSH connections to every cluster host (or to `members` only), opened in parallel."""
    chosen = topo.all_members if members is None else members
    specs = [ssh_spec(m.name, m.data, user_ssh_config(m.name)) for m in chosen]
    hosts = Hosts(specs, deadline)
    hosts.open()
    return hosts


def run(args: argparse.Namespace) -> int:
    topo = topology_or_report(args.inventory)
    if topo is None:
        return EXIT_INCOMPLETE
    deadline = time.monotonic() + float(args.timeout)
    auth = marathon_auth(topo)
    hosts = open_hosts(topo, deadline)
    try:
        raw = collect(topo, hosts.transport, auth, deadline, hosts.unreachable)
    finally:
        hosts.close()
    status = build_status(topo, raw)
    print(render_json(status) if args.json else render_table(status))
    if status.unreachable:
        return EXIT_INCOMPLETE
    return EXIT_HEALTHY if status.healthy else EXIT_UNHEALTHY
