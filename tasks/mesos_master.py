"""Mesos master: env files from the computed flags, the zk URL, a persistent work_dir.

Before anything changes, the current quorum is read from the host: a change of master count that
would need the replicated log wiped is refused unless the operator asked for it. Masters restart
one at a time, each waiting for the previous to answer, so a quorum stays up; already-running
masters restart before new ones start (growing 3 -> 5: the old three get quorum 3 first).
"""

from pyinfra import host, inventory
from pyinfra.facts.files import Directory, FileContents
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from pyinfra_mesos.deploy_config import (
    MESOS_COMMON_ENV,
    MESOS_MASTER_ENV,
    MESOS_ZK_FILE,
    check_work_dir,
    member_named,
    mesos_common_env_lines,
    plan_quorum_change,
    replicated_log_reset_commands,
    restart_and_wait_command,
    template_path,
)
from pyinfra_mesos.flags import MASTER_ZK_FLAG, env_lines, master_flags, parse_env_lines
from pyinfra_mesos.topology import topology_from_inventory

SERVICE = "mesos-master.service"

topo = topology_from_inventory(inventory)
flags = master_flags(member_named(topo, host.name), topo)
work_dir = flags["work_dir"]
check_work_dir(host.name, "mesos_master_work_dir", work_dir)

plan = plan_quorum_change(
    host.name,
    current_flags=parse_env_lines(host.get_fact(FileContents, path=MESOS_MASTER_ENV), "MESOS"),
    master_count=len(topo.masters),
    replicated_log_exists=bool(host.get_fact(Directory, path=f"{work_dir}/replicated_log")),
    allow_reset=bool(host.data.mesos_allow_replicated_log_reset),
)
was_running = host.get_fact(SystemdStatus, services=[SERVICE]).get(SERVICE, False)

if plan.reset_replicated_log:
    server.shell(
        name="Move the single-master replicated log aside (mesos_allow_replicated_log_reset)",
        commands=replicated_log_reset_commands(work_dir, SERVICE),
    )

files.directory(name="Mesos master work_dir (replicated log)", path=work_dir, mode="0750")
files.directory(name="Mesos log directory", path=flags["log_dir"], mode="0755")

common_env = files.template(
    name="Configure what master and agent share (/etc/default/mesos)",
    src=template_path("mesos-env.j2"),
    dest=MESOS_COMMON_ENV,
    mode="0644",
    source="tasks/mesos_master.py, tasks/mesos_agent.py",
    lines=mesos_common_env_lines(host.data.dict()),
)
master_env = files.template(
    name=f"Configure mesos-master (quorum {plan.new} of {len(topo.masters)})",
    src=template_path("mesos-env.j2"),
    dest=MESOS_MASTER_ENV,
    # Mode 0600: extra flags may carry credentials.
    mode="0600",
    source="tasks/mesos_master.py",
    lines=env_lines("MESOS", flags, omit=[MASTER_ZK_FLAG]),
)
zk_file = files.template(
    name="Point Mesos at ZooKeeper (/etc/mesos/zk)",
    src=template_path("mesos-zk.j2"),
    dest=MESOS_ZK_FILE,
    mode="0644",
    zk_url=flags[MASTER_ZK_FLAG],
)
config_changed = any_changed(common_env, master_env, zk_file)
restart = restart_and_wait_command(
    SERVICE, f"http://{flags['ip']}:{flags['port']}/health",
    int(host.data.mesos_master_restart_wait_s))

if was_running:
    server.shell(
        name="Restart running masters with the new config, one at a time",
        commands=[restart],
        _if=config_changed,
        _serial=True,
    )

systemd.service(
    name="mesos-master enabled and running",
    service=SERVICE,
    running=True,
    enabled=True,
)

if not was_running:
    # A new master: the package may have started it before its config existed.
    server.shell(
        name="Restart new masters with their config, one at a time",
        commands=[restart],
        _if=config_changed,
        _serial=True,
    )
