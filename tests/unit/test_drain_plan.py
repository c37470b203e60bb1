"""drain_plan: the pure decisions of `drain` (which host, the schedule, the moves, when a task
counts as replaced), against the bridge's own haproxy.cfg rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyinfra_mesos import drain_plan as plan
from pyinfra_mesos.cli import main
from pyinfra_mesos.haproxy_model import Listener, Server
from pyinfra_mesos.haproxy_render import render
from pyinfra_mesos.topology import build_topology

A1, A2, A3 = "198.51.100.21", "198.51.100.22", "198.51.100.23"


def topo(*agents: str) -> Any:
    return build_topology({
        "masters": [("m1", {"ip": "198.51.100.11", "zookeeper_id": 1})],
        "agents": [(name, {"ip": ip}) for name, ip in zip(agents, (A1, A2, A3), strict=False)],
    })


def test_target_must_be_an_agent_and_not_the_last() -> None:
    assert plan.target_problems(topo("a1", "a2"), "a2", "inv.py") == []
    assert [p.format() for p in plan.target_problems(topo("a1", "a2"), "m1", "inv.py")] == [
        "error: inv.py: m1: not in group `agents` (agents: a1, a2)"]
    (only,) = plan.target_problems(topo("a1"), "a1", "inv.py")
    assert only.format().startswith("error: inv.py: a1: the only agent")


def test_machine_id_is_the_agents_address() -> None:
    assert plan.machine_id(topo("a1", "a2").agents[1]) == {"hostname": A2, "ip": A2}


def test_schedule_keeps_other_windows_and_is_idempotent() -> None:
    other = {"machine_ids": [{"hostname": "x", "ip": A3}],
             "unavailability": {"start": {"nanoseconds": 5}, "duration": {"nanoseconds": 9}}}
    machine = {"hostname": A1, "ip": A1}
    wanted = plan.schedule_with({"windows": [other]}, machine, 7)
    assert wanted == {"windows": [other, {"machine_ids": [machine],
                                          "unavailability": {"start": {"nanoseconds": 7}}}]}
    assert plan.schedule_with({}, machine, 7) == {"windows": wanted["windows"][1:]}
    assert plan.schedule_with(wanted, machine, 99) is None
    upper = {"hostname": A1.upper(), "ip": A1}
    assert plan.schedule_with(wanted, upper, 99) is None  # hostnames compare case-insensitively
    assert plan.schedule_with(wanted, {"hostname": A1}, 99) is not None  # the ip counts


def task(tid: str, host: str, port: int, staged: str = "2024-01-01T00:00:00.000Z",
         state: str = "TASK_RUNNING", alive: bool | None = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": tid, "host": host, "ports": [port], "servicePorts": [10000],
                           "state": state, "stagedAt": staged}
    if alive is not None:
        out["healthCheckResults"] = [{"alive": alive}]
    return out


def app(*tasks: dict[str, Any], instances: int = 2, checks: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": "/web", "instances": instances, "tasks": list(tasks)}
    if checks:
        out["healthChecks"] = [{"protocol": "HTTP", "path": "/"}]
    return out


def test_moves_are_the_drained_hosts_tasks_by_app_oldest_first() -> None:
    apps = [dict(app(task("w.2", A1, 31001, "2024-01-02T00:00:00.000Z"),
                     task("w.1", "a1", 31002), task("w.3", A2, 31003))),
            {"id": "/api", "tasks": [task("p.1", A1, 31004)]}]
    assert plan.moves(apps, {"a1", A1}) == [
        plan.Move("/api", "p.1", (10000,)), plan.Move("/web", "w.1", (10000,)),
        plan.Move("/web", "w.2", (10000,))]


def cfg(*servers: tuple[str, int]) -> str:
    listener = Listener("/web", 10000, 0, tuple(Server(a, p) for a, p in servers), "/")
    return render([listener])


def test_lb_servers_reads_the_bridges_config() -> None:
    assert plan.lb_servers(cfg((A2, 31003), (A3, 31005))) == {
        10000: {f"{A2}:31003", f"{A3}:31005"}}


def test_replaced_only_when_ready_elsewhere_and_routed_by_every_lb() -> None:
    move = plan.Move("/web", "w.1", (10000,))
    drained = {"a1", A1}
    address_of = {"a1": A1, "a2": A2, "a3": A3, A1: A1, A2: A2, A3: A3}
    new, kept = task("w.9", "a3", 31005), task("w.3", A2, 31003)
    good = cfg((A2, 31003), (A3, 31005))

    def why(a: dict[str, Any] | None, lbs: dict[str, str | None]) -> str | None:
        return plan.replaced(a, move, drained, address_of, lbs)

    assert why(app(kept, new), {"a2": good, "a3": good}) is None
    assert why(None, {}) == "/web is gone from Marathon"
    assert why(app(task("w.1", A1, 31001), kept), {}) == "w.1 is still running"
    assert why(app(kept, task("w.9", "a3", 31005, alive=None)), {"a2": good}) == (
        "/web: 1 of 2 instances ready off the drained agent")  # no health result yet
    assert why(app(kept, task("w.9", "a3", 31005, alive=False)), {"a2": good}) is not None
    assert why(app(kept, task("w.9", "a3", 31005, state="TASK_STAGING")), {"a2": good})
    assert why(app(kept, new), {"a2": good, "a3": None}) == (
        "load balancer a3: haproxy.cfg could not be read")
    assert why(app(kept, new), {"a2": cfg((A2, 31003))}) == (
        f"load balancer a2: port 10000 does not route to {A3}:31005 yet")
    assert why(app(kept, new), {"a2": cfg((A1, 31001), (A2, 31003), (A3, 31005))}) == (
        f"load balancer a2: port 10000 still routes to {A1}:31001")
    assert why(app(kept, new), {"a2": render([])}) == (
        "load balancer a2: no listener on service port 10000")
    without_checks = app(task("w.3", A2, 31003, alive=None), task("w.9", A3, 31005, alive=None),
                         checks=False)
    assert why(without_checks, {"a2": good}) is None


def test_a_second_task_on_the_drained_agent_keeps_serving_until_its_own_turn() -> None:
    # Both instances on a1: the first move is done once its replacement serves beside the
    # second, which still runs (and is still routed) on a1 until its own move.
    move = plan.Move("/web", "w.1", (10000,))
    drained, address_of = {"a1", A1}, {"a1": A1, "a2": A2, A1: A1, A2: A2}
    second, new = task("w.2", A1, 31002), task("w.9", A2, 31005)
    both = cfg((A1, 31002), (A2, 31005))
    assert plan.replaced(app(second, new), move, drained, address_of, {"a2": both},
                         pending=["w.2"]) is None
    # Without it pending (the old rule), the second task would hold the first move for good.
    assert plan.replaced(app(second, new), move, drained, address_of, {"a2": both}) == (
        "/web: 1 of 2 instances ready off the drained agent")
    assert plan.replaced(app(second), move, drained, address_of, {"a2": both},
                         pending=["w.2"]) == (
        "/web: 1 of 2 instances ready off the drained agent (and the 1 there still to move)")
    # The moved task's own server must leave the config; the pending one's stays.
    stale = cfg((A1, 31001), (A1, 31002), (A2, 31005))
    assert plan.replaced(app(second, new), move, drained, address_of, {"a2": stale},
                         pending=["w.2"]) == (
        f"load balancer a2: port 10000 still routes to {A1}:31001")


def test_other_active_agents_from_master_state() -> None:
    state = {"slaves": [{"hostname": A1, "pid": f"slave(1)@{A1}:5051", "active": True},
                        {"hostname": A2, "pid": f"slave(1)@{A2}:5051", "active": False},
                        {"hostname": A3, "pid": f"slave(1)@{A3}:5051", "active": True}]}
    assert plan.other_active_agents(state, A1) == [A3]
    assert plan.other_active_agents({"slaves": state["slaves"][:2]}, A1) == []
    # A machine in maintenance (DRAINING: still active in Mesos) is no place to move tasks to.
    status = {"draining_machines": [{"id": {"hostname": A3, "ip": A3}}],
              "down_machines": [{"hostname": A2, "ip": A2}]}
    assert plan.machines_in_maintenance(status) == {A2, A3}
    assert plan.machines_in_maintenance({}) == set()
    assert plan.other_active_agents(state, A1, plan.machines_in_maintenance(status)) == []


def test_drain_cli_refuses_a_host_that_is_no_agent(capsys: Any, tmp_path: Path) -> None:
    inventory = tmp_path / "inv.py"
    inventory.write_text(
        'masters = [("m1", {"ip": "198.51.100.11", "zookeeper_id": 1})]\n'
        f'agents = [("a1", {{"ip": "{A1}"}}), ("a2", {{"ip": "{A2}"}})]\n')
    assert main(["drain", str(inventory), "nohost", "--yes"]) == 1, capsys.readouterr().out
    assert main(["undrain", str(inventory), "nohost"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"error: {inventory}: nohost: not in group `agents` (agents: a1, a2)"] * 2
