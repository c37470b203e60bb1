"""The files a Mesos master and a Mesos agent both get, written one way for both roles.

Called from tasks/mesos_master.py and tasks/mesos_agent.py inside a deploy (it calls pyinfra
operations for the current host); returns the operations whose change means a restart.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from pyinfra import host
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import files

from pyinfra_mesos.credentials import zookeeper_credentials
from pyinfra_mesos.deploy_config import (
    MESOS_COMMON_ENV,
    MESOS_ZK_FILE,
    mesos_common_env_lines,
    mesos_upgrade_needed,
    render_template,
    template_path,
)
from pyinfra_mesos.flags import env_lines, with_zk_digest
from pyinfra_mesos.private_files import private_file
from pyinfra_mesos.topology import Topology


def mesos_zk_credentials(host_name: str, topo: Topology, data: Mapping[str, Any],
                         project_root: str) -> str:
    """The ZooKeeper digest /etc/mesos/zk carries on this host: the Mesos one on a master
    (masters create /mesos and its children), "" on an agent-only host (an agent only reads
    /mesos, which Mesos leaves world-readable: least privilege) or with zookeeper_acls off.
    A host that is both gets the master's, from both task files alike."""
    if "master" not in topo.roles_of(host_name):
        return ""
    return zookeeper_credentials(data, project_root, "mesos", create=True)


def mesos_role_files(*, role_env: str, role_env_name: str, work_dir_name: str,
                     flags: Mapping[str, str], zk_flag: str, source: str,
                     data: Mapping[str, Any], zk_credentials: str) -> list[Any]:
    """work_dir, log dir, /etc/default/mesos, the role's env file and /etc/mesos/zk.

    The zk URL is written once, to /etc/mesos/zk; the role's env file points the zk flag at it
    (`MESOS_ZK=file:///etc/mesos/zk`, `MESOS_MASTER=file:///etc/mesos/zk`), as AVENTER's own
    deploy does. The wrapper does not read /etc/mesos/zk itself (flags.MASTER_ZK_FLAG).
    `zk_credentials` (mesos_zk_credentials): with them the file is a private 0600 file (never
    diffed or printed); without, a plain 0644 template.
    """
    files.directory(name=work_dir_name, path=flags["work_dir"], mode="0750")
    files.directory(name="Mesos log directory", path=flags["log_dir"], mode="0755")
    common_env = files.template(
        name="Configure what master and agent share (/etc/default/mesos)",
        src=template_path("mesos-env.j2"),
        dest=MESOS_COMMON_ENV,
        mode="0644",
        source="tasks/mesos_master.py, tasks/mesos_agent.py",
        lines=mesos_common_env_lines(data),
    )
    role_env_file = files.template(
        name=role_env_name,
        src=template_path("mesos-env.j2"),
        dest=role_env,
        # Mode 0600: extra flags may carry credentials.
        mode="0600",
        source=source,
        lines=env_lines("MESOS", {**flags, zk_flag: f"file://{MESOS_ZK_FILE}"}),
    )
    zk_url = with_zk_digest(flags[zk_flag], zk_credentials)
    # private_file does not create parent directories (files.template does), and the stand-in
    # package, like a minimal install, may not ship /etc/mesos.
    zk_dir = posixpath.dirname(MESOS_ZK_FILE)
    files.directory(name=f"Mesos config directory ({zk_dir})", path=zk_dir, mode="0755")
    if zk_credentials:
        zk_file = private_file(
            name="Point Mesos at ZooKeeper with the masters' digest (/etc/mesos/zk, 0600)",
            dest=MESOS_ZK_FILE,
            content=render_template("mesos-zk.j2", zk_url=zk_url),
        )
    else:
        zk_file = files.template(
            name="Point Mesos at ZooKeeper (/etc/mesos/zk)",
            src=template_path("mesos-zk.j2"),
            dest=MESOS_ZK_FILE,
            mode="0644",
            zk_url=zk_url,
        )
    return [common_env, role_env_file, zk_file]


def mesos_package_moves() -> bool:
    """Whether this run moves the installed aventer-mesos to the pinned mesos_version.

    Read by tasks/mesos_package.py (which moves it) and by the master and agent tasks (which then
    restart, as for a config change) from the same fact, so the three always agree.
    """
    return mesos_upgrade_needed(host.get_fact(DebPackages), host.data.mesos_package,
                                host.data.mesos_version)
