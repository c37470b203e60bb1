"""Mesos masters: all running, all agree on ONE elected leader, and the leader sees every agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyinfra_mesos.topology import Member, Topology

from .conftest import (
    data_value,
    http_get,
    master_pid_address,
    parse_json_object,
    probe,
    service_problem,
    slave_matches_member,
    wait_for,
    wait_listening,
)


def master_url(member: Member, path: str) -> str:
    # The advertised address, not 127.0.0.1: masters bind to their `ip`, and that address is
    # what agents, Marathon and the other masters use.
    return f"http://{member.ip}:{int(data_value(member, 'mesos_master_port', 5050))}{path}"


def master_state(host: Any, member: Member) -> dict[str, Any]:
    body = http_get(host, master_url(member, "/master/state"), f"{member.name}: /master/state")
    return parse_json_object(body, f"{member.name}: /master/state")


def is_elected(host: Any, member: Member) -> bool:
    body = http_get(host, master_url(member, "/metrics/snapshot"),
                    f"{member.name}: /metrics/snapshot")
    metrics = parse_json_object(body, f"{member.name}: /metrics/snapshot")
    return float(metrics.get("master/elected", 0.0)) == 1.0


def leader_state(cluster: Topology, testinfra_host_for: Callable[[str], Any]) -> dict[str, Any]:
    """/master/state of the elected master, fetched from that master's own host."""
    states = {m.name: probe(lambda m=m: master_state(testinfra_host_for(m.name), m))
              for m in cluster.masters}
    for member in cluster.masters:
        state = states[member.name]
        if isinstance(state, dict) and state.get("leader") and state.get("pid") == state["leader"]:
            return state
    raise AssertionError("no master reports itself as leader (pid == leader): " + ", ".join(
        f"{name}: {s.get('leader') if isinstance(s, dict) else s}" for name, s in states.items()))


def test_mesos_master_service(master: Member, testinfra_host_for: Callable[[str], Any]) -> None:
    problem = service_problem(testinfra_host_for(master.name), master.name, "mesos-master")
    assert problem is None, problem


def test_mesos_master_listens(master: Member, testinfra_host_for: Callable[[str], Any],
                              converge_timeout: float) -> None:
    port = int(data_value(master, "mesos_master_port", 5050))
    problem = wait_listening(testinfra_host_for(master.name), master.name, port,
                             converge_timeout)
    assert problem is None, problem


def test_masters_agree_on_one_elected_leader(cluster: Topology,
                                             testinfra_host_for: Callable[[str], Any],
                                             converge_timeout: float) -> None:
    """Every master names the same leader, and exactly one master is elected: that leader."""

    def check() -> str | None:
        leaders: dict[str, str] = {}
        elected: list[Member] = []
        for member in cluster.masters:
            host = testinfra_host_for(member.name)
            state = master_state(host, member)
            leaders[member.name] = str(state.get("leader") or "")
            if is_elected(host, member):
                elected.append(member)
                if state.get("pid") != state.get("leader"):
                    return (f"{member.name} says master/elected=1 but its pid {state.get('pid')}"
                            f" is not the leader {state.get('leader')}")
        seen = set(leaders.values())
        if "" in seen:
            missing = [n for n, leader in leaders.items() if not leader]
            return f"no leader known to: {', '.join(missing)}"
        if len(seen) != 1:
            return f"masters disagree on the leader: {leaders}"
        if len(elected) != 1:
            return (f"expected exactly one elected master, got {len(elected)}: "
                    f"{[m.name for m in elected]}")
        leader_address = master_pid_address(next(iter(seen)))
        expected = f"{elected[0].ip}:{int(data_value(elected[0], 'mesos_master_port', 5050))}"
        if leader_address != expected:
            # A leader advertising 127.0.1.1 or an unresolvable name is unreachable for others.
            return (f"the leader advertises {leader_address}, other hosts reach "
                    f"{elected[0].name} at {expected}")
        return None

    problem = wait_for(check, converge_timeout)
    assert problem is None, problem


def test_leader_sees_every_agent(cluster: Topology, testinfra_host_for: Callable[[str], Any],
                                 converge_timeout: float) -> None:
    """The leader's activated_slaves equals the inventory's agents, each one present by name/ip."""

    def check() -> str | None:
        state = leader_state(cluster, testinfra_host_for)
        slaves = [s for s in state.get("slaves", []) if s.get("active", True)]
        missing = [a.name for a in cluster.agents
                   if not any(slave_matches_member(s, a) for s in slaves)]
        # activated_slaves is a double in real Mesos (a metrics gauge): compare as float.
        activated = float(state.get("activated_slaves", -1))
        if missing or activated != float(len(cluster.agents)):
            return (f"leader {state.get('leader')}: activated_slaves={activated:g}, inventory "
                    f"agents={len(cluster.agents)}; not registered: {missing or 'none'}; "
                    f"registered: {[s.get('hostname') for s in slaves]}")
        return None

    problem = wait_for(check, converge_timeout)
    assert problem is None, problem
