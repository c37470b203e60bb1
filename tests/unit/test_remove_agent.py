"""`remove` of an agent (remove.py, remove_plan.py, drain.py's steps): which agent may go, the
units that stop with it and their command (run here against a stand-in systemctl), and the whole
command over a fake cluster: drained first unless its machine is already DOWN, then its units
stopped, disabled and masked, the machine left DOWN and the next step printed."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_remove_plan import systemctl_stub
from test_tasks_harness import group_defaults

from pyinfra_mesos import drain as drain_cmd
from pyinfra_mesos import drain_plan
from pyinfra_mesos import remove_plan as plan
from pyinfra_mesos.cli import main
from pyinfra_mesos.topology import Topology, build_topology

DATA = group_defaults()
AGENT_UNITS = ["mesos-agent.service", "pyinfra-mesos-haproxy-bridge.timer",
               "pyinfra-mesos-haproxy-bridge.service", "haproxy.service", "docker.socket",
               "docker.service"]


def cluster(agents: int = 3, balancers: list[str] | None = None) -> Topology:
    groups: dict[str, Any] = {
        "masters": [("m1", {**DATA, "ip": "10.0.0.11", "zookeeper_id": 1})],
        "agents": [(f"a{i}", {**DATA, "ip": f"10.0.1.1{i}"}) for i in range(1, agents + 1)]}
    if balancers is not None:
        groups["load_balancers"] = [(n, {**DATA, "ip": f"10.0.1.1{n[1:]}"}) for n in balancers]
    return build_topology(groups)


def lines(problems: list[Any]) -> list[str]:
    return [p.format() for p in problems]


def test_an_agent_that_balances_load_may_go_with_its_units_in_order() -> None:
    topo = cluster()
    assert plan.agent_target_problems(topo, ["a3"], "inv.py") == []
    assert plan.agent_units(topo, "a3") == AGENT_UNITS
    assert plan.remaining_load_balancers(topo, "a3") == ["a1", "a2"]


def test_an_agent_that_is_no_load_balancer_stops_only_its_agent_and_docker() -> None:
    topo = cluster(balancers=["a1"])
    assert plan.agent_units(topo, "a3") == ["mesos-agent.service", "docker.socket",
                                            "docker.service"]
    assert plan.remaining_load_balancers(topo, "a3") == ["a1"]


@pytest.mark.parametrize(("topo", "hosts", "line"), [
    (cluster(), ["a2", "a3"], "error: inv.py: remove: a2, a3: remove takes one agent at a time"),
    (cluster(), ["a3", "m1"], "remove takes one agent at a time, on its own"),
    (cluster(1), ["a1"], "error: inv.py: a1: the only agent"),
    (cluster(balancers=["a1"]), ["a1"], "error: inv.py: a1: the last load balancer"),
])
def test_refusals_are_one_line_each(topo: Topology, hosts: list[str], line: str) -> None:
    [problem] = lines(plan.agent_target_problems(topo, hosts, "inv.py"))
    assert line in problem


def test_an_agent_that_also_runs_a_master_or_the_registry_is_refused() -> None:
    topo = build_topology({
        "masters": [("m1", {**DATA, "ip": "10.0.0.11", "zookeeper_id": 1})],
        "agents": [("m1", {**DATA, "ip": "10.0.0.11"}), ("a2", {**DATA, "ip": "10.0.1.12"})],
        "registry": [("a2", {**DATA, "ip": "10.0.1.12"})]})
    [master] = lines(plan.agent_target_problems(topo, ["m1"], "inv.py"))
    assert master == ("error: inv.py: m1: also runs marathon, master, zookeeper: remove takes "
                      "out an agent (and its load balancer) only")
    [registry] = lines(plan.agent_target_problems(topo, ["a2"], "inv.py"))
    assert "a2: also runs registry" in registry


def test_the_maintenance_status_and_a_masked_unit_are_read() -> None:
    machine = {"hostname": "10.0.1.13", "ip": "10.0.1.13"}
    status = {"draining_machines": [{"id": {"hostname": "10.0.1.12", "ip": "10.0.1.12"}}],
              "down_machines": [{"hostname": "10.0.1.13", "ip": "10.0.1.13"}]}
    assert drain_plan.machine_down(status, machine)
    assert not drain_plan.machine_down(status, {"hostname": "10.0.1.12", "ip": "10.0.1.12"})
    assert not drain_plan.machine_down({}, machine)
    assert drain_plan.masked("masked\n") and not drain_plan.masked("disabled\n")
    assert not drain_plan.masked("")


@pytest.fixture()
def fake_systemctl(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """systemctl_stub with the bridge's own units in the unit dir (they live there)."""
    return systemctl_stub(tmp_path, {
        unit: f"[Unit]\n# {unit}\n"
        for unit in ("pyinfra-mesos-haproxy-bridge.timer", "pyinfra-mesos-haproxy-bridge.service")})


def test_the_agents_stop_command_masks_every_unit_moving_the_bridges_aside(
        fake_systemctl: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, unit_dir = fake_systemctl
    command = plan.stop_command(AGENT_UNITS, str(unit_dir))
    for _ in range(2):                                   # a second run changes nothing more
        done = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert all((unit_dir / u).is_symlink() for u in AGENT_UNITS)
    assert (unit_dir / "pyinfra-mesos-haproxy-bridge.timer.removed").read_text() == \
        "[Unit]\n# pyinfra-mesos-haproxy-bridge.timer\n"
    calls = (tmp_path / "log").read_text().splitlines()
    stops = [c for c in calls if c.startswith("stop ")]
    assert stops[:6] == [f"stop {u}" for u in AGENT_UNITS]
    # The socket is masked before the daemon stops: nothing can start the daemon again.
    assert calls.index("mask docker.socket") < calls.index("stop docker.service")
    state = subprocess.run(["sh", "-c", plan.state_command(AGENT_UNITS)], env=env,
                           capture_output=True, text=True).stdout
    assert plan.stopped_problem(AGENT_UNITS, state) is None


class FakeCluster:
    """drain.Cluster over a cluster in memory: Mesos answers /master/state and the maintenance
    status; `sh` records commands and answers the state command with every unit masked."""

    def __init__(self, active: list[str], down: list[str]) -> None:
        self.active, self.down, self.log = active, down, list[str]()

    def mesos(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        self.log.append(f"mesos {method} {path}")
        if path == "/master/state":
            return 200, {"slaves": [{"hostname": ip, "active": True, "pid": f"slave(1)@{ip}:5051"}
                                    for ip in self.active]}
        if path == "/master/maintenance/status":
            return 200, {"down_machines": [{"hostname": ip, "ip": ip} for ip in self.down]}
        return 200, None

    def sh(self, host: str, command: str, timeout_s: float = 20.0) -> str:
        if "systemctl mask" in command:
            self.log.append(f"stop {host}")
        if "is-enabled" in command and "printf" in command:
            return "".join(f"{u} inactive masked\n" for u in AGENT_UNITS)
        if command.startswith("systemctl is-enabled"):
            return "masked\n"
        if command.startswith("systemctl enable"):
            self.log.append(f"enable {host}")
        return ""


class Closed:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def close(self) -> None:
        self.log.append("closed")


def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inv.py"
    path.write_text('masters = [("m1", {"ip": "10.0.0.11", "zookeeper_id": 1})]\n'
                    "agents = [" + "".join(f'("a{i}", {{"ip": "10.0.1.1{i}"}}), '
                                           for i in (1, 2, 3)) + "]\n")
    return path


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeCluster,
        *extra: str) -> int:
    monkeypatch.setattr(drain_cmd, "open_cluster", lambda topo: (fake, Closed(fake.log)))
    monkeypatch.setattr(drain_cmd, "drain_machine",
                        lambda cluster, topo, agent, wait_s, started: fake.log.append(
                            f"drain {agent.name} {wait_s:g}"))
    code = main(["remove", str(inventory(tmp_path)), "a3", *extra])
    return code


def test_an_agent_not_down_is_drained_then_stopped_and_left_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    fake = FakeCluster(active=["10.0.1.11", "10.0.1.12", "10.0.1.13"], down=[])
    code = run(tmp_path, monkeypatch, fake, "--yes", "--wait", "7")
    assert code == 0
    # The status once, for both questions: are the other agents out of maintenance, and is
    # a3 DOWN already.
    assert fake.log == ["mesos GET /master/maintenance/status", "mesos GET /master/state",
                        "drain a3 7", "stop a3", "closed"]
    out = capsys.readouterr().out
    assert "a3: stopping its HAProxy; clients move to the remaining load balancer(s): a1, a2" \
        in out
    assert f"a3: {', '.join(AGENT_UNITS)} stopped, disabled and masked" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("removed: a3. Its machine stays DOWN in the Mesos maintenance "
                           f"schedule (it cannot rejoin by accident). Next: delete its line from "
                           f"{tmp_path / 'inv.py'}, then run the deploy")
    assert last.endswith("A deploy run before the line is deleted starts its services again "
                         "(the inventory still lists it).")


def test_an_agent_already_down_is_not_drained_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    fake = FakeCluster(active=["10.0.1.11", "10.0.1.12"], down=["10.0.1.13"])
    code = run(tmp_path, monkeypatch, fake, "--yes")
    assert code == 0
    assert "drain a3 300" not in fake.log and "stop a3" in fake.log
    assert "machine already DOWN in Mesos maintenance (drained): no task to move" in \
        capsys.readouterr().out


def test_no_other_active_agent_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    fake = FakeCluster(active=["10.0.1.13"], down=[])
    code = run(tmp_path, monkeypatch, fake, "--yes")
    assert code == 1
    assert fake.log == ["mesos GET /master/maintenance/status", "mesos GET /master/state",
                        "closed"]
    assert capsys.readouterr().out.splitlines() == [
        f"error: {tmp_path / 'inv.py'}: a3: no other agent is active in Mesos and out of "
        "maintenance: its tasks would have nowhere to run"]


class Unreachable:
    """remote.Hosts after open() when `name` could not be reached (its reason names it)."""

    def __init__(self, name: str) -> None:
        self.unreachable = {name: f"{name}: cannot connect over SSH"}

    def close(self) -> None:
        pass


def test_an_unreachable_agent_is_named_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setattr(drain_cmd, "open_hosts",
                        lambda topo, deadline, members=None: Unreachable("a3"))
    assert main(["remove", str(inventory(tmp_path)), "a3", "--yes"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"error: {tmp_path / 'inv.py'}: a3: unreachable over SSH: cannot connect over SSH"]


def test_not_confirmed_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    fake = FakeCluster(active=["10.0.1.11", "10.0.1.13"], down=[])
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code = run(tmp_path, monkeypatch, fake)
    assert code == 1 and "stop a3" not in fake.log and "drain a3 300" not in fake.log
    assert capsys.readouterr().out.strip().endswith("a3: not removed (not confirmed)")


def test_refusals_come_before_any_connection(tmp_path: Path, capsys: Any) -> None:
    inv = inventory(tmp_path)
    assert main(["remove", str(inv), "a2", "a3"]) == 1
    assert main(["remove", str(inv), "m1", "a3"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"error: {inv}: remove: a2, a3: remove takes one agent at a time, on its own "
                   "(masters in a run of their own)",
                   f"error: {inv}: remove: m1, a3: remove takes one agent at a time, on its own "
                   "(masters in a run of their own)"]


class DrainCluster(FakeCluster):
    """Marathon with one task on the drained agent, replaced elsewhere once it is killed, and
    load balancers that route to the replacement."""

    def __init__(self) -> None:
        super().__init__(active=["10.0.1.11", "10.0.1.13"], down=[])
        self.killed = False

    def marathon(self, method: str, path: str) -> tuple[int, Any]:
        self.log.append(f"marathon {method} {path}")
        self.killed = True
        return 200, {}

    def apps(self) -> list[dict[str, Any]]:
        task = ({"id": "web.2", "host": "10.0.1.11", "ports": [31002]} if self.killed
                else {"id": "web.1", "host": "10.0.1.13", "ports": [31001]})
        return [{"id": "/web", "instances": 1, "tasks": [
            {**task, "state": "TASK_RUNNING", "servicePorts": [10000], "stagedAt": "t"}]}]

    def lb_configs(self) -> dict[str, str | None]:
        server = "10.0.1.11:31002" if self.killed else "10.0.1.13:31001"
        return {"a1": f"listen p10000\n  bind :10000\n  server t1 {server}\n"}


def test_drain_machine_schedules_moves_each_task_then_brings_the_machine_down(
        capsys: Any) -> None:
    fake = DrainCluster()
    topo = cluster()
    agent = next(m for m in topo.agents if m.name == "a3")
    drain_cmd.drain_machine(fake, topo, agent, 5.0, 0.0)  # type: ignore[arg-type]
    assert fake.log == ["mesos GET /master/state", "mesos GET /master/maintenance/status",
                        "mesos GET /master/maintenance/schedule",
                        "mesos POST /master/maintenance/schedule",
                        "marathon DELETE /v2/apps/web/tasks/web.1?scale=false",
                        "mesos POST /master/machine/down"]
    assert "/web: replaced, healthy and behind every load balancer" in capsys.readouterr().out


def test_undrain_leaves_a_masked_agent_to_the_deploy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    fake = FakeCluster(active=["10.0.1.11"], down=["10.0.1.13"])
    monkeypatch.setattr(drain_cmd, "open_cluster", lambda topo: (fake, Closed(fake.log)))
    assert main(["undrain", str(inventory(tmp_path)), "a3"]) == 0
    assert fake.log == ["mesos POST /master/machine/up", "closed"]
    assert "a3: mesos-agent is masked (`remove` took the host out): run the deploy" in \
        capsys.readouterr().out


def test_closed_stdin_without_yes_is_not_confirmed_and_no_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """A script that forgets --yes (stdin closed: input() raises EOFError) is refused with the
    one line, nothing drained or stopped; `drain` asks the same way."""
    def closed(prompt: str) -> str:
        raise EOFError

    fake = FakeCluster(active=["10.0.1.11", "10.0.1.13"], down=[])
    monkeypatch.setattr("builtins.input", closed)
    code = run(tmp_path, monkeypatch, fake)
    assert code == 1 and "stop a3" not in fake.log and "drain a3 300" not in fake.log
    assert capsys.readouterr().out.strip().endswith("a3: not removed (not confirmed)")
    assert main(["drain", str(tmp_path / "inv.py"), "a3"]) == 1
    assert capsys.readouterr().out.strip().endswith("a3: not drained (not confirmed)")
