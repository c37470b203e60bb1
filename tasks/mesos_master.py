"""Mesos master: env files from the computed flags, the zk URL, a persistent work_dir.

Before anything changes, the current quorum is read from the host: a change of master count that
would need the replicated log wiped is refused unless the operator asked for it. Masters restart
one at a time, each waiting for the previous to answer, so a quorum stays up; already-running
masters restart before new ones start (growing 3 -> 5: the old three get quorum 3 first).
Shrinking 5 -> 3 (apache/mesos docs/operational-guide.md, "Decreasing the quorum size"): the
departed masters were stopped and masked by `python -m pyinfra_mesos remove`; with
mesos_allow_master_removal, and once ZooKeeper lists no departed master as a live log replica,
the remaining three restart with quorum 2 (the same rolling restart, leader last); the log stays.
"""

from pyinfra import host, inventory, state
from pyinfra.operations import server

from pyinfra_mesos.common import check_work_dir, member_named
from pyinfra_mesos.credentials import mesos_secrets
from pyinfra_mesos.deploy.leader_facts import MesosMasterLeadership
from pyinfra_mesos.deploy.log_replicas_fact import MesosLogReplicas
from pyinfra_mesos.deploy.mesos_files import (
    mesos_package_moves,
    mesos_role_files,
    mesos_zk_credentials,
)
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import master_env, replicated_log
from pyinfra_mesos.deploy.private_files import private_directory
from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.deploy.rolling import LeaderQuery, leader_last_restart, rolling_restart
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.deploy.units import unit_states, units_running_enabled
from pyinfra_mesos.flags import (
    MASTER_ZK_FLAG,
    MESOS_CREDENTIALS_FILE,
    master_flags,
    mesos_credentials_json,
    parse_env_lines,
)
from pyinfra_mesos.inventory_loader import cli_inventory_path
from pyinfra_mesos.log_replicas import departed_replica_problems
from pyinfra_mesos.mesos_master import (
    MESOS_MASTER_ENV,
    plan_quorum_change,
    replicated_log_reset_commands,
)
from pyinfra_mesos.mesos_package import mesos_inputs
from pyinfra_mesos.restarts import http_probe

SERVICE = "mesos-master.service"

topo = run_topology(state)
flags = master_flags(member_named(topo, host.name), topo)
work_dir = flags["work_dir"]
check_work_dir(host.name, "mesos_master_work_dir", work_dir)

plan = plan_quorum_change(
    host.name,
    current_flags=parse_env_lines(read_kept(host, master_env()), "MESOS"),
    master_count=len(topo.masters),
    replicated_log_exists=bool(read_kept(host, replicated_log(work_dir))),
    allow_reset=bool(host.data.mesos_allow_replicated_log_reset),
    allow_removal=bool(host.data.mesos_allow_master_removal),
)
if plan.shrinks:
    # Consented (plan_quorum_change refused otherwise): still refused while a departed master
    # is a live replica of the log. Read once per run (pyinfra caches the fact per host) from
    # the first ZooKeeper member, which holds the digests; only in a shrinking run.
    zookeeper = topo.zookeepers[0]
    replicas = inventory.get_host(zookeeper.name).get_fact(
        MesosLogReplicas, mesos_path=str(host.data.zookeeper_mesos_path),
        port=int(zookeeper.data["zookeeper_client_port"]),
        wait_ms=int(host.data.zookeeper_restart_wait_s) * 1000)
    departed = departed_replica_problems(
        replicas, [a for m in topo.masters for a in (m.ip, m.name)], host.name, zookeeper.name,
        cli_inventory_path() or "INVENTORY")
    if departed:
        raise DeployRefused(" ".join(p.format() for p in departed))
was_running = unit_states([SERVICE])[SERVICE].active

if plan.reset_replicated_log:
    server.shell(
        name="Move the single-master replicated log aside (mesos_allow_replicated_log_reset)",
        commands=replicated_log_reset_commands(work_dir, SERVICE),
    )

# Every principal the masters accept: agents and Marathon (CRAM-MD5), the operator (HTTP).
credentials = ({MESOS_CREDENTIALS_FILE: mesos_credentials_json(
    mesos_secrets(host.data.dict(), state.cwd, create=True))}
    if host.data.get("mesos_authentication", True) else {})
if credentials:
    private_directory()

# One operation, one fact on a converged host (deploy/mesos_files.py): directories, env files,
# /etc/mesos/zk and the principals.
config_files = mesos_role_files(
    role_env=MESOS_MASTER_ENV,
    role_env_name=f"Configure mesos-master (quorum {plan.new} of {len(topo.masters)}): "
                  "env files, /etc/mesos/zk, principals (0600), work_dir and log dir",
    flags=flags,
    zk_flag=MASTER_ZK_FLAG,
    source="tasks/mesos_master.py",
    data=host.data.dict(),
    # A master's /etc/mesos/zk carries the Mesos ZooKeeper digest (0600); an agent's does not.
    zk_credentials=mesos_zk_credentials(host.name, topo, host.data.dict(), state.cwd),
    private=credentials,
)

# One fact for running and enabled (deploy/units.py). A master that ran at planning: right after its
# files (the e2e interrupts a run as this starts: files written, none restarted); a new master
# only after every running one restarted (below: growing 3 -> 5, the old three get quorum 3
# first). Every master plans both operations (empty on the hosts they are not for): pyinfra
# orders operations by each host's sequence (api/state.py get_op_order), so only an operation
# the running masters also plan after their turns stays after those turns for the new ones.
units_running_enabled(name="mesos-master enabled and running",
                      units=[SERVICE] if was_running else [])
probe = http_probe(f"http://{flags['ip']}:{flags['port']}/health")
timeout_s = int(host.data.mesos_master_restart_wait_s)
# A package moved to a new mesos_version (tasks/mesos_package.py) rewrites its dpkg stamp, one
# of the inputs: the masters restart as for a config change.
inputs = mesos_inputs(host.data.dict(), "master")

if was_running:
    # Non-leading masters first, the leading master last (one election): one operation per
    # master in inventory order (pyinfra_mesos/deploy/rolling.py says why).
    leader_last_restart(
        name="Restart running masters with the new config",
        members=[m.name for m in topo.masters],
        leader=LeaderQuery(MesosMasterLeadership, {"address": f"{flags['ip']}:{flags['port']}"},
                           "leading Mesos master"),
        service=SERVICE, inputs=inputs, probe=probe, timeout_s=timeout_s,
        changes=config_files, force=mesos_package_moves(),
    )

units_running_enabled(name="mesos-master enabled and running (new masters, after the restarts)",
                      units=[] if was_running else [SERVICE])

if not was_running:
    # A new master: started with its files; restarted only if it runs something older
    # (the package may have started it before its config existed).
    rolling_restart(
        name="Restart new masters whose process predates their config, one at a time",
        service=SERVICE, inputs=inputs, probe=probe, timeout_s=timeout_s,
        _serial=True,
    )
