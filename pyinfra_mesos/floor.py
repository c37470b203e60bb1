"""What a host must at least install and pull for its roles: the deploy's own package set.

One place for the per-role package list, so the benchmark's floor (sandbox/bench/) and the
deploy's tasks cannot drift apart: tasks/common.py installs them all in one transaction
(first_install.py). The order is the order of the components in deploy.py (common's
base_packages, firewall, docker, zookeeper, haproxy, registry) and aventer-mesos last.

Shapes: ``roles`` is a set of topology role names (pyinfra_mesos/topology.py ``roles_of``:
master, agent, zookeeper, marathon, load_balancer, registry); ``data`` is a host's merged pyinfra
data (group_data/all.py keys). No host is touched here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyinfra_mesos.mesos_package import MESOS_KEYRING, mesos_repo_files
from pyinfra_mesos.topology import DOCKER_ROLES, MESOS_ROLES

# Debian's registry, installed under this name by tasks/common.py and configured by
# tasks/registry.py (no group_data key for it).
REGISTRY_PACKAGE = "docker-registry"
# Debian's unit for it (tasks/registry.py configures it; first_install.py holds it until then).
REGISTRY_SERVICE = "docker-registry.service"
# This deploy's second, writable instance (tasks/registry.py).
REGISTRY_PUSH_SERVICE = "docker-registry-push.service"
FIREWALL_PACKAGE = "nftables"


def runs_docker(roles: Iterable[str]) -> bool:
    """Agents run app containers, Marathon hosts run Marathon's container (deploy.py)."""
    return bool(set(roles) & DOCKER_ROLES)


def needs_mesos_repo(roles: Iterable[str]) -> bool:
    """Masters and agents install aventer-mesos from its own apt repository (deploy.py)."""
    return bool(set(roles) & MESOS_ROLES)


def packages_for(roles: Iterable[str], data: Mapping[str, Any]) -> list[str]:
    """The apt packages a host with ``roles`` gets, in deploy order, each once.

    A host with no role gets nothing (deploy.py includes no task for it). KeyError names a
    group_data key missing from ``data``.
    """
    roles = set(roles)
    if not roles:
        return []
    wanted: list[str] = list(data["base_packages"])
    if data["firewall_enabled"] is True:
        wanted.append(FIREWALL_PACKAGE)  # tasks/firewall.py loads its rules
    if runs_docker(roles):
        wanted.append(str(data["docker_package"]))
    if "zookeeper" in roles:
        wanted.append(str(data["zookeeper_package"]))
    if "load_balancer" in roles:
        wanted.append(str(data["haproxy_package"]))
    if "registry" in roles:
        wanted.append(REGISTRY_PACKAGE)
    if needs_mesos_repo(roles):
        # From its own repository, which tasks/common.py sets up before the refresh.
        wanted.append(str(data["mesos_package"]))
    return list(dict.fromkeys(wanted))


def app_images(apps: Iterable[Mapping[str, Any]]) -> list[str]:
    """The container images of Marathon app definitions (``container.docker.image``, the field
    Marathon 1.10 reads for both DOCKER and MESOS containers), sorted, each once."""
    found: set[str] = set()
    for app in apps:
        container = app.get("container") or {}
        docker = container.get("docker") if isinstance(container, Mapping) else None
        image = docker.get("image") if isinstance(docker, Mapping) else None
        if isinstance(image, str) and image:
            found.add(image)
    return sorted(found)


def images_for(roles: Iterable[str], data: Mapping[str, Any],
               apps_images: Iterable[str]) -> list[str]:
    """The images a host with ``roles`` pulls: Marathon's on Marathon hosts (tasks/marathon.py),
    the apps' on agents (Mesos' Docker containerizer pulls them when a task lands there)."""
    roles = set(roles)
    images: list[str] = []
    if "marathon" in roles:
        images.append(str(data["marathon_image"]))
    if "agent" in roles:
        images.extend(apps_images)
    return list(dict.fromkeys(images))


__all__ = ["MESOS_KEYRING", "REGISTRY_PACKAGE", "REGISTRY_PUSH_SERVICE", "REGISTRY_SERVICE",
           "app_images", "images_for",
           "mesos_repo_files", "needs_mesos_repo", "packages_for", "runs_docker"]
