"""ZooKeeper ensemble member: Debian's zookeeperd, its myid and a zoo.cfg listing every member.

The data directory's contents are never touched beyond myid.
"""

from pyinfra import host, inventory, state
from pyinfra.api.host import Host
from pyinfra.operations import server, systemd

from pyinfra_mesos.credentials import zookeeper_credentials
from pyinfra_mesos.deploy.backup_op import plan_backup_before_upgrade, zookeeper_upgrade_reasons
from pyinfra_mesos.deploy.file_set import Dir, file_set
from pyinfra_mesos.deploy.leader_facts import ZookeeperLeadership
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import (
    packages,
    zookeeper_config,
    zookeeper_enabled,
    zookeeper_myid,
)
from pyinfra_mesos.deploy.private_files import claim_private_directory
from pyinfra_mesos.deploy.rolling import LeaderQuery, leader_last_restart, rolling_restart
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.deploy.units import units_running
from pyinfra_mesos.deploy.zk_acl_op import read_zookeeper_acls, zookeeper_acls
from pyinfra_mesos.templates import render_template
from pyinfra_mesos.zk_acl import AUTH_FILE, acl_member, auth_file_content, wanted_trees
from pyinfra_mesos.zookeeper import (
    myid_target,
    zookeeper_inputs,
    zookeeper_probe,
    zookeeper_restart_waits_for_mode,
    zookeeper_servers,
    zookeeper_settings,
)
from pyinfra_mesos.zookeeper_package import move_command, zookeeper_moves, zookeeper_packages

topo = run_topology(state)
data = host.data.dict()
zookeeper_id = int(host.data.zookeeper_id)
service = f"{host.data.zookeeper_service}.service"

# Debian's package starts ZooKeeper on install with its example (standalone) config.
# tasks/common.py installs it with the unit masked (first_install.py), so it never runs that
# config, not even for the moment a killed run could freeze (a standalone member splits the
# ensemble); it is unmasked below once zoo.cfg and myid are written. A run killed while it is
# masked unmasks it on the next run.
installed = host.data.zookeeper_package in (read_kept(host, packages()) or {})
enabled_state = read_kept(host, zookeeper_enabled(data))

# zookeeper_version's pin was written by tasks/common.py (before the install read it).
zookeeper_version = str(host.data.get("zookeeper_version") or "")

if installed and zookeeper_moves(read_kept(host, packages()),
                                 host.data.zookeeper_package, zookeeper_version):
    # A ZooKeeper backup on the operator's machine first when this member runs (deploy/
    # backup_op.py), then the packages with the unit masked: the running member keeps serving
    # until its turn in the rolling restart below, which the packages' new dpkg stamps call for.
    plan_backup_before_upgrade(zookeeper_upgrade_reasons())
    server.shell(
        name=f"Move ZooKeeper to the pinned {zookeeper_version} (unit masked: no restart here)",
        commands=[move_command(service, zookeeper_packages(host.data.zookeeper_package),
                              zookeeper_version)],
    )

# The first member also holds the digests that set the ACLs (below): root's only, in the same set.
sets_acls = acl_member(data, topo.zookeepers, host.name)

# Debian links <dataDir>/myid to /etc/zookeeper/conf/myid: write the link's target so the
# package's layout stays intact.
myid_read = zookeeper_myid(data)
myid_path = myid_read[1]["path"]
myid_file = myid_target(myid_path, read_kept(host, myid_read))
myid_first_run = None
if not myid_file:
    # First run: the package is installed by this same run, after planning, so the link (if
    # any) does not exist yet. A shell redirect writes through it either way; later runs write
    # the link's target in the set below and change nothing.
    myid_first_run = server.shell(
        name=f"Set ZooKeeper myid to {zookeeper_id} (first run)",
        commands=[f"printf '%s\\n' {zookeeper_id} > {myid_path}"],
    )

# zoo.cfg and myid (and the ACL digests on the first member) are one set: one fact on a
# converged host instead of files.put's and files.template's three each (deploy/file_set.py).
zoo_cfg_path = zookeeper_config(data)[1]["path"]
zk_files = {zoo_cfg_path: render_template(
    "zoo.cfg.j2", settings=zookeeper_settings(data),
    servers=zookeeper_servers(data, topo)).encode()}
zk_modes: dict[str, str] = {}
zk_dirs: dict[str, Dir] = {}
if myid_file:
    zk_files[myid_file] = f"{zookeeper_id}\n".encode()
if sets_acls:
    mesos = zookeeper_credentials(data, state.cwd, "mesos", create=True)
    marathon = zookeeper_credentials(data, state.cwd, "marathon", create=True)
    zk_files[AUTH_FILE] = auth_file_content(mesos, marathon).encode()
    zk_modes[AUTH_FILE] = "0600"
    zk_dirs = claim_private_directory()
    acl_trees = wanted_trees(data, mesos, marathon)
    # Read now, in the background, while each host loads the deploy on its own: the ACL
    # operation below takes this answer when this host ran nothing in between. (Started
    # earlier, before the planning reads, it gained nothing measured: its JVM then competes
    # with them for the operator machine's and the host's CPU.)
    read_zookeeper_acls(acl_trees, int(host.data.zookeeper_client_port))
zk_config = file_set(
    name="Configure the ZooKeeper ensemble (zoo.cfg"
         + (f", myid {zookeeper_id}" if myid_file else "")
         + (", the digests for setting the ACLs (0600, content not shown)" if sets_acls else "")
         + ")",
    files=zk_files,
    modes=zk_modes,
    directories=zk_dirs,
)

if not installed or enabled_state == "masked":
    server.shell(name="Let ZooKeeper start, now configured (unmask)",
                 commands=[f"systemctl unmask {service}"])

# Debian's zookeeper unit is generated from its SysV script: ask `systemctl is-enabled` (see
# UnitEnabledState) rather than pass enabled=True, which would re-enable it on every run.
if enabled_state != "enabled":
    systemd.service(name="ZooKeeper enabled at boot", service=service, running=None,
                    enabled=True)

# The package starts ZooKeeper with its example config before ours is written: restart on any
# change, whether or not it was running at planning time. One member at a time, each back in
# the ensemble before the next goes, so a majority stays up.
#
# Members that already ran in an ensemble (their zoo.cfg had server.N lines at planning time)
# restart first, in an operation of their own; new members (first deploy, or growing the
# ensemble 3 -> 5) start with the full zoo.cfg only after every existing member has it. pyinfra
# runs one operation on every host before the next, but a _serial operation visits its hosts in
# no fixed order: in one shared operation, new members 4 and 5 could start with the 5-member
# list while 1..3 still have the 3-member one, and the first old member restarted would then
# find 3 of 5 votes with 4 and 5 alone and lead an ensemble of its own (split brain).
# Nor is a new member started before that ("ZooKeeper running" comes last) for the same reason.


def server_lines(member: Host) -> list[str]:
    """The server.N lines of a member's zoo.cfg as it is now ([] before it joined an ensemble)."""
    return [line for line in read_kept(member, zookeeper_config(member.data.dict())) or []
            if line.startswith("server.")]


current_servers = server_lines(host)
in_ensemble = bool(current_servers)
# A new member joining an ensemble that is already formed (growing it) must be back as leader or
# follower (`srvr`) before the next one starts, like a restarted member; only when no member has
# an ensemble yet (first deploy) is `ruok` all a restart can wait for.
ensemble_formed = in_ensemble or any(
    server_lines(inventory.get_host(m.name)) for m in topo.zookeepers if m.name != host.name)
probe = zookeeper_probe(int(host.data.zookeeper_client_port),
                        zookeeper_restart_waits_for_mode(
                            current_servers, zookeeper_servers(data, topo), ensemble_formed))
# A member runs stale config when it started before zoo.cfg, myid or its package was written:
# changed in this run, a run killed before its restart, or the package's own start on install.
# Two calls, not one with two names: each call is its own operation, run on every host before
# the next (see above).
restart = {"service": service, "inputs": zookeeper_inputs(data), "probe": probe,
           "timeout_s": int(host.data.zookeeper_restart_wait_s),
           "changes": [zk_config] + ([myid_first_run] if myid_first_run else [])}
if in_ensemble:
    # Followers first, the leader last (restarting the leader forces an election: once). One
    # operation per member in inventory order (deploy/rolling.py says why); a new member's turn is
    # empty here, it starts in the operation below.
    leader_last_restart(
        name="Restart ZooKeeper ensemble members (zoo.cfg, myid or package newer)",
        members=[m.name for m in topo.zookeepers],
        leader=LeaderQuery(ZookeeperLeadership,
                           {"port": int(host.data.zookeeper_client_port)}, "ZooKeeper leader"),
        **restart)
else:
    rolling_restart(
        name="Restart ZooKeeper new members with the ensemble's zoo.cfg, one at a time",
        _serial=True, **restart)

units_running(name="ZooKeeper running", units=[service])

# /mesos and /marathon get the ACLs Mesos and Marathon give the nodes they create (zk_acl.py),
# once per run from the first member (inventory order): after every member runs its zoo.cfg
# (the operations above ran on every host first) and before deploy.py includes any Mesos or
# Marathon task, so no service without credentials can create a base path open first, and
# nodes of a cluster deployed before ACLs are closed. Reading the ACLs needs the digests
# (ZooKeeper 3.8 hides digest ids from non-ADMIN clients): they are in a root-only file there,
# written by the set above.
if sets_acls:
    zookeeper_acls(
        name="ZooKeeper ACLs on the Mesos and Marathon paths (first member)",
        trees=acl_trees,
        port=int(host.data.zookeeper_client_port),
        wait_s=int(host.data.zookeeper_restart_wait_s),
    )
