"""Docker (tasks/docker.py): daemon.json, what a running dockerd is compared against, pulls.

Docker runs on every host with a role in topology.DOCKER_ROLES (agents, Marathon, registry).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from pyinfra_mesos.dpkg import package_stamp
from pyinfra_mesos.topology import Topology

DOCKER_DAEMON_JSON = "/etc/docker/daemon.json"
# Debian's docker.io units: the daemon, and the socket that starts it on a connection
# (docker.service Requires= it, so a masked socket keeps the daemon from starting too).
DOCKER_SERVICE = "docker.service"
DOCKER_SOCKET = "docker.socket"


def docker_daemon_config(data: Mapping[str, Any], topo: Topology) -> dict[str, list[str]]:
    """daemon.json: trusted plain-HTTP registries and mirrors, plus the `registry` group's host."""
    insecure = list(data.get("docker_insecure_registries") or [])
    mirrors = list(data.get("docker_registry_mirrors") or [])
    for member in topo.registries:
        address = f"{member.ip}:{member.data.get('registry_port', data['registry_port'])}"
        insecure.append(address)
        mirrors.append(f"http://{address}")
    config: dict[str, list[str]] = {}
    if insecure:
        config["insecure-registries"] = list(dict.fromkeys(insecure))
    if mirrors:
        config["registry-mirrors"] = list(dict.fromkeys(mirrors))
    return config


def docker_inputs(data: Mapping[str, Any]) -> list[str]:
    return [DOCKER_DAEMON_JSON, package_stamp(str(data["docker_package"]))]


def docker_pull_command(image: str, key: str) -> str:
    """Pull `image` once, with one clear line naming the data key when it cannot be pulled (the
    service itself then never depends on the registry at start)."""
    quoted = shlex.quote(image)
    message = shlex.quote(f"cannot pull {image} ({key}): check the name, and that this host "
                          "reaches its registry or mirror")
    return f"docker pull -q {quoted} >/dev/null || {{ echo {message} >&2; exit 1; }}"
