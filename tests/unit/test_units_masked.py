"""A host `remove` took out (its mesos-agent, HAProxy, bridge and Docker units stopped, disabled
and masked) that the inventory lists again: the deploy unmasks what it masked, in the facts it
already reads (no round trip for a converged host), and the bridge's own unit files, masked as
links to /dev/null, are replaced rather than written through."""

from __future__ import annotations

from typing import Any

from test_tasks_harness import fake_host, op_named, plan, units_answer

from pyinfra_mesos.deploy.units import UnitState, UnitStates
from pyinfra_mesos.docker import DOCKER_SERVICE, DOCKER_SOCKET
from pyinfra_mesos.haproxy_bridge import BRIDGE_SERVICE, BRIDGE_TIMER, HAPROXY_SERVICE
from pyinfra_mesos.mesos_agent import MESOS_AGENT_SERVICE


def agents_cluster(answers: dict[str, Any] | None = None) -> dict[str, list[Any]]:
    return {"masters": [fake_host("m1", ip="10.0.0.11", zookeeper_id=1)],
            "agents": [fake_host("a1", answers, ip="10.0.1.11")]}


def test_a_masked_unit_reads_as_masked_neither_active_nor_enabled() -> None:
    states = UnitStates().process([
        "Id=docker.socket", "SubState=dead", "UnitFileState=masked", "",
        "Id=haproxy.service", "SubState=running", "UnitFileState=enabled", ""])
    assert states == {"docker.socket": UnitState(active=False, enabled=False, masked=True),
                      "haproxy.service": UnitState(active=True, enabled=True, masked=False)}


def test_docker_socket_and_daemon_masked_are_both_unmasked_before_either_starts() -> None:
    # systemd refuses to start docker.socket while docker.service is masked ("Socket service
    # docker.service not loaded, refusing"): e2e 15 failed this way when the socket's unmask,
    # start and enable came before the daemon's unmask.
    answers = units_answer({DOCKER_SOCKET: "dead", DOCKER_SERVICE: "dead"}, "masked")
    ops = plan(agents_cluster(answers), ["tasks/docker.py"])["a1"]
    assert op_named(ops, "Docker enabled and running").commands == [
        f"systemctl unmask {DOCKER_SOCKET}", f"systemctl unmask {DOCKER_SERVICE}",
        f"systemctl start {DOCKER_SOCKET}", f"systemctl enable {DOCKER_SOCKET}",
        f"systemctl start {DOCKER_SERVICE}", f"systemctl enable {DOCKER_SERVICE}"]


def test_running_docker_units_cost_no_command() -> None:
    answers = units_answer({DOCKER_SOCKET: "running", DOCKER_SERVICE: "running"})
    ops = plan(agents_cluster(answers), ["tasks/docker.py"])["a1"]
    assert op_named(ops, "Docker enabled and running").commands == []


def test_a_masked_mesos_agent_is_unmasked_before_it_starts() -> None:
    answers = units_answer({DOCKER_SERVICE: "running", MESOS_AGENT_SERVICE: "dead"}, "masked")
    ops = plan(agents_cluster(answers), ["tasks/mesos_agent.py"])["a1"]
    commands = op_named(ops, "Docker running before the agent").commands
    # (units_answer gives every unit the same UnitFileState: Docker reads as masked too.)
    assert commands == [f"systemctl unmask {DOCKER_SERVICE}",
                        f"systemctl unmask {MESOS_AGENT_SERVICE}",
                        f"systemctl enable {DOCKER_SERVICE}",
                        f"systemctl start {MESOS_AGENT_SERVICE}",
                        f"systemctl enable {MESOS_AGENT_SERVICE}"]


def test_haproxy_and_the_bridge_timer_masked_are_unmasked() -> None:
    answers = units_answer({HAPROXY_SERVICE: "dead", BRIDGE_TIMER: "dead"}, "masked")
    ops = plan(agents_cluster(answers), ["tasks/haproxy.py"])["a1"]
    assert op_named(ops, f"HAProxy and {BRIDGE_TIMER} enabled").commands == [
        f"systemctl unmask {HAPROXY_SERVICE}", f"systemctl unmask {BRIDGE_TIMER}",
        f"systemctl start {HAPROXY_SERVICE}", f"systemctl enable {HAPROXY_SERVICE}",
        f"systemctl start {BRIDGE_TIMER}", f"systemctl enable {BRIDGE_TIMER}"]


def test_a_bridge_unit_that_is_not_a_regular_file_is_removed_before_its_upload() -> None:
    # FileSetState reports a link (the mask's /dev/null link) as missing: an upload would
    # write through the link and leave the mask, so the path is removed first.
    ops = plan(agents_cluster(), ["tasks/haproxy.py"])["a1"]
    commands = op_named(ops, "Install the Marathon -> HAProxy bridge").commands
    for unit in (BRIDGE_SERVICE, BRIDGE_TIMER):
        path = f"/etc/systemd/system/{unit}"
        assert commands.index(f"rm -f {path}") < commands.index(f"FileUploadCommand:{path}")
    # Only units: the bridge's modules are uploaded without it.
    assert not [c for c in commands if c.startswith("rm -f /usr/local")]
    assert commands[-1] == "systemctl daemon-reload"
