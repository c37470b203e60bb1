"""Mesos agents: running with Docker, and registered with the elected master by agent id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyinfra_mesos.topology import Member, Topology

from .conftest import (
    data_value,
    http_get,
    parse_json_object,
    service_problem,
    wait_for,
    wait_listening,
)
from .test_masters import leader_state


def test_mesos_agent_service(agent: Member, testinfra_host_for: Callable[[str], Any]) -> None:
    problem = service_problem(testinfra_host_for(agent.name), agent.name, "mesos-agent")
    assert problem is None, problem


def test_docker_running(agent: Member, testinfra_host_for: Callable[[str], Any]) -> None:
    # The agent runs with `docker` in --containerizers: without a running dockerd it cannot
    # launch any app task.
    problem = service_problem(testinfra_host_for(agent.name), agent.name, "docker")
    assert problem is None, problem


def test_mesos_agent_listens(agent: Member, testinfra_host_for: Callable[[str], Any],
                             converge_timeout: float) -> None:
    port = int(data_value(agent, "mesos_agent_port", 5051))
    problem = wait_listening(testinfra_host_for(agent.name), agent.name, port, converge_timeout)
    assert problem is None, problem


def test_agent_registered_with_leader(agent: Member, cluster: Topology,
                                      testinfra_host_for: Callable[[str], Any],
                                      converge_timeout: float) -> None:
    host = testinfra_host_for(agent.name)
    port = int(data_value(agent, "mesos_agent_port", 5051))
    url = f"http://{agent.ip}:{port}/state"

    def check() -> str | None:
        agent_id = parse_json_object(http_get(host, url, f"{agent.name}: /state"),
                                     f"{agent.name}: /state").get("id")
        if not agent_id:
            return f"{agent.name}: /state has no agent id yet (not registered)"
        state = leader_state(cluster, testinfra_host_for)
        ids = {s.get("id"): s.get("active", True) for s in state.get("slaves", [])}
        if agent_id not in ids:
            return f"{agent.name}: agent id {agent_id} not among the leader's slaves {sorted(ids)}"
        if not ids[agent_id]:
            return f"{agent.name}: agent id {agent_id} is registered but not active"
        return None

    problem = wait_for(check, converge_timeout)
    assert problem is None, problem
