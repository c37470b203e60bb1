"""Marathon: its Docker image under marathon.service, configured by MARATHON_* variables.

The env file is 0600 and its content never appears in pyinfra's output (operations are named,
so their arguments are not printed): it may hold marathon_http_credentials.
"""

from pyinfra import host, inventory
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from pyinfra_mesos.deploy_config import (
    MARATHON_ENV,
    MARATHON_UNIT,
    http_probe,
    member_named,
    restart_and_wait_command,
    template_path,
)
from pyinfra_mesos.flags import env_lines, marathon_flags
from pyinfra_mesos.topology import topology_from_inventory

SERVICE = "marathon.service"

topo = topology_from_inventory(inventory)
flags = marathon_flags(member_named(topo, host.name), topo)
was_running = host.get_fact(SystemdStatus, services=[SERVICE]).get(SERVICE, False)

env_file = files.template(
    name="Configure Marathon (/etc/default/marathon, mode 0600)",
    src=template_path("mesos-env.j2"),
    dest=MARATHON_ENV,
    mode="0600",
    source="tasks/marathon.py",
    # docker --env-file takes values literally: no shell quoting.
    lines=env_lines("MARATHON", flags, shell_quoted=False),
)

unit = files.template(
    name=f"Install marathon.service ({host.data.marathon_image})",
    src=template_path("marathon.service.j2"),
    dest=MARATHON_UNIT,
    mode="0644",
    container=host.data.marathon_container_name,
    image=host.data.marathon_image,
    env_file=MARATHON_ENV,
)

systemd.daemon_reload(
    name="Reload systemd (marathon.service changed)",
    _if=unit.did_change,
)

systemd.service(
    name="Marathon enabled and running",
    service=SERVICE,
    running=True,
    enabled=True,
)

if was_running:
    # A unit that was not running has just been started with the current files. One instance
    # at a time, each answering /ping before the next goes, so a Marathon leader stays up.
    server.shell(
        name="Restart Marathon (unit, image or env changed), one at a time",
        commands=[restart_and_wait_command(
            SERVICE, http_probe(f"http://{flags['hostname']}:{flags['http_port']}/ping"),
            int(host.data.marathon_restart_wait_s))],
        _if=any_changed(unit, env_file),
        _serial=True,
    )
