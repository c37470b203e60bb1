"""The reads the task files make while pyinfra loads them, each named once (issue 13).

While pyinfra loads the deploy, a task file that reads a fact waits for its SSH round trip
before its next line: a master made a dozen such reads one after the other (the hosts block,
the package list, the firewall's marker, the unit states, ZooKeeper's unit, myid and zoo.cfg,
the distribution, Mesos' env file and replicated log, Marathon's image and container), each
waiting for the last. deploy.py makes every read a host's roles call for in ONE command first
(`planning_reads`, planning_facts.read_together), and the task files then read through
planning_facts.fact_until_change, which answers from that command's output. A task file reads
each of these by the function here that names it, so the read made ahead and the read asked
for are the same (fact, arguments). A read not made ahead (another host's, a changed name) is
made alone, as before: this only saves round trips.

Two reads of operations that run early join them: dpkg's unfinished work (every host,
deploy/dpkg_recovery.py) and the aventer-mesos key (masters and agents, deploy/apt_key.py).
They stay good until one of the host's operations runs a command, as every kept read does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import Block, Directory, FileContents, FindInFile, Link
from pyinfra.facts.server import LinuxDistribution

from pyinfra_mesos.apt_lists import lists_inputs
from pyinfra_mesos.common import member_named
from pyinfra_mesos.deploy.apt_key import AptKeyState
from pyinfra_mesos.deploy.deploy_facts import (
    AptListsState,
    DockerContainerImageId,
    DockerImageId,
    DpkgInterrupted,
    UnitEnabledState,
)
from pyinfra_mesos.deploy.firewall_facts import LoadedMarker
from pyinfra_mesos.deploy.planning_facts import Read
from pyinfra_mesos.deploy.units import unit_read
from pyinfra_mesos.firewall import enabled as firewall_enabled
from pyinfra_mesos.flag_tables import SYSTEMD_CGROUP_HIERARCHY, program_flag
from pyinfra_mesos.haproxy_bridge import HAPROXY_CONFIG
from pyinfra_mesos.haproxy_render import MARKER
from pyinfra_mesos.mesos_agent import MESOS_AGENT_ENV
from pyinfra_mesos.mesos_master import MESOS_MASTER_ENV
from pyinfra_mesos.mesos_package import MESOS_KEYRING
from pyinfra_mesos.topology import Topology

HOSTS_FILE = "/etc/hosts"
HOSTS_MARKER = "# {mark} pyinfra-mesos cluster members"  # files.block's marker in HOSTS_FILE
# In every HAProxy config the bridge wrote: haproxy_render.MARKER without its "# " and what
# follows the bridge's name.
BRIDGE_CONFIG_MARK = MARKER.removeprefix("# ").split(" from ", 1)[0]


def hosts_block() -> Read:
    """The managed block of /etc/hosts (tasks/common.py)."""
    return Block, {"path": HOSTS_FILE, "marker": HOSTS_MARKER}


def apt_lists(roles: Iterable[str]) -> Read:
    """The apt lists' age and the inputs of a host with `roles` newer than them
    (tasks/common.py, deploy/packages.py `lists_refreshed`: apt_lists.py)."""
    return AptListsState, {"paths": lists_inputs(roles)}


def packages() -> Read:
    """The host's package list (deploy/packages.py and the version moves)."""
    return DebPackages, {}


def dpkg_unfinished() -> Read:
    """What a killed run left dpkg with (deploy/dpkg_recovery.py)."""
    return DpkgInterrupted, {}


def firewall_loaded() -> Read:
    """The marker of the firewall table the kernel holds (tasks/firewall.py)."""
    return LoadedMarker, {}


def zookeeper_enabled(data: Mapping[str, Any]) -> Read:
    """`systemctl is-enabled` of the ZooKeeper unit (tasks/zookeeper.py)."""
    return UnitEnabledState, {"unit": f"{data['zookeeper_service']}.service"}


def zookeeper_myid(data: Mapping[str, Any]) -> Read:
    """The myid link of a member's data dir (tasks/zookeeper.py)."""
    return Link, {"path": f"{data['zookeeper_data_dir']}/myid"}


def zookeeper_config(data: Mapping[str, Any]) -> Read:
    """A member's zoo.cfg as it is now (tasks/zookeeper.py)."""
    return FileContents, {"path": f"{data['zookeeper_conf_dir']}/zoo.cfg"}


def distribution() -> Read:
    """/etc/*-release (tasks/common.py: the aventer-mesos apt line's codename)."""
    return LinuxDistribution, {}


def mesos_key() -> Read:
    """The aventer-mesos apt key in place (tasks/common.py, deploy/apt_key.py)."""
    return AptKeyState, {"path": MESOS_KEYRING}


def master_env() -> Read:
    """mesos-master's env file as it is now (tasks/mesos_master.py)."""
    return FileContents, {"path": MESOS_MASTER_ENV}


def replicated_log(work_dir: str) -> Read:
    """A master's replicated log directory (tasks/mesos_master.py)."""
    return Directory, {"path": f"{work_dir}/replicated_log"}


def marathon_image(data: Mapping[str, Any]) -> Read:
    """The id of `marathon_image` as pulled (tasks/marathon.py)."""
    return DockerImageId, {"image": str(data["marathon_image"])}


def marathon_container(data: Mapping[str, Any]) -> Read:
    """The image id Marathon's container runs (deploy/backup_op.py)."""
    return DockerContainerImageId, {"container": str(data["marathon_container_name"])}


def cgroup_hierarchy() -> Read:
    """cgroup v1's systemd hierarchy (tasks/mesos_agent.py)."""
    return Directory, {"path": SYSTEMD_CGROUP_HIERARCHY}


def agent_env() -> Read:
    """mesos-agent's env file as it is now (tasks/mesos_agent.py)."""
    return FileContents, {"path": MESOS_AGENT_ENV}


def agent_checkpoint(work_dir: str) -> Read:
    """The agent's checkpointed agent id link (tasks/mesos_agent.py)."""
    return Link, {"path": f"{work_dir.rstrip('/')}/meta/slaves/latest"}


def bridge_config() -> Read:
    """Whether the bridge wrote HAProxy's config (tasks/haproxy.py)."""
    return FindInFile, {"path": HAPROXY_CONFIG, "pattern": BRIDGE_CONFIG_MARK}


def planning_reads(data: Mapping[str, Any], topo: Topology, name: str) -> list[Read]:
    """Every read above that host `name`'s roles (in `topo`; `data`: its host data) make on a
    converged host, in the order the task files make them; [] for a host with no role."""
    roles = topo.roles_of(name)
    if not roles:
        return []
    member = member_named(topo, name)
    reads = [dpkg_unfinished(), hosts_block(), apt_lists(roles), packages(), unit_read(data)]
    if firewall_enabled(member):
        reads.append(firewall_loaded())
    if "zookeeper" in roles:
        reads += [zookeeper_enabled(data), zookeeper_myid(data), zookeeper_config(data)]
    if roles & {"master", "agent"}:
        reads += [distribution(), mesos_key()]
    if "master" in roles:
        reads += [master_env(), replicated_log(program_flag("master", "work_dir", member, topo)
                                               or "")]
    if "marathon" in roles:
        reads += [marathon_image(data), marathon_container(data)]
    if "agent" in roles:
        # The work dir does not depend on the cgroup hierarchy (only the systemd flags do).
        reads += [cgroup_hierarchy(), agent_env(),
                  agent_checkpoint(program_flag("agent", "work_dir", member, topo) or "")]
    if "load_balancer" in roles:
        reads.append(bridge_config())
    return reads
