"""Masters and agents: aventer-mesos at the pinned mesos_version, and only the role's unit.

tasks/common.py sets up the repository (key, sources line, pin) and installs the package with
the host's others. Here: a host that runs an older or newer build moves to the pinned one
(ZooKeeper copied to the operator's machine first when a running Mesos upgrades), and the unit
of the role the host does not have stays stopped and disabled.
"""

from pyinfra import host, state
from pyinfra.operations import server

from pyinfra_mesos.deploy.backup_op import mesos_upgrade_reasons, plan_backup_before_upgrade
from pyinfra_mesos.deploy.mesos_files import mesos_package_moves
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.deploy.units import units_stopped_disabled
from pyinfra_mesos.dpkg import pinned_move_command

topo = run_topology(state)
roles = topo.roles_of(host.name)

# Before the first operation that changes a version: ZooKeeper copied to the operator's
# machine, once per run, only when this host upgrades a running Mesos (deploy/backup_op.py).
plan_backup_before_upgrade(mesos_upgrade_reasons(roles, mesos_package_moves()))

if mesos_package_moves():
    # The pin (tasks/common.py) selects the version; 1001 lets apt go down as well as up.
    server.shell(
        name=f"Move aventer-mesos to the pinned {host.data.mesos_version}",
        commands=[pinned_move_command(host.data.mesos_package, host.data.mesos_version)],
    )

# The package carries both units and starts neither (it ships no maintainer scripts:
# docs/REAL-CONTRACTS.md); a host runs only the ones its roles need, and one an operator
# started by hand on the wrong host is stopped. One unit-state read for both states
# (deploy/units.py), not systemd.service's two.
for unit, role in (("mesos-master.service", "master"), ("mesos-agent.service", "agent")):
    if role in roles:
        continue
    units_stopped_disabled(
        name=f"{unit} stopped and disabled (host is not a {role})",
        units=[unit],
    )
