"""Every cluster host: apt waits for its lock, names of all members in /etc/hosts, fresh apt
lists, then every package its roles need but aventer-mesos, in one transaction.

The host's own hostname is left alone; the cluster uses addresses (`ip`) everywhere it matters.
"""

from pyinfra import host, inventory
from pyinfra.operations import apt, files

from pyinfra_mesos.common import APT_LOCK_CONF, apt_lock_timeout_conf, hosts_entries
from pyinfra_mesos.deploy.dpkg_recovery import dpkg_configure_pending
from pyinfra_mesos.deploy.file_set import file_set
from pyinfra_mesos.deploy.packages import install_holding
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import (
    HOSTS_FILE,
    HOSTS_MARKER,
    apt_lists_age,
    hosts_block,
)
from pyinfra_mesos.deploy.private_files import claim_private_directory
from pyinfra_mesos.docker import DOCKER_PIN_FILE, docker_pin_text
from pyinfra_mesos.first_install import first_transaction
from pyinfra_mesos.templates import render_template
from pyinfra_mesos.topology import DOCKER_ROLES, topology_from_inventory
from pyinfra_mesos.zookeeper_package import (
    ZOOKEEPER_PIN_FILE,
    zookeeper_packages,
    zookeeper_pin_text,
)

topo = topology_from_inventory(inventory)

# A run killed during an apt operation leaves apt-get or dpkg running on the host; the next run
# then waits for the dpkg lock (bounded) instead of failing at once (apt >= 1.9.11, apt.conf(5)).
# One fact on a converged host instead of files.put's three (deploy/file_set.py). The same set
# makes, once per host and early, the 0700 home of every private file (deploy/private_files.py):
# the task files that write private files claim it too (so each runs alone), and after this
# one their claims plan nothing on this host.
# A ZooKeeper member's and a Docker host's apt pins (zookeeper_package.py, docker.py) are apt
# configuration too, in the same set: written before the first install reads them, and no second
# fact on a converged host. An empty version writes a pin file that pins nothing.
apt_files = {APT_LOCK_CONF: apt_lock_timeout_conf(int(host.data.apt_lock_timeout_s)).encode()}
pin_name = ""
if "zookeeper" in topo.roles_of(host.name):
    zookeeper_version = str(host.data.get("zookeeper_version") or "")
    apt_files[ZOOKEEPER_PIN_FILE] = zookeeper_pin_text(
        zookeeper_packages(host.data.zookeeper_package), zookeeper_version).encode()
    pin_name = (f", ZooKeeper pinned to {zookeeper_version}" if zookeeper_version
                else ", no ZooKeeper pin")
# docker_version's likewise, on every host tasks/docker.py installs Docker on (not named: pyinfra
# shows one name per operation, the first host's).
if DOCKER_ROLES & set(topo.roles_of(host.name)):
    apt_files[DOCKER_PIN_FILE] = docker_pin_text(host.data.dict()).encode()
file_set(
    name=f"apt waits for the dpkg lock (bounded){pin_name}; the private files' directory (0700)",
    files=apt_files,
    directories=claim_private_directory(),
)

# A run killed during apt can also leave packages unpacked but not configured: apt then refuses
# every install until `dpkg --configure -a` (pyinfra_mesos/deploy/dpkg_recovery.py).
dpkg_configure_pending(
    name="Finish what an interrupted dpkg left (dpkg --configure -a)",
    timeout_s=int(host.data.apt_lock_timeout_s),
)

# The managed block is read once, here (in the host's first command: deploy/planning_reads.py):
# files.block reads it twice more (pyinfra 3.10
# operations/files.py `block`), so it is planned only when the block differs, with pyinfra's
# own test (the lines between the markers equal the content's lines).
hosts_content = render_template("hosts-block.j2", entries=hosts_entries(topo)).rstrip("\n")
if read_kept(host, hosts_block()) != hosts_content.split("\n"):
    files.block(
        name="List every cluster member in /etc/hosts",
        path=HOSTS_FILE,
        content=hosts_content,
        marker=HOSTS_MARKER,
    )

# Planned only when the lists are older than apt_cache_time_s (or never refreshed): the age is
# one of the host's planning reads, so a converged host pays none of apt.update's own two reads
# (pyinfra 3.10 operations/apt.py `update`), which decide the same from the same stamp.
cache_time_s = int(host.data.apt_cache_time_s)
lists_age_s = read_kept(host, apt_lists_age())
if not cache_time_s or lists_age_s is None or lists_age_s >= cache_time_s:
    apt.update(
        name="Refresh apt lists (skipped when newer than apt_cache_time_s)",
        cache_time=cache_time_s,
    )

# Every package of this host's roles in ONE apt transaction, aventer-mesos aside (its repository
# comes later, tasks/mesos_package.py): hosts then install side by side instead of each waiting
# for every other host's install of each component. The services they bring stay masked until
# their task files below have written their config and start them (first_install.py says why);
# planned only where a package is missing, from the dpkg list read once (deploy/packages.py).
roles = topo.roles_of(host.name)
install_holding(
    name="Install this host's packages, one apt transaction (their services held until configured)",
    packages=first_transaction(roles, host.data.dict()),
    roles=roles,
)
