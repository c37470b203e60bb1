"""Every cluster host: the host firewall, one nftables table of our own (pyinfra_mesos/firewall.py).

Included right after tasks/common.py, before any service is configured: the rules come from the
whole inventory, so a member that this run adds is in every host's `members` set before it
starts talking to them. firewall_enabled = False: nothing here runs, nothing is removed.

The table is loaded only when the loaded one's marker (a sha256 of the rules) differs from this
run's, one host at a time, with a rollback the host runs by itself unless the deploy's SSH
session confirms it survived: a second run changes nothing.
"""

import os

from pyinfra import host, state
from pyinfra.operations import server

from pyinfra_mesos import firewall
from pyinfra_mesos.apps import app_dir_service_ports
from pyinfra_mesos.common import member_named
from pyinfra_mesos.deploy import firewall_facts
from pyinfra_mesos.deploy.file_set import file_set
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import firewall_loaded
from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.deploy.units import units_running_enabled
from pyinfra_mesos.templates import render_template

topo = run_topology(state)

if firewall.enabled(member_named(topo, host.name)):
    # Members named by DNS are listed by the addresses this host resolves for them.
    names = firewall.names_to_resolve(topo)
    resolved = host.get_fact(firewall_facts.ResolvedIPv4, names=names) if names else {}
    # The servicePorts the app files name (HAProxy binds them; some lie outside Marathon's range).
    apps_dir = str(host.data.apps_dir)
    if not os.path.isabs(apps_dir):
        apps_dir = os.path.join(state.cwd or os.getcwd(), apps_dir)
    app_ports = app_dir_service_ports(apps_dir, topo) if os.path.isdir(apps_dir) else []
    try:
        rules = firewall.ruleset(topo, host.name, resolved, app_ports)
    except ValueError as exc:
        raise DeployRefused(f"{exc} (looked up on {host.name})") from None
    wanted = firewall.marker(rules)

    # nftables came with this host's other packages (tasks/common.py, first_install.py).
    # The rules and the unit that loads them at boot: one fact for both (deploy/file_set.py); the
    # set reloads systemd when the unit's content changes. Nothing restarts on a rules change: the
    # load below follows the kernel's marker, not the file.
    unit_path = f"/etc/systemd/system/{firewall.UNIT}"
    file_set(
        name=f"Firewall rules {firewall.RULES_FILE} ({len(rules.members)} members, "
             f"{len(rules.operator_networks)} operator networks) and {firewall.UNIT}",
        files={
            firewall.RULES_FILE: firewall.render(rules).encode(),
            unit_path: render_template("pyinfra-mesos-firewall.service.j2",
                                       rules_file=firewall.RULES_FILE, table=firewall.TABLE,
                                       nft=firewall.NFT).encode(),
        },
    )

    # Read before anything changes: the marker of the table the kernel holds now.
    if read_kept(host, firewall_loaded()) != wanted:
        server.shell(
            name="Load the firewall (nft -c, arm a rollback, load, confirm over SSH)",
            commands=firewall.apply_commands(),
            # One host at a time: a rule that cut the deploy off would stop at one host, and
            # that host puts its previous table back after firewall.ROLLBACK_S.
            _serial=True,
            _timeout=firewall.ROLLBACK_S // 2,
        )

    # Its start loads the same file again; active (exited) from then on, so no change. One fact
    # for both states (deploy/units.py).
    units_running_enabled(
        name=f"{firewall.UNIT} enabled",
        units=[firewall.UNIT],
    )
