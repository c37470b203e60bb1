"""The optional private registry (`registry` group): docker-registry runs on each registry host,
listens on that host's cluster address and registry_port, and every Docker host in the cluster
(agents and Marathon hosts, as deploy.py decides) reaches it and trusts it in daemon.json. That
instance is read-only: an anonymous push from a member is refused by the registry itself. The
writable instance (docker-registry-push) listens on the registry host's 127.0.0.1 only.

Without a `registry` group in the inventory these checks have no hosts and are skipped.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

import pytest

from pyinfra_mesos.topology import Member, Topology

from .conftest import (
    REQUEST_TIMEOUT_S,
    _topology,
    data_value,
    http_get,
    run_on,
    service_problem,
    wait_for,
)

SERVICE = "docker-registry"
PUSH_SERVICE = "docker-registry-push"
# What the read-only instance answers any write: distribution 2.8 registers no write method on
# its upload and manifest routes (registry/handlers/blobupload.go, manifests.go), so gorilla's
# MethodHandler answers 405 with the methods it has (tests/unit/test_registry_instances.py pins
# the same answer from Debian's docker-registry 2.8.2).
REFUSED_STATUS = 405
REFUSED_ALLOW = "GET, HEAD"
PROBE_REPOSITORY = "pyinfra-mesos/anonymous-push-probe"
DAEMON_JSON = "/etc/docker/daemon.json"
# The roles deploy.py installs Docker for.
DOCKER_ROLES = {"agent", "marathon"}


def docker_hosts(cluster: Topology) -> tuple[Member, ...]:
    return tuple(m for m in cluster.all_members if cluster.roles_of(m.name) & DOCKER_ROLES)


def registry_address(registry: Member) -> str:
    """`ip:port`, the form daemon.json's insecure-registries uses."""
    return f"{registry.ip}:{int(data_value(registry, 'registry_port', 5000))}"


def push_port(registry: Member) -> int:
    return int(data_value(registry, "registry_push_port", 5001))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per registry host (`registry_host`), per (Docker host, registry host) pair
    (`docker_and_registry`), and per (member, registry host) pair for the anonymous push
    (`member_and_registry`: the Docker hosts and the registry hosts themselves), ids by
    inventory name like the per-host fixtures of conftest."""
    cluster = _topology(metafunc.config)
    if "registry_host" in metafunc.fixturenames:
        metafunc.parametrize("registry_host", cluster.registries,
                             ids=[m.name for m in cluster.registries], scope="session")
    if "docker_and_registry" in metafunc.fixturenames:
        pairs = [(d, r) for r in cluster.registries for d in docker_hosts(cluster)]
        metafunc.parametrize("docker_and_registry", pairs,
                             ids=[f"{d.name}->{r.name}" for d, r in pairs], scope="session")
    if "member_and_registry" in metafunc.fixturenames:
        sources = {m.name: m for m in (*docker_hosts(cluster), *cluster.registries)}
        pairs = [(s, r) for r in cluster.registries for s in sources.values()]
        metafunc.parametrize("member_and_registry", pairs,
                             ids=[f"{s.name}->{r.name}" for s, r in pairs], scope="session")


def anonymous_upload_url(address: str) -> str:
    """Where `docker push` starts a blob upload on the registry at `address` (`ip:port`)."""
    return f"http://{address}/v2/{PROBE_REPOSITORY}/blobs/uploads/"


def anonymous_upload_command(url: str) -> str:
    """curl printing the response head of an anonymous POST to `url` (exit 0 on any HTTP
    status; non-zero when nothing answers)."""
    return f"curl -sS -o /dev/null -D - -X POST --max-time {REQUEST_TIMEOUT_S} {shlex.quote(url)}"


def parse_response_head(text: str) -> tuple[int, dict[str, str]]:
    """`curl -D -` output -> (status, {lower-case header name: value}); the last response's
    head when there are several (an interim 100 Continue). ValueError without a status line."""
    heads = [h for h in text.replace("\r\n", "\n").split("\n\n") if h.startswith("HTTP/")]
    if not heads:
        raise ValueError(f"no HTTP status line in {text[:200]!r}")
    status_line, *lines = heads[-1].split("\n")
    headers = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


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


def test_registry_push_service_active_and_enabled(registry_host: Member,
                                                  testinfra_host_for: Callable[[str], Any]) -> None:
    problem = service_problem(testinfra_host_for(registry_host.name), registry_host.name,
                              PUSH_SERVICE)
    assert problem is None, problem


def test_push_instance_listens_on_127_0_0_1_only(registry_host: Member,
                                                 testinfra_host_for: Callable[[str], Any],
                                                 converge_timeout: float) -> None:
    # The writable instance: reachable only with a login on the registry host (an SSH tunnel).
    host = testinfra_host_for(registry_host.name)
    port = str(push_port(registry_host))
    want = f"127.0.0.1:{port}"

    def check() -> str | None:
        bound = {a for a in listening_addresses(host) if a.rpartition(":")[2] == port}
        if bound != {want}:
            return f"{registry_host.name}: listeners on port {port} are {sorted(bound)}, " \
                   f"want exactly {want}"
        return None

    problem = wait_for(check, converge_timeout)
    assert problem is None, problem
    # And it is a registry (the API's version check answers 200 on the host itself).
    http_get(host, f"http://{want}/v2/", f"{registry_host.name}: the push instance")


def test_anonymous_push_from_a_member_is_refused(
        member_and_registry: tuple[Member, Member],
        testinfra_host_for: Callable[[str], Any]) -> None:
    # The first request of `docker push`: start a blob upload. Sent from a cluster member (the
    # firewall lets it through), without credentials, to the address every daemon pulls from.
    member, registry = member_and_registry
    host = testinfra_host_for(member.name)
    url = anonymous_upload_url(registry_address(registry))
    head = run_on(host, anonymous_upload_command(url),
                  f"{member.name} -> {registry.name}: POST {url}")
    status, headers = parse_response_head(head)
    assert (status, headers.get("allow")) == (REFUSED_STATUS, REFUSED_ALLOW), (
        f"{member.name}: an anonymous blob upload to {registry.name} answered {status} "
        f"(Allow: {headers.get('allow')}), want {REFUSED_STATUS} with Allow: {REFUSED_ALLOW}")
