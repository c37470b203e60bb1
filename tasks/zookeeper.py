"""ZooKeeper ensemble member: Debian's zookeeperd, its myid and a zoo.cfg listing every member.

The data directory's contents are never touched beyond myid.
"""

from io import StringIO

from pyinfra import host, inventory
from pyinfra.facts.files import FileContents, Link
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from pyinfra_mesos.deploy_config import (
    myid_target,
    restart_and_wait_command,
    template_path,
    zookeeper_probe,
    zookeeper_servers,
    zookeeper_settings,
)
from pyinfra_mesos.deploy_facts import UnitEnabledState
from pyinfra_mesos.topology import topology_from_inventory

topo = topology_from_inventory(inventory)
data = host.data.dict()
zookeeper_id = int(host.data.zookeeper_id)
service = f"{host.data.zookeeper_service}.service"

apt.packages(
    name="Install ZooKeeper",
    packages=[host.data.zookeeper_package],
)

# Debian links <dataDir>/myid to /etc/zookeeper/conf/myid: write the link's target so the
# package's layout stays intact.
myid_path = f"{host.data.zookeeper_data_dir}/myid"
myid_file = myid_target(myid_path, host.get_fact(Link, path=myid_path))
if myid_file:
    myid = files.put(
        name=f"Set ZooKeeper myid to {zookeeper_id}",
        src=StringIO(f"{zookeeper_id}\n"),
        dest=myid_file,
        mode="0644",
    )
else:
    # First run: the package is installed by this same run, after planning, so the link (if
    # any) does not exist yet. A shell redirect writes through it either way; later runs take
    # the branch above and change nothing.
    myid = server.shell(
        name=f"Set ZooKeeper myid to {zookeeper_id} (first run)",
        commands=[f"printf '%s\\n' {zookeeper_id} > {myid_path}"],
    )

zoo_cfg_path = f"{host.data.zookeeper_conf_dir}/zoo.cfg"
zoo_cfg = files.template(
    name="Configure the ZooKeeper ensemble (zoo.cfg)",
    src=template_path("zoo.cfg.j2"),
    dest=zoo_cfg_path,
    mode="0644",
    settings=zookeeper_settings(data),
    servers=zookeeper_servers(data, topo),
)

# Debian's zookeeper unit is generated from its SysV script: ask `systemctl is-enabled` (see
# UnitEnabledState) rather than pass enabled=True, which would re-enable it on every run.
if host.get_fact(UnitEnabledState, unit=service) != "enabled":
    systemd.service(name="ZooKeeper enabled at boot", service=service, running=None,
                    enabled=True)

systemd.service(
    name="ZooKeeper running",
    service=service,
    running=True,
)

# The package starts ZooKeeper with its example config before ours is written: restart on any
# change, whether or not it was running at planning time. One member at a time, each back in
# the ensemble before the next goes, so a majority stays up.
in_ensemble = any(line.startswith("server.")
                  for line in host.get_fact(FileContents, path=zoo_cfg_path) or [])
server.shell(
    name="Restart ZooKeeper (zoo.cfg or myid changed), one member at a time",
    commands=[restart_and_wait_command(
        service, zookeeper_probe(int(host.data.zookeeper_client_port), in_ensemble),
        int(host.data.zookeeper_restart_wait_s))],
    _if=any_changed(zoo_cfg, myid),
    _serial=True,
)
