"""Masters and agents: AVENTER's aventer-mesos package from its signed apt repository, pinned.

The key, the sources line and the pin are files; `apt update` runs only when one changed, so a
re-run changes nothing. A key that has expired, or whose fingerprint differs from
mesos_apt_key_fingerprint, is downloaded again and then refused with one line (and removed, so
the next run downloads it again) before apt ever reads it.
"""

from pyinfra import host, inventory
from pyinfra.api.util import get_template
from pyinfra.operations import apt, server
from pyinfra.operations.util import any_changed

from pyinfra_mesos.deploy import planning_reads
from pyinfra_mesos.deploy.apt_key import apt_key
from pyinfra_mesos.deploy.backup_op import mesos_upgrade_reasons, plan_backup_before_upgrade
from pyinfra_mesos.deploy.file_set import file_set
from pyinfra_mesos.deploy.mesos_files import mesos_package_moves
from pyinfra_mesos.deploy.packages import install_missing
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.units import units_stopped_disabled
from pyinfra_mesos.dpkg import pinned_move_command
from pyinfra_mesos.mesos_package import (
    MESOS_KEYRING,
    MESOS_PIN_FILE,
    MESOS_SOURCES_FILE,
    key_check_command,
    mesos_apt_line,
    mesos_pin_text,
    normalise_fingerprint,
)
from pyinfra_mesos.templates import template_path
from pyinfra_mesos.topology import topology_from_inventory

topo = topology_from_inventory(inventory)
roles = topo.roles_of(host.name)
distribution = read_kept(host, planning_reads.distribution())
codename = distribution["release_meta"].get("VERSION_CODENAME", "")
key_url = host.data.mesos_apt_key_url
expected_fingerprint = normalise_fingerprint(host.data.mesos_apt_key_fingerprint)
# One fact on a converged host (deploy/apt_key.py): fingerprint and expiry read together.
# A key that no longer matches the configured fingerprint (rotated, or the source was
# overridden), or that has expired (the publisher may have extended it), is fetched again and
# checked below.
key = apt_key(
    name="Download the aventer-mesos apt key",
    src=key_url,
    dest=MESOS_KEYRING,
    expected_fingerprint=expected_fingerprint,
)

server.shell(
    name="Check the aventer-mesos apt key (expiry, fingerprint)",
    commands=[key_check_command(key_url, expected_fingerprint)],
    _if=key.did_change,
)

# The sources line and the pin are one set of files read by one fact (deploy/file_set.py):
# apt needs both before the refresh, and either change means the same refresh.
sources = file_set(
    name=f"Add the aventer-mesos apt repository, pinned to {host.data.mesos_version}",
    files={
        MESOS_SOURCES_FILE: get_template(template_path("aventer-mesos.list.j2")).render(
            apt_line=mesos_apt_line(host.data.dict(), distribution["name"], codename),
        ).encode(),
        MESOS_PIN_FILE: mesos_pin_text(host.data.dict()).encode(),
    },
)

apt.update(
    name="Refresh apt lists (aventer-mesos repository changed)",
    _if=any_changed(key, sources),
)

package = install_missing(
    name="Install aventer-mesos",
    packages=[host.data.mesos_package],
)

# Before the first operation that changes a version: ZooKeeper copied to the operator's
# machine, once per run, only when this host upgrades a running Mesos (deploy/backup_op.py).
plan_backup_before_upgrade(mesos_upgrade_reasons(roles, mesos_package_moves()))

if mesos_package_moves():
    # The pin above selects the version; 1001 lets apt go down as well as up.
    server.shell(
        name=f"Move aventer-mesos to the pinned {host.data.mesos_version}",
        commands=[pinned_move_command(host.data.mesos_package, host.data.mesos_version)],
    )

# The package carries both units; a host runs only the ones its roles need. The first op covers
# hosts where the package was already there at planning time, the second a fresh install whose
# postinst may have enabled and started both (planned only with that install).
for unit, role in (("mesos-master.service", "master"), ("mesos-agent.service", "agent")):
    if role in roles:
        continue
    # One unit-state read for both states (deploy/units.py), not systemd.service's two.
    units_stopped_disabled(
        name=f"{unit} stopped and disabled (host is not a {role})",
        units=[unit],
    )
    if package is not None:
        server.shell(
            name=f"{unit} stopped and disabled after install (host is not a {role})",
            commands=[f"if systemctl cat {unit} >/dev/null 2>&1; then "
                      f"systemctl disable --now {unit}; fi"],
            _if=package.did_change,
        )
