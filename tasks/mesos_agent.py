"""Mesos agent: env file from the computed flags, the zk URL, a persistent work_dir.

Mesos checkpoints an agent's resources and attributes; after a change it refuses to start
("Incompatible agent info") until <work_dir>/meta/slaves/latest is removed, which loses the
agent's tasks. The deploy refuses such a change unless mesos_allow_agent_checkpoint_reset is set,
and then removes only that link.
"""

from pyinfra import host, state
from pyinfra.operations import server

from pyinfra_mesos.common import check_work_dir, member_named
from pyinfra_mesos.credentials import mesos_secrets
from pyinfra_mesos.deploy.mesos_files import (
    mesos_package_moves,
    mesos_role_files,
    mesos_zk_credentials,
)
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import agent_checkpoint, agent_env, cgroup_hierarchy
from pyinfra_mesos.deploy.private_files import private_directory
from pyinfra_mesos.deploy.rolling import rolling_restart
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.deploy.units import units_running_enabled
from pyinfra_mesos.docker import DOCKER_SERVICE
from pyinfra_mesos.flags import (
    AGENT_ZK_FLAG,
    MESOS_AGENT_CREDENTIAL_FILE,
    MESOS_AGENT_PRINCIPAL,
    agent_flags,
    mesos_agent_credential_json,
    parse_env_lines,
)
from pyinfra_mesos.mesos_agent import (
    MESOS_AGENT_DOCKER_DROPIN,
    MESOS_AGENT_ENV,
    MESOS_AGENT_SERVICE,
    agent_info_changes,
    check_agent_checkpoint,
)
from pyinfra_mesos.mesos_package import mesos_inputs
from pyinfra_mesos.restarts import http_probe
from pyinfra_mesos.templates import render_template

SERVICE = MESOS_AGENT_SERVICE

topo = run_topology(state)
# cgroup v2 hosts (Debian 11+, Ubuntu 22.04+) have no v1 systemd hierarchy: systemd support off.
flags = agent_flags(
    member_named(topo, host.name), topo,
    systemd_cgroup_hierarchy=bool(read_kept(host, cgroup_hierarchy())))
work_dir = flags["work_dir"]
check_work_dir(host.name, "mesos_agent_work_dir", work_dir)

checkpoint = f"{work_dir.rstrip('/')}/meta/slaves/latest"
remove_checkpoint = check_agent_checkpoint(
    host.name,
    agent_info_changes(
        parse_env_lines(read_kept(host, agent_env()), "MESOS"), flags),
    checkpoint_exists=read_kept(host, agent_checkpoint(work_dir)) is not None,
    allow_reset=bool(host.data.mesos_allow_agent_checkpoint_reset),
)

credential = {}
if host.data.get("mesos_authentication", True):
    private_directory()
    secret = mesos_secrets(host.data.dict(), state.cwd, create=True)[MESOS_AGENT_PRINCIPAL]
    credential = {MESOS_AGENT_CREDENTIAL_FILE: mesos_agent_credential_json(secret)}

runs_docker = "docker" in flags["containerizers"].split(",")
# The drop-in orders the agent after Docker; the set reloads systemd when its content changes.
dropin = ({MESOS_AGENT_DOCKER_DROPIN: render_template(
    "mesos-agent-docker.conf.j2", containerizers=flags["containerizers"]).encode()}
    if runs_docker else {})

# One operation, one fact on a converged host (deploy/mesos_files.py): directories, env files,
# /etc/mesos/zk, the credential and the drop-in.
config_files = mesos_role_files(
    role_env=MESOS_AGENT_ENV,
    role_env_name="Configure mesos-agent (resources, attributes, containerizers): env files, "
                  "/etc/mesos/zk, credential (0600), work_dir, log dir"
                  + (", Docker drop-in" if runs_docker else ""),
    flags=flags,
    zk_flag=AGENT_ZK_FLAG,
    source="tasks/mesos_agent.py",
    data=host.data.dict(),
    # A master's /etc/mesos/zk carries the Mesos ZooKeeper digest (0600); an agent's does not.
    zk_credentials=mesos_zk_credentials(host.name, topo, host.data.dict(), state.cwd),
    private=credential,
    extra=dropin,
)

if remove_checkpoint:
    server.shell(
        name="Remove the agent checkpoint (mesos_allow_agent_checkpoint_reset; its tasks are lost)",
        commands=[f"systemctl stop {SERVICE}", f"rm -f {checkpoint}"],
    )

# One fact for running, enabled and masked (deploy/units.py: a host `remove` took out and the
# inventory lists again is unmasked here). The agent refuses to start with the docker
# containerizer while Docker is down: Docker first (tasks/docker.py enables it as well).
units_running_enabled(
    name="Docker running before the agent, mesos-agent enabled and running"
    if runs_docker else "mesos-agent enabled and running",
    units=([DOCKER_SERVICE] if runs_docker else []) + [SERVICE],
)

# One agent at a time, each answering /health before the next (a changed ZooKeeper list, e.g.
# growing the masters, touches every agent at once). Stale covers a new agent that the package
# started before its config existed, and a package moved to a new mesos_version.
rolling_restart(
    name="Restart mesos-agent (config or package newer than the agent), one at a time",
    service=SERVICE,
    inputs=mesos_inputs(host.data.dict(), "agent"),
    probe=http_probe(f"http://{flags['ip']}:{flags['port']}/health"),
    timeout_s=int(host.data.mesos_agent_restart_wait_s),
    changes=config_files,
    force=mesos_package_moves(),
    _serial=True,
)
