"""A host's packages in one apt transaction, with every service they bring held until configured.

Installing component by component makes each host wait for every other host's install before
its next one (pyinfra runs an operation on every host before the next): the agents sat idle
through the masters' ZooKeeper install. So tasks/common.py installs, in one transaction per
host, every package of the host's roles (floor.packages_for), aventer-mesos with the others:
its key, sources line and pin are written before the one refresh of the lists (apt_lists.py).

A package installed that early must not start its service with the package's default config
(ZooKeeper's example config is standalone: a member running it splits the ensemble) nor before
the host firewall is loaded (docker-registry listens on every address). So the units of each
package not yet installed are masked first; each component's task file unmasks and starts them
once its files are written (deploy/units.py `units_running_enabled`, tasks/zookeeper.py).
Debian's maintainer scripts leave such a mask alone: `deb-systemd-helper unmask` removes only
masks it made itself, and `deb-systemd-invoke` does not start a unit that is not enabled
(init-system-helpers, script/deb-systemd-helper and script/deb-systemd-invoke).

Shapes: ``roles`` are topology role names, ``data`` a host's merged pyinfra data (group_data/
all.py keys), as for floor.packages_for. No host is touched here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyinfra_mesos.docker import DOCKER_SERVICE, DOCKER_SOCKET
from pyinfra_mesos.floor import REGISTRY_PACKAGE, REGISTRY_SERVICE
from pyinfra_mesos.haproxy_bridge import HAPROXY_SERVICE
from pyinfra_mesos.topology import DOCKER_ROLES


def held_units(data: Mapping[str, Any]) -> dict[str, tuple[tuple[str, ...], frozenset[str]]]:
    """``{package: ((unit, ...), roles)}``: the units each package's postinst would start, and
    the roles whose task file configures and starts them (topology.ROLE_TASKS). A host with
    one of those roles keeps them masked from before the install until that task file runs;
    on any other host (the package named in `base_packages`, say) nothing would unmask them,
    so they are not held. Docker's socket with its service (the socket would start dockerd on
    first use, before daemon.json). aventer-mesos is not listed: it ships no maintainer
    scripts and starts nothing (docs/REAL-CONTRACTS.md)."""
    return {
        str(data["docker_package"]): ((DOCKER_SOCKET, DOCKER_SERVICE), frozenset(DOCKER_ROLES)),
        str(data["zookeeper_package"]): ((f"{data['zookeeper_service']}.service",),
                                         frozenset({"zookeeper"})),
        str(data["haproxy_package"]): ((HAPROXY_SERVICE,), frozenset({"load_balancer"})),
        REGISTRY_PACKAGE: ((REGISTRY_SERVICE,), frozenset({"registry"})),
    }


def units_to_hold(missing: Iterable[str], data: Mapping[str, Any],
                  roles: Iterable[str]) -> list[str]:
    """The units to mask before installing the packages ``missing`` (names not installed yet)
    on a host with ``roles``, in package order, each once."""
    holds = held_units(data)
    roles = set(roles)
    return list(dict.fromkeys(unit for name in missing if name in holds
                              and holds[name][1] & roles for unit in holds[name][0]))
