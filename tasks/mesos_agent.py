"""Mesos agent: env file from the computed flags, the zk URL, a persistent work_dir.

Mesos checkpoints an agent's resources and attributes; after a change it refuses to start
("Incompatible agent info") until <work_dir>/meta/slaves/latest is removed, which loses the
agent's tasks. The deploy refuses such a change unless mesos_allow_agent_checkpoint_reset is set,
and then removes only that link.
"""

from pyinfra import host, inventory
from pyinfra.facts.files import FileContents, Link
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from pyinfra_mesos.deploy_config import (
    MESOS_AGENT_DOCKER_DROPIN,
    MESOS_AGENT_ENV,
    MESOS_COMMON_ENV,
    MESOS_ZK_FILE,
    agent_info_changes,
    check_agent_checkpoint,
    check_work_dir,
    member_named,
    mesos_common_env_lines,
    template_path,
)
from pyinfra_mesos.flags import AGENT_ZK_FLAG, agent_flags, env_lines, parse_env_lines
from pyinfra_mesos.topology import topology_from_inventory

SERVICE = "mesos-agent.service"

topo = topology_from_inventory(inventory)
flags = agent_flags(member_named(topo, host.name), topo)
work_dir = flags["work_dir"]
check_work_dir(host.name, "mesos_agent_work_dir", work_dir)

checkpoint = f"{work_dir.rstrip('/')}/meta/slaves/latest"
remove_checkpoint = check_agent_checkpoint(
    host.name,
    agent_info_changes(
        parse_env_lines(host.get_fact(FileContents, path=MESOS_AGENT_ENV), "MESOS"), flags),
    checkpoint_exists=host.get_fact(Link, path=checkpoint) is not None,
    allow_reset=bool(host.data.mesos_allow_agent_checkpoint_reset),
)

files.directory(name="Mesos agent work_dir", path=work_dir, mode="0750")
files.directory(name="Mesos log directory", path=flags["log_dir"], mode="0755")

common_env = files.template(
    name="Configure what master and agent share (/etc/default/mesos)",
    src=template_path("mesos-env.j2"),
    dest=MESOS_COMMON_ENV,
    mode="0644",
    source="tasks/mesos_master.py, tasks/mesos_agent.py",
    lines=mesos_common_env_lines(host.data.dict()),
)
agent_env = files.template(
    name="Configure mesos-agent (resources, attributes, containerizers)",
    src=template_path("mesos-env.j2"),
    dest=MESOS_AGENT_ENV,
    mode="0600",
    source="tasks/mesos_agent.py",
    lines=env_lines("MESOS", flags, omit=[AGENT_ZK_FLAG]),
)
zk_file = files.template(
    name="Point Mesos at ZooKeeper (/etc/mesos/zk)",
    src=template_path("mesos-zk.j2"),
    dest=MESOS_ZK_FILE,
    mode="0644",
    zk_url=flags[AGENT_ZK_FLAG],
)

if "docker" in flags["containerizers"].split(","):
    dropin = files.template(
        name="Start mesos-agent after Docker",
        src=template_path("mesos-agent-docker.conf.j2"),
        dest=MESOS_AGENT_DOCKER_DROPIN,
        mode="0644",
        containerizers=flags["containerizers"],
    )
    systemd.daemon_reload(name="Reload systemd (mesos-agent drop-in changed)",
                          _if=dropin.did_change)
    # The agent refuses to start with the docker containerizer while Docker is down.
    systemd.service(name="Docker running before the agent", service="docker.service",
                    running=True)

if remove_checkpoint:
    server.shell(
        name="Remove the agent checkpoint (mesos_allow_agent_checkpoint_reset; its tasks are lost)",
        commands=[f"systemctl stop {SERVICE}", f"rm -f {checkpoint}"],
    )

systemd.service(
    name="mesos-agent enabled and running",
    service=SERVICE,
    running=True,
    enabled=True,
)

# Restart on change even when it was not running at planning time: the package may have
# started it before its config existed.
systemd.service(
    name="Restart mesos-agent (its config changed)",
    service=SERVICE,
    command="restart",
    _if=any_changed(common_env, agent_env, zk_file),
)
