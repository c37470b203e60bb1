"""Every cluster host: names of all members in /etc/hosts, fresh apt lists, base packages.

The host's own hostname is left alone; the cluster uses addresses (`ip`) everywhere it matters.
"""

from pyinfra import host, inventory
from pyinfra.operations import apt, files

from pyinfra_mesos.deploy_config import hosts_entries, render_template
from pyinfra_mesos.topology import topology_from_inventory

topo = topology_from_inventory(inventory)

files.block(
    name="List every cluster member in /etc/hosts",
    path="/etc/hosts",
    content=render_template("hosts-block.j2", entries=hosts_entries(topo)).rstrip("\n"),
    marker="# {mark} pyinfra-mesos cluster members",
)

apt.update(
    name="Refresh apt lists (skipped when newer than apt_cache_time_s)",
    cache_time=host.data.apt_cache_time_s,
)

apt.packages(
    name="Install base packages",
    packages=list(host.data.base_packages),
)
