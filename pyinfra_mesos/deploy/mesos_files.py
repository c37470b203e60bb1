"""The files a Mesos master and a Mesos agent both get, written one way for both roles.

Called from tasks/mesos_master.py and tasks/mesos_agent.py inside a deploy (it calls pyinfra
operations for the current host); returns the operations whose change means a restart.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from pyinfra import host

from pyinfra_mesos.credentials import zookeeper_credentials
from pyinfra_mesos.deploy.file_set import Dir, file_set
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import packages
from pyinfra_mesos.flags import env_lines, with_zk_digest
from pyinfra_mesos.mesos_package import (
    MESOS_COMMON_ENV,
    MESOS_ZK_FILE,
    mesos_common_env_lines,
    mesos_upgrade_needed,
)
from pyinfra_mesos.templates import render_template
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


def mesos_role_files(*, role_env: str, role_env_name: str, flags: Mapping[str, str],
                     zk_flag: str, source: str, data: Mapping[str, Any], zk_credentials: str,
                     private: Mapping[str, str] | None = None,
                     extra: Mapping[str, bytes] | None = None) -> list[Any]:
    """One operation (file_set: one fact on a converged host) for the work_dir (0750), the log
    dir, /etc/mesos, /etc/default/mesos, the role's env file, /etc/mesos/zk, `private` (dest ->
    text, 0600: the role's Mesos credential) and `extra` (dest -> bytes, 0644: the agent's
    systemd drop-in, whose change reloads systemd). Returns [that operation]: its change is the
    restart decision's input.

    The zk URL is written once, to /etc/mesos/zk; the role's env file points the zk flag at it
    (`MESOS_ZK=file:///etc/mesos/zk`, `MESOS_MASTER=file:///etc/mesos/zk`), as AVENTER's own
    deploy does. The wrapper does not read /etc/mesos/zk itself (flags.MASTER_ZK_FLAG).
    `zk_credentials` (mesos_zk_credentials): with them the file is private (0600: created
    private before it is filled, never printed); without, 0644. The role's env file is 0600
    too (extra flags may carry credentials); `source` names the task file in its header.
    /etc/mesos is made explicitly: the stand-in package, like a minimal install, may not
    ship it.
    """
    zk_url = with_zk_digest(flags[zk_flag], zk_credentials)
    files: dict[str, bytes] = {
        MESOS_COMMON_ENV: render_template(
            "mesos-env.j2", source="tasks/mesos_master.py, tasks/mesos_agent.py",
            lines=mesos_common_env_lines(data)).encode(),
        role_env: render_template(
            "mesos-env.j2", source=source,
            lines=env_lines("MESOS", {**flags, zk_flag: f"file://{MESOS_ZK_FILE}"})).encode(),
        MESOS_ZK_FILE: render_template("mesos-zk.j2", zk_url=zk_url).encode(),
        **{dest: text.encode() for dest, text in (private or {}).items()},
        **(extra or {}),
    }
    modes = {role_env: "0600", MESOS_ZK_FILE: "0600" if zk_credentials else "0644",
             **{dest: "0600" for dest in private or {}}}
    return [file_set(
        name=role_env_name,
        files=files,
        modes=modes,
        directories={flags["work_dir"]: Dir("0750"), flags["log_dir"]: Dir("0755"),
                     posixpath.dirname(MESOS_ZK_FILE): Dir("0755")},
    )]


def mesos_package_moves() -> bool:
    """Whether this run moves the installed aventer-mesos to the pinned mesos_version.

    Read by tasks/mesos_package.py (which moves it) and by the master and agent tasks (which then
    restart, as for a config change) from the same fact, so the three always agree.
    """
    return mesos_upgrade_needed(read_kept(host, packages()), host.data.mesos_package,
                                host.data.mesos_version)
