"""Docker (tasks/docker.py): daemon.json, what a running dockerd is compared against, pulls.

Docker runs on every host with a role in topology.DOCKER_ROLES (agents, Marathon, registry).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from pyinfra_mesos.dpkg import optional_pin_problem, optional_pin_text, package_stamp
from pyinfra_mesos.problems import Problem
from pyinfra_mesos.topology import Topology

DOCKER_DAEMON_JSON = "/etc/docker/daemon.json"
# Debian's docker.io units: the daemon, and the socket that starts it on a connection
# (docker.service Requires= it, so a masked socket keeps the daemon from starting too).
DOCKER_SERVICE = "docker.service"
DOCKER_SOCKET = "docker.socket"
# docker_version's apt preference (written by tasks/common.py, before Docker's first install).
DOCKER_PIN_FILE = "/etc/apt/preferences.d/pyinfra-mesos-docker"


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


def docker_pin_text(data: Mapping[str, Any]) -> str:
    """DOCKER_PIN_FILE's content: `docker_package` at `docker_version`*, or a comment alone
    when docker_version is "" (dpkg.optional_pin_text)."""
    return optional_pin_text([str(data["docker_package"])], str(data.get("docker_version") or ""),
                             "docker_version", "tasks/common.py")


def docker_version_problems(version: object, where: str) -> list[Problem]:
    """Problems with a `docker_version` value (one line each); [] when usable
    (dpkg.optional_pin_problem: "" or a Debian version or its prefix)."""
    message = optional_pin_problem(version, "20.10.24+dfsg1-1+deb12u1")
    return [Problem("error", where, "docker_version", message)] if message else []
