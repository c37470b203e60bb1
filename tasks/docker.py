"""Docker on agents and Marathon hosts: the distribution's docker.io and its daemon.json."""

from pyinfra import host, inventory
from pyinfra.operations import apt, files, systemd

from pyinfra_mesos.deploy_config import docker_daemon_config, template_path
from pyinfra_mesos.topology import topology_from_inventory

topo = topology_from_inventory(inventory)

apt.packages(
    name="Install Docker",
    packages=[host.data.docker_package],
)

daemon_json = files.template(
    name="Configure Docker registries (daemon.json)",
    src=template_path("docker-daemon.json.j2"),
    dest="/etc/docker/daemon.json",
    mode="0644",
    daemon_config=docker_daemon_config(host.data.dict(), topo),
)

systemd.service(
    name="Docker enabled and running",
    service="docker.service",
    running=True,
    enabled=True,
)

# `command="restart"` rather than `restarted=True`: the latter is skipped when the service was
# not running at planning time, and a fresh docker.io starts itself before daemon.json exists.
systemd.service(
    name="Restart Docker (daemon.json changed), one host at a time",
    service="docker.service",
    command="restart",
    _if=daemon_json.did_change,
    # A Docker restart stops the containers on that host: never on every agent at once.
    _serial=True,
)
