"""pyinfra-mesos: `pyinfra -y inventory/<env>.py deploy.py`.

Validates the whole inventory first (nothing is touched when it is wrong), then includes the
tasks each host's roles need, in the order the cluster comes up: ZooKeeper before the Mesos
masters that elect through it, masters before Marathon and the agents that register with them.
"""

import os

import click
from pyinfra import host, local, state
from pyinfra.api.exceptions import PyinfraError
from pyinfra.operations import server

from pyinfra_mesos.credentials import ensure_all
from pyinfra_mesos.deploy.frame_modules import register_deploy_files
from pyinfra_mesos.deploy.planning_facts import (
    background_reads,
    named_reads,
    read_deferred,
    read_together,
    start_in_background,
)
from pyinfra_mesos.deploy.planning_reads import planning_reads
from pyinfra_mesos.deploy.remembered_reads import remember_reads, remembered_reads
from pyinfra_mesos.deploy.run_memo import run_problems, run_topology
from pyinfra_mesos.inventory_loader import cli_inventory_path
from pyinfra_mesos.report import first_time, problems_report
from pyinfra_mesos.tcp_nodelay import ssh_client_no_delay
from pyinfra_mesos.topology import SETTLED_BARRIER, TASK_FILES, tasks_for

# Built and validated once per run, not once per host (deploy/run_memo.py).
topo = run_topology(state)

# The same rules as `check` (keys, groups, values): one place, validation.validate_inventory.
error_lines, warning_lines = problems_report(run_problems(state, cli_inventory_path()))
for line in warning_lines + error_lines:
    if first_time(state, line):
        click.echo(line, err=True)
if error_lines:
    # Raised while operations are still being generated: no host has been changed, and the CLI
    # exits 1. Every host raises it, pyinfra reports the first only.
    raise PyinfraError(
        f"the inventory has {len(error_lines)} error(s) listed above; nothing was changed on "
        "any host. Fix them (or run `python -m pyinfra_mesos check`) and re-run.")

# Secrets the operator did not set are generated once, on the operator's machine (0600).
ensure_all(host.data.dict(), state.cwd)

# Every fact read and command after this line goes over this host's SSH connection: without
# Nagle each costs its round trips, not a 40 ms delayed-ACK wait (tcp_nodelay.py says why).
ssh_client_no_delay(getattr(host.connector, "client", None))

# pyinfra walks the stack on every operation call; deploy.py and the task files as modules
# keep that walk cheap (deploy/frame_modules.py says why; a quarter of planning's CPU).
register_deploy_files([__file__, *(os.path.join(os.path.dirname(__file__), task)
                                   for task in TASK_FILES)])

roles = topo.roles_of(host.name)
# Every read the task files below make while they load (the hosts block, packages, units, the
# files each component decides from), in ONE command for this host before they run: they then
# answer from it instead of waiting for a round trip each (deploy/planning_reads.py). The reads
# this host's operations named in the last run join them (deploy/remembered_reads.py).
remembered = remembered_reads(host)
start_in_background(host, remembered.background)  # the ZooKeeper ACL read's JVM, from now on
read_together(host, planning_reads(host.data.dict(), topo, host.name) + remembered.reads)
# Which task files a host's roles include, in which order: topology.ROLE_TASKS, the one table
# (floor.py and the tests read it too). One include per line, in the table's order: pyinfra
# orders operations by the line numbers of the calls that made them (api/util.py
# get_operation_order_from_stack), so a loop over the table would interleave the files.
wanted = tasks_for(roles)
if "tasks/common.py" in wanted:
    local.include("tasks/common.py")
if "tasks/firewall.py" in wanted:
    local.include("tasks/firewall.py")
if "tasks/docker.py" in wanted:
    local.include("tasks/docker.py")
if "tasks/zookeeper.py" in wanted:
    local.include("tasks/zookeeper.py")
if "tasks/mesos_package.py" in wanted:
    local.include("tasks/mesos_package.py")
if "tasks/mesos_master.py" in wanted:
    local.include("tasks/mesos_master.py")
if "tasks/marathon.py" in wanted:
    local.include("tasks/marathon.py")
if SETTLED_BARRIER in wanted:
    # Every host with a role shares this one operation (topology.SETTLED_BARRIER says why).
    server.shell(name=SETTLED_BARRIER, commands=[])
if "tasks/mesos_agent.py" in wanted:
    local.include("tasks/mesos_agent.py")
if "tasks/haproxy.py" in wanted:
    local.include("tasks/haproxy.py")
if "tasks/registry.py" in wanted:
    local.include("tasks/registry.py")
# Apps go through the Marathon API; tasks/apps.py picks the host it talks from.
if roles:
    local.include("tasks/apps.py")

# Every read an operation above named ahead (file sets, restarts' freshness, unit states) and
# the host's first command did not make, in one SSH command for this host, while each host still
# runs on its own (deploy/planning_facts.py); the list is kept for the next run's first command.
remember_reads(host, named_reads(host), background_reads(host))
read_deferred(host)
