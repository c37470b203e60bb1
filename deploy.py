"""pyinfra-mesos: `pyinfra -y inventory/<env>.py deploy.py`.

Validates the whole inventory first (nothing is touched when it is wrong), then includes the
tasks each host's roles need, in the order the cluster comes up: ZooKeeper before the Mesos
masters that elect through it, masters before Marathon and the agents that register with them.
"""

import click
from pyinfra import host, inventory, local, state
from pyinfra.api.exceptions import PyinfraError
from pyinfra.operations import server

from pyinfra_mesos.credentials import ensure_all
from pyinfra_mesos.deploy_config import first_time, problems_report
from pyinfra_mesos.inventory_loader import cli_inventory_path
from pyinfra_mesos.topology import topology_from_inventory
from pyinfra_mesos.validation import validate_inventory

topo = topology_from_inventory(inventory)

# The same rules as `check` (keys, groups, values): one place, validation.validate_inventory.
error_lines, warning_lines = problems_report(validate_inventory(inventory, cli_inventory_path()))
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

roles = topo.roles_of(host.name)
runs_docker = bool(roles & {"agent", "marathon"})
runs_mesos = bool(roles & {"master", "agent"})

if roles:
    local.include("tasks/common.py")
    # Before any service: every member is allowed everywhere before it starts talking.
    local.include("tasks/firewall.py")
if runs_docker:
    local.include("tasks/docker.py")
if "zookeeper" in roles:
    local.include("tasks/zookeeper.py")
if runs_mesos:
    local.include("tasks/mesos_package.py")
if "master" in roles:
    local.include("tasks/mesos_master.py")
if "marathon" in roles:
    local.include("tasks/marathon.py")
if roles:
    # pyinfra orders operations per host (api/state.py get_op_order, a topological sort of each
    # host's chain), so an agent-only host's operations do not wait for the masters' unless
    # every host shares one: this one. No agent restarts before every master and Marathon
    # restart ended (apache/mesos docs/upgrades.md: masters first, then agents).
    server.shell(name="Masters and Marathon settled before any agent operation", commands=[])
if "agent" in roles:
    local.include("tasks/mesos_agent.py")
if "load_balancer" in roles:
    local.include("tasks/haproxy.py")
if "registry" in roles:
    local.include("tasks/registry.py")
# Apps go through the Marathon API; tasks/apps.py picks the host it talks from.
if roles:
    local.include("tasks/apps.py")
