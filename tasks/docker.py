"""Docker on agents and Marathon hosts: the distribution's docker.io and its daemon.json."""

from pyinfra import host, inventory

from pyinfra_mesos.deploy.file_set import file_set
from pyinfra_mesos.deploy.packages import install_missing
from pyinfra_mesos.deploy.rolling import rolling_restart
from pyinfra_mesos.deploy.units import units_running_enabled
from pyinfra_mesos.docker import (
    DOCKER_DAEMON_JSON,
    DOCKER_SERVICE,
    DOCKER_SOCKET,
    docker_daemon_config,
    docker_inputs,
)
from pyinfra_mesos.templates import render_template
from pyinfra_mesos.topology import topology_from_inventory

topo = topology_from_inventory(inventory)

# Written before the package is installed, so dockerd starts with it the first time (no
# restart of a fresh Docker: what a package starts must already have its config).
# One fact on a converged host instead of files.template's three (deploy/file_set.py).
daemon_json = file_set(
    name="Configure Docker registries (daemon.json)",
    files={DOCKER_DAEMON_JSON: render_template(
        "docker-daemon.json.j2", daemon_config=docker_daemon_config(host.data.dict(), topo),
    ).encode()},
)

install_missing(
    name="Install Docker",
    packages=[host.data.docker_package],
)

# The socket with the daemon (docker.service requires it), in the same fact: a host that
# `remove` took out has both masked, and the inventory listing it again unmasks them here.
units_running_enabled(
    name="Docker enabled and running",
    units=[DOCKER_SOCKET, DOCKER_SERVICE],
)

# A later daemon.json change (or a package upgrade) makes a running Docker stale. A Docker
# restart stops the containers on that host: one host at a time, each answering before the next.
rolling_restart(
    name="Restart Docker (daemon.json or package newer than the daemon), one host at a time",
    service=DOCKER_SERVICE,
    inputs=docker_inputs(host.data.dict()),
    probe="docker info >/dev/null 2>&1",
    timeout_s=int(host.data.get("docker_restart_wait_s", 60)),
    changes=[daemon_json],
    _serial=True,
)
