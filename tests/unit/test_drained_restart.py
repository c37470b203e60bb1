"""Docker's restart on an agent (deploy/drained_restart.py, tasks/docker.py): its Marathon tasks
moved off first and its machine back in service after; the docker_version pin and move; the
drain's schedule and Marathon steps (drain.py, drain_plan.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pyinfra.context import ctx_host
from test_tasks_haproxy_registry import file_set_in_place
from test_tasks_harness import fake_host, group_defaults, op_named, plan, prepared, started

from pyinfra_mesos import drain, drain_plan
from pyinfra_mesos.deploy import drained_restart as dr
from pyinfra_mesos.docker import (
    DOCKER_DAEMON_JSON,
    DOCKER_PIN_FILE,
    docker_daemon_config,
    docker_pin_text,
    docker_version_problems,
)
from pyinfra_mesos.dpkg import PIN_PRIORITY, pinned_move_command
from pyinfra_mesos.schema import check_value
from pyinfra_mesos.templates import render_template

# ServiceFreshness answers (deploy/rolling.py): Docker running since t=100, daemon.json newer.
STALE = {"ActiveEnterTimestamp": ["ActiveState=active", started(100.5),
                                  "input=200.25 /etc/docker/daemon.json"]}
FRESH = {"ActiveEnterTimestamp": ["ActiveState=active", started(300),
                                  "input=200.25 /etc/docker/daemon.json"]}
# daemon.json already holds what the deploy writes (no registry group: no registries).
IN_PLACE = file_set_in_place({DOCKER_DAEMON_JSON: render_template(
    "docker-daemon.json.j2",
    daemon_config=docker_daemon_config(group_defaults(), type("T", (), {"registries": []})()),
).encode()})
MARKER = {dr.DRAIN_MARKER: [f"user=root group=root mode=-rw-r--r-- atime=1 mtime=1 ctime=1 "
                            f"size=0 '{dr.DRAIN_MARKER}'"]}
DPKG_DOCKER = {"dpkg -l": ["ii  docker.io  20.10.24+dfsg1-1+deb12u1+b6  amd64  Linux containers"]}
RESTART = "Restart Docker (daemon.json or package newer than the daemon)"


def cluster(agent_answers: dict[str, Any] | None = None,
            master_answers: dict[str, Any] | None = None) -> dict[str, list[Any]]:
    return {"masters": [fake_host("m1", master_answers, ip="10.0.0.11", zookeeper_id=1)],
            "marathon": [fake_host("m1", master_answers, ip="10.0.0.11", zookeeper_id=1)],
            "agents": [fake_host("a1", agent_answers, ip="10.0.1.11"),
                       fake_host("a2", None, ip="10.0.1.12")]}


def test_a_stale_agent_docker_is_drained_restarted_and_put_back_in_that_order() -> None:
    op = op_named(plan(cluster({**STALE, **DPKG_DOCKER}), ["tasks/docker.py"])["a1"], RESTART)
    assert op.global_arguments["_serial"] is True
    assert len(op.commands) == 3
    first, restart, last = op.commands
    assert (first, last) == ("FunctionCommand:tasks_off", "FunctionCommand:back_in")
    assert restart.startswith("systemctl restart docker.service && ")


def test_a_current_docker_costs_nothing_and_a_left_marker_only_puts_the_machine_back() -> None:
    ops = plan(cluster({**FRESH, **IN_PLACE}), ["tasks/docker.py"])["a1"]
    assert op_named(ops, RESTART).commands == []
    # A run stopped after the drain left the marker: the next one ends the window, no restart.
    op = op_named(plan(cluster({**FRESH, **IN_PLACE, **MARKER}), ["tasks/docker.py"])["a1"],
                  RESTART)
    assert op.commands == ["FunctionCommand:back_in"]


def test_a_marathon_host_restarts_docker_without_a_drain_in_its_turn_unless_it_leads() -> None:
    leads_not = {"/v2/leader": ['{"leader": "10.0.0.99:8080"}', "@@pyinfra-mesos-http 200  0"]}
    ops = plan(cluster(master_answers={**STALE, **leads_not}), ["tasks/docker.py"])["m1"]
    turn = op_named(ops, f"{RESTART} on Marathon hosts: @fake/m1 (1 of 1), unless it leads")
    assert turn.global_arguments["_serial"] is True
    assert len(turn.commands) == 1 and turn.commands[0].startswith("systemctl restart docker")
    leads = {"/v2/leader": ['{"leader": "10.0.0.11:8080"}', "@@pyinfra-mesos-http 200  0"]}
    ops = plan(cluster(master_answers={**STALE, **leads}), ["tasks/docker.py"])["m1"]
    assert op_named(ops, f"{RESTART} on Marathon hosts: @fake/m1 (1 of 1)").commands == []
    last = op_named(ops, f"{RESTART} on Marathon hosts: the leader, last")
    assert len(last.commands) == 1 and last.commands[0].startswith("systemctl restart docker")


def test_docker_version_pins_and_moves_an_installed_docker_and_leaves_a_fresh_install_alone(
) -> None:
    data = {"docker_version": "20.10.25"}
    ops = plan(cluster({**FRESH, **DPKG_DOCKER}), ["tasks/common.py", "tasks/docker.py"],
               data)["a1"]
    move = op_named(ops, "Move Docker to the pinned 20.10.25")
    assert move.commands == [pinned_move_command("docker.io", "20.10.25")]
    pins = op_named(ops, "apt waits for the dpkg lock").uploads
    assert "Pin: version 20.10.25*" in pins[DOCKER_PIN_FILE]
    # Already at the pin (a prefix of the installed version): no move.
    ops = plan(cluster({**FRESH, **DPKG_DOCKER}), ["tasks/docker.py"],
               {"docker_version": "20.10.24+dfsg1"})["a1"]
    assert not [o for o in ops if o.name.startswith("Move Docker")]
    # Not installed yet: the install (tasks/common.py) takes the pin, nothing to move.
    ops = plan(cluster(FRESH), ["tasks/common.py", "tasks/docker.py"], data)["a1"]
    assert not [o for o in ops if o.name.startswith("Move Docker")]
    assert "docker.io" in " ".join(op_named(ops, "Install this host's packages").commands)


def test_docker_pin_text_and_its_checks() -> None:
    text = docker_pin_text({"docker_package": "docker.io", "docker_version": "20.10.24"})
    assert "Package: docker.io\nPin: version 20.10.24*\n" in text
    assert f"Pin-Priority: {PIN_PRIORITY}" in text
    empty = docker_pin_text({"docker_package": "docker.io", "docker_version": ""})
    assert "Pin:" not in empty and "docker_version is empty" in empty
    assert docker_version_problems("", "w") == []
    assert docker_version_problems("20.10.24+dfsg1-1", "w") == []
    [problem] = docker_version_problems("20.10\nPackage: *", "inventory/prod.py")
    assert (problem.where, problem.field) == ("inventory/prod.py", "docker_version")
    assert check_value("docker_version", 20)  # not a string
    assert check_value("docker_version", "20.10.24") == []
    assert check_value("docker_drain_wait_s", 0)


def test_schedule_without_drops_the_machine_and_an_emptied_window_and_keeps_the_rest() -> None:
    a = {"hostname": "10.0.1.11", "ip": "10.0.1.11"}
    b = {"hostname": "10.0.1.12", "ip": "10.0.1.12"}
    start = {"start": {"nanoseconds": 5}}
    current = {"windows": [{"machine_ids": [a], "unavailability": start},
                           {"machine_ids": [b, dict(a, hostname="10.0.1.11".upper())],
                            "unavailability": start}]}
    assert drain_plan.schedule_without(current, a) == {
        "windows": [{"machine_ids": [b], "unavailability": start}]}
    assert drain_plan.schedule_without({"windows": [{"machine_ids": [b],
                                                     "unavailability": start}]}, a) is None
    assert drain_plan.schedule_without({}, a) is None
    assert drain_plan.schedule_without(current, b) == {
        "windows": [{"machine_ids": [a], "unavailability": start},
                    {"machine_ids": [dict(a, hostname="10.0.1.11")], "unavailability": start}]}


class FakeConnection:
    def __init__(self, answers: dict[str, tuple[int, str, str]], log: list[str],
                 name: str) -> None:
        self.answers, self.log, self.name = answers, log, name

    def run(self, command: str, timeout_s: float) -> tuple[int, str, str]:
        self.log.append(f"{self.name}: {command}")
        return next((v for k, v in self.answers.items() if k in command), (0, "", ""))


class FakeHosts:
    def __init__(self, answers: dict[str, dict[str, tuple[int, str, str]]]) -> None:
        self.answers, self.log, self.closed = answers, [], False

    def connection(self, name: str) -> FakeConnection:
        return FakeConnection(self.answers.get(name, {}), self.log, name)

    def close(self) -> None:
        self.closed = True


def _with_cluster(monkeypatch: pytest.MonkeyPatch, answers: dict[str, Any],
                  move_fails: str = "") -> FakeHosts:
    """drain's SSH glue and steps faked: every command and step in `hosts.log`, in order."""
    hosts = FakeHosts(answers)

    def open_cluster(topo: Any, members: Any = None) -> tuple[drain.Cluster, FakeHosts]:
        return drain.Cluster(topo, hosts, False), hosts  # type: ignore[arg-type]

    def move_tasks_off(cluster: Any, topo: Any, agent: Any, wait_s: float,
                       started: float) -> None:
        hosts.log.append(f"moved off {agent.name} ({wait_s:g} s)")
        if move_fails:
            raise drain.Failed(move_fails)

    def back_in_service(cluster: Any, agent: Any) -> bool:
        hosts.log.append(f"back {agent.name}")
        return True

    monkeypatch.setattr(drain, "open_cluster", open_cluster)
    monkeypatch.setattr(drain, "move_tasks_off", move_tasks_off)
    monkeypatch.setattr(drain, "back_in_service", back_in_service)
    return hosts


def _call(function: Any, *args: Any, agents: tuple[str, ...] = ("a1",)) -> list[bool]:
    """`function(state, host, *args)` for each of `agents` in turn, in one State."""
    with prepared(cluster()) as (state, inventory):
        results = []
        for name in agents:
            agent = inventory.get_host(f"@fake/{name}")
            with ctx_host.use(agent):
                results.append(bool(function(state, agent, *args)))
        return results


def steps(hosts: FakeHosts) -> list[str]:
    return [line for line in hosts.log if "docker ps" not in line]


def test_tasks_off_marks_the_agent_before_it_drains_and_only_with_mesos_containers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hosts = _with_cluster(monkeypatch, {"@fake/a1": {"docker ps": (0, "2\n", "")}})
    assert _call(dr.tasks_off, 7.0) == [True]
    touch = f"@fake/a1: mkdir -p $(dirname {dr.DRAIN_MARKER}) && touch {dr.DRAIN_MARKER}"
    assert steps(hosts) == [touch, "moved off @fake/a1 (7 s)"]
    assert hosts.closed
    hosts = _with_cluster(monkeypatch, {"@fake/a1": {"docker ps": (0, "0\n", "")}})
    assert _call(dr.tasks_off, 7.0) == [True]
    assert steps(hosts) == []
    # docker cannot say: the tasks are moved first all the same.
    hosts = _with_cluster(monkeypatch, {"@fake/a1": {"docker ps": (0, "failed\n", "")}})
    assert _call(dr.tasks_off, 7.0) == [True]
    assert steps(hosts) == [touch, "moved off @fake/a1 (7 s)"]
    assert dr.mesos_containers("3\n") == 3 and dr.mesos_containers("failed") is None


def test_a_failed_drain_ends_its_window_stops_the_run_and_drains_no_other_agent(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    hosts = _with_cluster(monkeypatch, {"@fake/a1": {"docker ps": (0, "1\n", "")},
                                        "@fake/a2": {"docker ps": (0, "1\n", "")}},
                          move_fails="marathon: no Marathon answered: m1: GET /v2/apps "
                                     "answered 502")
    with prepared(cluster()) as (state, inventory):
        results = []
        for name in ("a1", "a2"):
            agent = inventory.get_host(f"@fake/{name}")
            with ctx_host.use(agent):
                results.append(dr.tasks_off(state, agent, 7.0))
        assert state.config.FAIL_PERCENT == 0
    assert results == [False, False]
    assert steps(hosts)[1:] == ["moved off @fake/a1 (7 s)", "back @fake/a1",
                                f"@fake/a1: rm -f {dr.DRAIN_MARKER}"]
    assert "error: @fake/a1: Docker not restarted: its tasks could not be moved: marathon: no " \
           "Marathon answered" in caplog.text
    assert "error: @fake/a2: Docker not restarted: the drain of @fake/a1 failed earlier" \
           in caplog.text


def test_back_in_acts_only_on_the_marker_and_removes_it_after(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hosts = _with_cluster(monkeypatch, {"@fake/a1": {"[ -e": (0, "pending\n", "")}})
    assert _call(dr.back_in) == [True]
    assert steps(hosts)[-2:] == ["back @fake/a1", f"@fake/a1: rm -f {dr.DRAIN_MARKER}"]
    hosts = _with_cluster(monkeypatch, {"@fake/a1": {"[ -e": (0, "\n", "")}})
    assert _call(dr.back_in) == [True]
    assert not any("rm -f" in line or "back" in line for line in hosts.log)


def test_marathon_requests_pass_over_a_marathon_without_a_leader() -> None:
    with prepared(cluster()) as (_, inventory):
        from pyinfra_mesos.topology import topology_from_inventory

        topo = topology_from_inventory(inventory)
    first = topo.marathons[0].name
    hosts = FakeHosts({first: {"curl": (0, "Could not determine the current leader\n502", "")}})
    with pytest.raises(drain.Failed, match="no Marathon answered: .*answered 502"):
        drain.Cluster(topo, hosts, False).marathon("GET", "/v2/apps")  # type: ignore[arg-type]
    hosts = FakeHosts({first: {"curl": (0, '{"apps": []}\n200', "")}})
    assert drain.Cluster(topo, hosts, False).marathon(  # type: ignore[arg-type]
        "GET", "/v2/apps") == (200, {"apps": []})
