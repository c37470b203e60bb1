"""Marathon: every instance runs, answers /ping, all of them name the same leader, and the
leading Mesos master has Marathon's framework connected (it gets offers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyinfra_mesos.topology import Member, Topology

from .conftest import (
    data_value,
    http_get,
    listening_ports,
    marathon_auth,
    parse_json_object,
    probe,
    service_problem,
    wait_for,
)


def marathon_url(member: Member, path: str) -> str:
    return f"http://{member.ip}:{int(data_value(member, 'marathon_http_port', 8080))}{path}"


def credentials(member: Member) -> str:
    return marathon_auth(member)


def test_marathon_service(marathon_host: Member,
                          testinfra_host_for: Callable[[str], Any]) -> None:
    problem = service_problem(testinfra_host_for(marathon_host.name), marathon_host.name,
                              "marathon")
    assert problem is None, problem


def test_marathon_listens_and_pongs(marathon_host: Member,
                                    testinfra_host_for: Callable[[str], Any],
                                    converge_timeout: float) -> None:
    # Readiness is the port and /ping, not `systemctl is-active`: a container unit reports
    # active before the process inside has bound its port (or died).
    host = testinfra_host_for(marathon_host.name)
    port = int(data_value(marathon_host, "marathon_http_port", 8080))

    def check() -> str | None:
        if port not in listening_ports(host):
            return f"{marathon_host.name}: nothing listens on {port}"
        body = http_get(host, marathon_url(marathon_host, "/ping"), f"{marathon_host.name}: /ping",
                        credentials(marathon_host)).strip()
        return None if body == "pong" else f"{marathon_host.name}: /ping answered {body[:100]!r}"

    problem = wait_for(check, converge_timeout)
    assert problem is None, problem


def test_marathon_instances_agree_on_leader(cluster: Topology,
                                            testinfra_host_for: Callable[[str], Any],
                                            converge_timeout: float) -> None:
    def check() -> str | None:
        leaders: dict[str, Any] = {}
        for member in cluster.marathons:
            host = testinfra_host_for(member.name)
            what = f"{member.name}: /v2/leader"
            answer = probe(lambda h=host, m=member, w=what: parse_json_object(
                http_get(h, marathon_url(m, "/v2/leader"), w, credentials(m)), w))
            leaders[member.name] = (str(answer) if isinstance(answer, AssertionError)
                                    else answer.get("leader"))
        values = set(leaders.values())
        if len(values) == 1 and all(isinstance(v, str) and ":" in v for v in values):
            return None
        return f"Marathon instances do not agree on one leader: {leaders}"

    problem = wait_for(check, converge_timeout)
    assert problem is None, problem


def test_marathon_framework_is_connected_to_the_leading_master(
        cluster: Topology, testinfra_host_for: Callable[[str], Any],
        converge_timeout: float) -> None:
    """One `marathon` framework, active and connected on the leading master. A framework whose
    libprocess address the master cannot reach (LIBPROCESS_IP unset: 127.0.1.1) is listed but
    not connected, and gets no offers: apps would never launch."""
    from .test_masters import leader_state

    def check() -> str | None:
        state = leader_state(cluster, testinfra_host_for)
        frameworks = [f for f in state.get("frameworks", []) if f.get("name") == "marathon"]
        if len(frameworks) != 1:
            return (f"leader {state.get('leader')}: expected one marathon framework, got "
                    f"{[(f.get('id'), f.get('pid')) for f in frameworks]}")
        framework = frameworks[0]
        if not (framework.get("active") and framework.get("connected")):
            return (f"marathon framework {framework.get('id')} at {framework.get('pid')}: "
                    f"active={framework.get('active')} connected={framework.get('connected')}"
                    " (the master cannot reach its advertised address: no offers)")
        return None

    problem = wait_for(check, converge_timeout)
    assert problem is None, problem
