"""The optional private registry (`registry` group): docker-registry runs on each registry host,
listens on that host's cluster address and registry_port, and every Docker host in the cluster
(agents and Marathon hosts, as deploy.py decides) reaches it and trusts it in daemon.json.

Without a `registry` group in the inventory these checks have no hosts and are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pyinfra_mesos.topology import Member, Topology

from .conftest import _topology, data_value, http_get, run_on, service_problem, wait_for

SERVICE = "docker-registry"
DAEMON_JSON = "/etc/docker/daemon.json"
# The roles deploy.py installs Docker for.
DOCKER_ROLES = {"agent", "marathon"}


def docker_hosts(cluster: Topology) -> tuple[Member, ...]:
    return tuple(m for m in cluster.all_members if cluster.roles_of(m.name) & DOCKER_ROLES)


def registry_address(registry: Member) -> str:
    """`ip:port`, the form daemon.json's insecure-registries uses."""
    return f"{registry.ip}:{int(data_value(registry, 'registry_port', 5000))}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per registry host (`registry_host`), and per (Docker host, registry host) pair
    (`docker_and_registry`), ids by inventory name like the per-host fixtures of conftest."""
    cluster = _topology(metafunc.config)
    if "registry_host" in metafunc.fixturenames:
        metafunc.parametrize("registry_host", cluster.registries,
                             ids=[m.name for m in cluster.registries], scope="session")
    if "docker_and_registry" in metafunc.fixturenames:
        pairs = [(d, r) for r in cluster.registries for d in docker_hosts(cluster)]
        metafunc.parametrize("docker_and_registry", pairs,
                             ids=[f"{d.name}->{r.name}" for d, r in pairs], scope="session")


def listening_addresses(host: Any) -> set[str]:
    """Local `address:port` of every listening TCP socket (`ss -Htln`, column 4)."""
    output = run_on(host, "ss -Htln", "list listening TCP sockets")
    return {fields[3] for fields in (line.split() for line in output.splitlines())
            if len(fields) >= 4}


def test_registry_service_active_and_enabled(registry_host: Member,
                                             testinfra_host_for: Callable[[str], Any]) -> None:
    problem = service_problem(testinfra_host_for(registry_host.name), registry_host.name,
                              SERVICE)
    assert problem is None, problem


def test_registry_listens_on_its_cluster_address(registry_host: Member,
                                                 testinfra_host_for: Callable[[str], Any],
                                                 converge_timeout: float) -> None:
    # The registry has no authentication: it must bind the cluster address only, never every
    # interface (0.0.0.0 / [::] would show as `*:5000` or `0.0.0.0:5000`).
    host = testinfra_host_for(registry_host.name)
    address = registry_address(registry_host)
    port = address.rpartition(":")[2]

    def check() -> str | None:
        bound = {a for a in listening_addresses(host) if a.rpartition(":")[2] == port}
        if bound != {address}:
            return f"{registry_host.name}: listeners on port {port} are {sorted(bound)}, " \
                   f"want exactly {address}"
        return None

    problem = wait_for(check, converge_timeout)
    assert problem is None, problem


def test_docker_host_reaches_and_trusts_registry(
        docker_and_registry: tuple[Member, Member],
        testinfra_host_for: Callable[[str], Any], converge_timeout: float) -> None:
    docker_member, registry = docker_and_registry
    host = testinfra_host_for(docker_member.name)
    address = registry_address(registry)

    config = json.loads(run_on(host, f"cat {DAEMON_JSON}", f"{docker_member.name}: read "
                                                          f"{DAEMON_JSON}"))
    insecure = config.get("insecure-registries") or []
    mirrors = config.get("registry-mirrors") or []
    assert address in insecure, (
        f"{docker_member.name}: {DAEMON_JSON} insecure-registries {insecure} lacks {address}")
    assert f"http://{address}" in mirrors, (
        f"{docker_member.name}: {DAEMON_JSON} registry-mirrors {mirrors} lacks http://{address}")

    url = f"http://{address}/v2/"

    def check() -> str | None:
        # The registry API's version check: 200 and `{}` when no auth is configured (401 with
        # auth, which curl --fail reports as an error).
        http_get(host, url, f"{docker_member.name} -> {registry.name}")
        return None

    problem = wait_for(check, converge_timeout)
    assert problem is None, problem
