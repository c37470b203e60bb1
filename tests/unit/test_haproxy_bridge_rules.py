"""One test per bridge rule (haproxy_model, haproxy_resolve, haproxy_apply.bindable): strict
whole-string patterns, per-task health, ports by network mode, bounded resolution, ports the
host holds. The whole-file behaviour is in test_haproxy_bridge_golden.py."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from pyinfra_mesos import haproxy_apply, haproxy_model, haproxy_resolve
from pyinfra_mesos.haproxy_model import Listener, Server


@pytest.mark.parametrize(("value", "ok"), [
    ("/web", True), ("/group/api.v2", True), ("/a-b/c1", True),
    ("/web\n", False), ("/web\n    bind :22", False), ("web", False), ("/Web", False),
    ("/café", False), ("/a_b", False), ("/-a", False), ("/a-", False), ("/a..b", False),
    ("/", False), ("", False), (5, False), (None, False)])
def test_app_id_pattern_whole_string(value: Any, ok: bool) -> None:
    assert haproxy_model.valid_app_id(value) is ok


@pytest.mark.parametrize(("value", "ok"), [
    ("agent-1.example.net", True), ("10.0.0.5", True), ("2001:db8::1", True),
    ("agent_1", True), ("agent-1.example.net.", True),
    ("agent-1\n", False), ("a b", False), ("a\nlisten x", False), ("-agent", False),
    ("fe80::1%eth0", False), ("a" * 64, False), ("", False), (7, False)])
def test_host_pattern_whole_string(value: Any, ok: bool) -> None:
    assert haproxy_model.valid_host(value) is ok


@pytest.mark.parametrize(("value", "ok"), [(1, True), (65535, True), (0, False),
                                           (65536, False), (True, False), ("80", False)])
def test_port_values(value: Any, ok: bool) -> None:
    assert haproxy_model.valid_port(value) is ok


def test_ip_literal_canonical_and_strict() -> None:
    assert haproxy_model.ip_literal("2001:DB8:0::1") == "2001:db8::1"
    assert haproxy_model.ip_literal("10.0.0.1\n") is None
    assert haproxy_model.ip_literal("010.0.0.1") is None  # ambiguous octal form refused


def task(state: str = "TASK_RUNNING", results: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": "t", "host": "10.0.0.1", "ports": [31000], "state": state}
    if results is not None:
        out["healthCheckResults"] = results
    return out


@pytest.mark.parametrize(("results", "checks", "up"), [
    ([{"alive": True}], 1, True),
    ([None], 1, False),
    (["alive"], 1, False),
    ([{"alive": "true"}], 1, False),
    ([{"alive": True}, {"alive": False}], 2, False),
    ([{"alive": True}], 2, False),  # a check without a result yet is not healthy
    ([], 1, False),
    (None, 0, True),
])
def test_task_health(results: Any, checks: int, up: bool) -> None:
    assert haproxy_model.task_is_up(task(results=results), checks) is up


def test_only_running_tasks() -> None:
    for state in ("TASK_STAGING", "TASK_KILLING", "TASK_LOST", "TASK_UNREACHABLE"):
        assert not haproxy_model.task_is_up(task(state), 0)


def test_unknown_health_after_leader_change_keeps_running_tasks() -> None:
    app = {"healthChecks": [{"protocol": "TCP"}]}
    assert haproxy_model.health_checks_in_force(app, [task(), task(results=[])]) == 0
    assert haproxy_model.health_checks_in_force(app, [task(), task(results=[None])]) == 1


def app_with(tasks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": "/shop", "portDefinitions": [{"port": 10010}], "tasks": tasks, **extra}


def test_bad_task_drops_that_task_not_the_app() -> None:
    good = task(results=[{"alive": True}])
    good["host"] = "10.0.0.2"
    broken = [task(results=[None]), {"id": "x", "host": None}, "junk",
              {"id": "y", "host": "10.0.0.3", "ports": "31000", "state": "TASK_RUNNING"}]
    listeners = haproxy_model.build_listeners(
        {"apps": [app_with([good, *broken], healthChecks=[{"protocol": "TCP"}])]})
    assert [lst.servers for lst in listeners] == [(Server("10.0.0.2", 31000),)]


def container_app(mappings: list[dict[str, Any]], ips: list[str],
                  ports: list[int]) -> dict[str, Any]:
    return {"id": "/c", "networks": [{"mode": "container", "name": "n"}],
            "container": {"type": "DOCKER", "portMappings": mappings},
            "tasks": [{"id": "c.1", "host": "10.0.0.9", "ports": ports, "state": "TASK_RUNNING",
                       "ipAddresses": [{"ipAddress": ip} for ip in ips]}]}


def test_container_mode_routes_to_task_ip_and_container_port_never_by_position() -> None:
    # The first mapping has no hostPort, so task.ports holds only the second's host port:
    # matching by position would send servicePort 10001's traffic to 10.0.0.9:31007.
    app = container_app([{"containerPort": 80, "servicePort": 10001},
                         {"containerPort": 90, "hostPort": 0, "servicePort": 10002}],
                        ["192.0.2.5"], [31007])
    listeners = haproxy_model.build_listeners({"apps": [app]})
    assert [(lst.service_port, lst.servers) for lst in listeners] == [
        (10001, (Server("192.0.2.5", 80),)), (10002, (Server("192.0.2.5", 90),))]


def test_bridge_mode_uses_host_ports_by_mapping_index() -> None:
    app = {"id": "/b", "networks": [{"mode": "container/bridge"}],
           "container": {"portMappings": [{"containerPort": 80, "hostPort": 0,
                                           "servicePort": 10003}]},
           "tasks": [{"id": "b.1", "host": "10.0.0.9", "ports": [31009],
                      "state": "TASK_RUNNING"}]}
    (listener,) = haproxy_model.build_listeners({"apps": [app]})
    assert listener.servers == (Server("10.0.0.9", 31009),)


def test_network_modes() -> None:
    assert haproxy_model.network_mode({}) == "host"
    assert haproxy_model.network_mode({"networks": [{"mode": "host"}]}) == "host"
    assert haproxy_model.network_mode({"networks": [{"name": "x"}]}) == "container"
    assert haproxy_model.network_mode(
        {"container": {"docker": {"network": "BRIDGE"}}}) == "container/bridge"
    assert haproxy_model.network_mode(
        {"container": {"docker": {"network": "USER"}}}) == "container"


def test_reserved_service_port_skipped_not_swapped() -> None:
    app = app_with([task()])
    app["portDefinitions"] = [{"port": 22}, {"port": 10011}]
    app["tasks"][0]["ports"] = [31000, 31001]
    listeners = haproxy_model.build_listeners({"apps": [app]}, reserved={22})
    assert [(lst.service_port, lst.servers) for lst in listeners] == [
        (10011, (Server("10.0.0.1", 31001),))]


def test_http_check_path_for_its_port_index_only() -> None:
    app = {"healthChecks": [{"protocol": "HTTP", "path": "/h", "portIndex": 1}]}
    assert haproxy_model.http_check_path(app, 1) == "/h"
    assert haproxy_model.http_check_path(app, 0) is None
    assert haproxy_model.http_check_path({"healthChecks": [{"protocol": "TCP"}]}, 0) is None
    assert haproxy_model.http_check_path(
        {"healthChecks": [{"protocol": "HTTP", "path": "/h\n    x"}]}, 0) is None


# -- resolution ----------------------------------------------------------------------------------


def test_resolution_bounded_in_total_and_others_kept() -> None:
    release = threading.Event()

    def lookup(name: str) -> list[str]:
        if name == "hangs.example":
            release.wait(30)  # a resolver that never answers
        return ["192.0.2.10", "192.0.2.9", "2001:db8::1"]

    started = time.monotonic()
    try:
        out = haproxy_resolve.resolve_all(["hangs.example", "fine.example", "10.0.0.1"],
                                          timeout_s=0.5, lookup=lookup)
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert out == {"hangs.example": None, "fine.example": "192.0.2.9", "10.0.0.1": "10.0.0.1"}


def test_real_resolver_localhost_and_invalid_name() -> None:
    out = haproxy_resolve.resolve_all(["localhost", "agent.example.invalid"], timeout_s=5)
    assert out["localhost"] in ("127.0.0.1", "::1")
    assert out["agent.example.invalid"] is None


def test_unresolved_server_dropped_listener_kept() -> None:
    listener = Listener("/a", 10020, 0, (Server("x.invalid", 1), Server("10.0.0.1", 2)))
    (out,) = haproxy_resolve.resolve_listeners(
        [listener], lookup=lambda name: (_ for _ in ()).throw(OSError("NXDOMAIN")))
    assert out.servers == (Server("10.0.0.1", 2),)


def test_stable_pick_prefers_lowest_ipv4() -> None:
    assert haproxy_resolve.pick(["2001:db8::1", "192.0.2.20", "192.0.2.3"]) == "192.0.2.3"
    assert haproxy_resolve.pick(["2001:db8::2", "2001:db8::1"]) == "2001:db8::1"
    assert haproxy_resolve.pick([]) is None


# -- ports the host holds ------------------------------------------------------------------------


def test_port_held_by_another_program_is_detected() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert haproxy_apply.port_taken(port)
        listeners = [Listener("/a", port, 0, ()), Listener("/b", port, 0, ())]
        # A port in HAProxy's own running config is its own, not probed.
        assert haproxy_apply.bindable(listeners, own_ports=set()) == []
        assert haproxy_apply.bindable(listeners, own_ports={port}) == listeners
    assert not haproxy_apply.port_taken(port)


def test_bound_ports_and_listen_names_of_a_config() -> None:
    text = "listen a_1\n    bind :10001\n\nlisten b_2\n    bind :10002\n"
    assert haproxy_apply.bound_ports(text) == {10001, 10002}
    assert haproxy_apply.listen_names(text) == {"a_1", "b_2"}
    assert haproxy_apply.bound_ports(None) == set()
