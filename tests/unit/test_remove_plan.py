"""`remove` (remove.py, remove_plan.py): which master hosts may go, the commands that stop them
for good (run here against a stand-in systemctl), the live checks, and the whole command over a
fake SSH layer whose cluster follows the stops (one host at a time, each settled before the
next)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_tasks_harness import group_defaults

from pyinfra_mesos import remove as remove_cmd
from pyinfra_mesos import remove_plan as plan
from pyinfra_mesos.cli import main
from pyinfra_mesos.log_replicas import TAG
from pyinfra_mesos.remote import RemoteError
from pyinfra_mesos.status_model import Failed, RawAnswers
from pyinfra_mesos.topology import Topology, build_topology
from pyinfra_mesos.zk_acl import MARKER

DATA = group_defaults()


def cluster(masters: int = 5) -> Topology:
    return build_topology({
        "masters": [(f"m{i}", {**DATA, "ip": f"10.0.0.1{i}", "zookeeper_id": i})
                    for i in range(1, masters + 1)],
        "agents": [("a1", {**DATA, "ip": "10.0.1.11"})]})


def lines(problems: list[Any]) -> list[str]:
    return [p.format() for p in problems]


def test_two_of_five_masters_may_go_and_their_units_are_listed() -> None:
    topo = cluster()
    assert plan.target_problems(topo, ["m4", "m5"], "inv.py") == []
    assert plan.units(topo, "m4") == ["marathon.service", "mesos-master.service",
                                      "zookeeper.service"]
    left = plan.without(topo, ["m4", "m5"])
    assert [m.name for m in left.masters] == ["m1", "m2", "m3"]
    assert [m.name for m in left.zookeepers] == ["m1", "m2", "m3"]
    assert [m.name for m in plan.master_side(topo).all_members] == ["m1", "m2", "m3", "m4",
                                                                    "m5"]


@pytest.mark.parametrize(("hosts", "line"), [
    (["m9"], "error: inv.py: m9: not in the inventory"),
    (["a1", "m5"], "error: inv.py: a1: an agent: remove agents one at a time, on their own"),
    (["m5"], "error: inv.py: masters: 4 Mesos masters would be left: an ensemble needs an odd "
             "count"),
    (["m2", "m3", "m4", "m5"], "remove 2, deploy, then 2 more"),
])
def test_refusals_are_one_line_each(hosts: list[str], line: str) -> None:
    [problem] = lines(plan.target_problems(cluster(), hosts, "inv.py"))
    assert line in problem


@pytest.mark.parametrize(("masters", "hosts", "advice"), [
    (5, ["m5"], "remove 2"),                 # not "0 or 2": removing none is no removal
    (5, ["m1", "m1"], "remove 2"),           # a name given twice is one host
    (3, ["m3"], "remove 2"),
    (5, ["m3", "m4", "m5"], "remove 2"),     # not "2 or 4": 5 -> 1 is two quorum steps
    (7, ["m5", "m6", "m7"], "remove 2"),     # not "2 or 4": 7 -> 3 is two quorum steps
])
def test_an_even_remainder_names_only_counts_that_would_be_accepted(
        masters: int, hosts: list[str], advice: str) -> None:
    [problem] = lines(plan.target_problems(cluster(masters), hosts, "inv.py"))
    assert problem.endswith(f"one fewer); {advice}")


def test_a_master_that_is_also_a_load_balancer_or_the_registry_is_refused() -> None:
    topo = build_topology({
        "masters": [(f"m{i}", {**DATA, "ip": f"10.0.0.1{i}", "zookeeper_id": i})
                    for i in range(1, 6)],
        "agents": [("a1", {**DATA, "ip": "10.0.1.11"})],
        "load_balancers": [("m4", {**DATA, "ip": "10.0.0.14"}),
                           ("m5", {**DATA, "ip": "10.0.0.15"})],
        "registry": [("m5", {**DATA, "ip": "10.0.0.15"})]})
    assert lines(plan.target_problems(topo, ["m4", "m5"], "inv.py")) == [
        "error: inv.py: m4: also runs load_balancer: remove takes out a master's Mesos master, "
        "ZooKeeper and Marathon only",
        "error: inv.py: m5: also runs load_balancer, registry: remove takes out a master's "
        "Mesos master, ZooKeeper and Marathon only"]
    assert plan.target_problems(topo, ["m2", "m3"], "inv.py") == []


def test_removing_every_master_or_the_last_marathon_is_refused() -> None:
    found = lines(plan.target_problems(cluster(1), ["m1"], "inv.py"))
    assert "error: inv.py: masters: no Mesos masters would be left" in found
    assert "error: inv.py: marathon: no Marathon instance would be left" in found


def test_a_zookeeper_group_of_its_own_follows_the_same_arithmetic() -> None:
    topo = build_topology({
        "masters": [(f"m{i}", {**DATA, "ip": f"10.0.0.1{i}"}) for i in (1, 2, 3)],
        "zookeepers": [(f"z{i}", {**DATA, "ip": f"10.0.2.1{i}", "zookeeper_id": i})
                       for i in range(1, 6)]})
    assert plan.target_problems(topo, ["z4", "z5"], "inv.py") == []
    assert plan.units(topo, "z4") == ["zookeeper.service"]
    [even] = lines(plan.target_problems(topo, ["z5"], "inv.py"))
    assert "zookeepers: 4 ZooKeeper members would be left" in even
    [steps] = lines(plan.target_problems(topo, ["z2", "z3", "z4", "z5"], "inv.py"))
    assert "remove 2, deploy" in steps


def systemctl_stub(tmp_path: Path, unit_files: dict[str, str]) -> tuple[dict[str, str], Path]:
    """A `systemctl` on PATH (the returned env) that logs its arguments to tmp_path/log and
    answers like systemd: `mask` refuses a regular unit file in the unit dir (the returned
    tmp_path/system, holding `unit_files`: name -> text), as systemd does."""
    log, unit_dir = tmp_path / "log", tmp_path / "system"
    unit_dir.mkdir()
    for name, text in unit_files.items():
        (unit_dir / name).write_text(text)
    script = tmp_path / "bin" / "systemctl"
    script.parent.mkdir()
    script.write_text(f"""#!/bin/sh
echo "$*" >> {log}
if [ "$1" = mask ]; then
  if [ -f {unit_dir}/$2 ] && [ ! -L {unit_dir}/$2 ]; then echo "File exists" >&2; exit 1; fi
  ln -sf /dev/null {unit_dir}/$2
fi
if [ "$1" = is-active ]; then echo inactive; exit 3; fi
if [ "$1" = is-enabled ]; then
  if [ -L {unit_dir}/$2 ]; then echo masked; exit 1; fi; echo enabled
fi
exit 0
""")
    script.chmod(0o755)
    env = {**os.environ, "PATH": f"{script.parent}:{os.environ['PATH']}"}
    return env, unit_dir


@pytest.fixture()
def fake_systemctl(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """systemctl_stub with the deploy's own marathon.service in the unit dir."""
    return systemctl_stub(tmp_path, {"marathon.service": "[Service]\n"})


def test_stop_command_stops_disables_and_masks_moving_the_deploys_unit_aside(
        fake_systemctl: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, unit_dir = fake_systemctl
    units = ["marathon.service", "mesos-master.service", "zookeeper.service"]
    command = plan.stop_command(units, str(unit_dir))
    for _ in range(2):                                   # a second run changes nothing more
        done = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert (unit_dir / "marathon.service.removed").read_text() == "[Service]\n"
    assert all((unit_dir / u).is_symlink() for u in units)
    calls = (tmp_path / "log").read_text().splitlines()
    assert calls[:3] == ["stop marathon.service", "disable marathon.service", "daemon-reload"]
    assert calls.index("mask marathon.service") < calls.index("stop mesos-master.service") \
        < calls.index("stop zookeeper.service")
    state = subprocess.run(["sh", "-c", plan.state_command(units)], env=env,
                           capture_output=True, text=True).stdout
    assert plan.stopped_problem(units, state) is None


def test_stopped_problem_names_what_still_runs_or_is_not_masked() -> None:
    units = ["mesos-master.service", "zookeeper.service"]
    assert plan.stopped_problem(units, "mesos-master.service active masked\n") == \
        "mesos-master.service is active"
    assert plan.stopped_problem(units, "mesos-master.service failed masked\n"
                                       "zookeeper.service inactive disabled\n") == \
        "zookeeper.service is disabled, not masked"
    assert plan.stopped_problem(units, "") == "mesos-master.service: no state read"


SRVR = {"leader": "Zookeeper version: 3.8.0\nMode: leader\n",
        "follower": "Zookeeper version: 3.8.0\nMode: follower\n",
        "down": "This ZooKeeper instance is not currently serving requests\n"}


def redirect(leader: str | None) -> str:
    if leader is None:
        return "No leader elected\n@@pyinfra-mesos-http 503  0"
    return f"\n@@pyinfra-mesos-http 307 http://{leader}/ 0"


def marathon(leader: str) -> str:
    return f'{{"leader":"{leader}"}}\n@@pyinfra-mesos-http 200  0'


def answers(names: list[str], zk_leader: str, mesos: str | None, marathon_leader: str,
            **override: str) -> RawAnswers:
    return RawAnswers(
        srvr={n: override.get(f"srvr/{n}", SRVR["leader" if n == zk_leader else "follower"])
              for n in names},
        redirect={n: redirect(mesos) for n in names},
        marathon_leader={n: marathon(marathon_leader) for n in names})


def test_live_problems_want_every_remaining_master_and_member_serving() -> None:
    left = plan.without(cluster(), ["m4", "m5"])
    names = ["m1", "m2", "m3"]
    assert plan.live_problems(left, answers(names, "m1", "10.0.0.15:5050", "10.0.0.11:8080")) \
        == []
    raw = answers(names, "m1", "10.0.0.11:5050", "10.0.0.11:8080", **{"srvr/m2": SRVR["down"]})
    raw = RawAnswers(srvr=raw.srvr, redirect={**raw.redirect, "m3": Failed("refused")},
                     marathon_leader=raw.marathon_leader, unreachable={"m4": "timed out"})
    assert plan.live_problems(left, raw) == [
        "m4: unreachable over SSH: timed out",
        "m3: mesos-master does not name a leader (refused)",
        "m2: ZooKeeper is not serving (running without a quorum)"]


def test_settled_wants_a_zookeeper_leader_a_remaining_mesos_leader_and_a_marathon_leader(
        ) -> None:
    current = plan.without(cluster(), ["m5"])
    names = ["m1", "m2", "m3", "m4"]
    assert plan.settled(current, answers(names, "m2", "10.0.0.11:5050", "10.0.0.13:8080")) \
        is None
    assert "Mesos: the leader 10.0.0.15:5050 is not a remaining master" == plan.settled(
        current, answers(names, "m2", "10.0.0.15:5050", "10.0.0.13:8080"))
    assert plan.settled(current, answers(names, "m2", None, "10.0.0.13:8080")).startswith(
        "Mesos: m1 knows no leader")
    assert plan.settled(current, answers(names, "none", "10.0.0.11:5050", "x:8080")).startswith(
        "ZooKeeper: 0 leaders")


class FakeHosts:
    """The SSH layer over a cluster that follows the stops: a stopped host's services are gone;
    the Mesos, Marathon and ZooKeeper leaders move to the first host still running."""

    def __init__(self, topo: Topology, session_reads: int = 2) -> None:
        self.topo, self.stopped, self.log = topo, set[str](), list[str]()
        self.unreachable: dict[str, str] = {}
        # A stopped master's log replica znode outlives it for `session_reads` reads of the
        # group (its ZooKeeper session has not expired yet).
        self.session_reads, self.lingering = session_reads, dict[str, int]()

    def replicas(self) -> str:
        """fact_command's output: the replica group lists the running masters and the stopped
        ones whose session has not expired yet."""
        listed = [m for m in self.topo.masters
                  if m.name not in self.stopped or self.lingering.get(m.name, 0) > 0]
        for name in self.lingering:
            self.lingering[name] -= 1
        self.log.append("replicas " + ",".join(m.name for m in listed))
        lines = [f"{TAG}listed"] + [f"{TAG}node 00000000{i}" for i in range(len(listed))]
        for m in listed:
            lines += [f"log-replica(1)@{m.ip}:5050", f"{MARKER} x"]
        return "\n".join(lines) + "\n"

    def _first(self) -> str:
        return next(m.name for m in self.topo.masters if m.name not in self.stopped)

    def transport(self, host: str, command: str) -> str:
        assert host not in self.stopped, f"{host} probed after it was removed"
        first = next(m for m in self.topo.masters if m.name == self._first())
        if "echo srvr" in command:
            return SRVR["leader" if host == first.name else "follower"]
        if "/redirect" in command:
            return redirect(f"{first.ip}:5050")
        if "/v2/leader" in command:
            return marathon(f"{first.ip}:8080")
        return ""

    def transport_until(self, deadline: float) -> Callable[[str, str], str]:
        return self.transport

    def connection(self, host: str) -> FakeHosts:
        self.host = host
        return self

    def run(self, command: str, timeout_s: float) -> tuple[int, str, str]:
        if "systemctl mask" in command:
            self.log.append(f"stop {self.host}")
            self.stopped.add(self.host)
            self.lingering[self.host] = self.session_reads
            return 0, "", ""
        if "/log_replicas" in command:
            assert self.host not in self.stopped, f"replicas read on {self.host}, removed"
            return 0, self.replicas(), ""
        units = plan.units(self.topo, self.host)
        return 0, "".join(f"{u} inactive masked\n" for u in units), ""

    def close(self) -> None:
        self.log.append("closed")


def inventory(tmp_path: Path, masters: int = 5) -> Path:
    path = tmp_path / "inv.py"
    path.write_text("masters = [" + "".join(
        f'("m{i}", {{"ip": "10.0.0.1{i}", "zookeeper_id": {i}}}), '
        for i in range(1, masters + 1)) + "]\nagents = [(\"a1\", {\"ip\": \"10.0.1.11\"})]\n")
    return path


def test_remove_stops_one_host_at_a_time_each_settled_then_says_what_comes_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path)
    fake: dict[str, FakeHosts] = {}

    def open_hosts(topo: Topology, deadline: float) -> FakeHosts:
        assert not topo.agents                          # only the master side is reached
        fake["hosts"] = FakeHosts(topo)
        return fake["hosts"]

    monkeypatch.setattr(remove_cmd, "open_hosts", open_hosts)
    assert main(["remove", str(inv), "m5", "m1", "--yes", "--wait", "5"]) == 0
    out = capsys.readouterr().out
    # Each host is done only once the log's replica group no longer lists it (read on a
    # member still running): the deploy that follows refuses a shrink while it is listed.
    assert fake["hosts"].log == [
        "stop m5", "replicas m1,m2,m3,m4,m5", "replicas m1,m2,m3,m4,m5", "replicas m1,m2,m3,m4",
        "stop m1", "replicas m1,m2,m3,m4", "replicas m1,m2,m3,m4", "replicas m2,m3,m4",
        "closed"]
    assert "m5: marathon.service, mesos-master.service, zookeeper.service stopped, disabled " \
           "and masked" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith(f"removed: m5, m1. Next: delete their lines from {inv}, then run "
                           "the deploy with --data mesos_allow_master_removal=true")
    assert "3 master(s) restart with quorum 2" in last
    assert last.endswith("A deploy run before the lines are deleted starts their services "
                         "again (the inventory still lists them).")


def test_a_failed_replica_read_is_not_yet_and_fits_in_its_ssh_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path)
    waits: list[int] = []
    real_fact_command = remove_cmd.fact_command

    def fact_command(path: str, port: int, wait_ms: int) -> str:
        waits.append(wait_ms)
        return real_fact_command(path, port, wait_ms)

    def open_hosts(topo: Topology, deadline: float) -> FakeHosts:
        hosts = FakeHosts(topo, session_reads=0)
        run, failures = hosts.run, ["ssh timeout", "exit 1"]

        def flaky(command: str, timeout_s: float) -> tuple[int, str, str]:
            if "/log_replicas" in command and failures:
                failure = failures.pop(0)
                if failure == "exit 1":
                    return 1, "", "zkCli: JVM died\n"
                raise RemoteError(f"{hosts.host}: a command did not finish within {timeout_s} s")
            return run(command, timeout_s)

        hosts.run = flaky  # type: ignore[method-assign]
        return hosts

    monkeypatch.setattr(remove_cmd, "fact_command", fact_command)
    monkeypatch.setattr(remove_cmd, "open_hosts", open_hosts)
    monkeypatch.setattr(remove_cmd.time, "sleep", lambda s: None)
    assert main(["remove", str(inv), "m4", "m5", "--yes", "--wait", "60"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("removed: m4, m5.")
    # Two zkCli runs of up to wait_ms each, and their JVMs' start-up, within one SSH timeout.
    assert waits and all(2 * w + 5000 <= remove_cmd.PROBE_S * 1000 for w in waits)


def test_a_failure_on_the_second_host_lists_the_first_and_the_same_command_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path)
    fake: dict[str, FakeHosts] = {}

    def failing_on_m5(topo: Topology, deadline: float) -> FakeHosts:
        hosts = FakeHosts(topo, session_reads=0)
        run = hosts.run

        def stop_fails(command: str, timeout_s: float) -> tuple[int, str, str]:
            if hosts.host == "m5" and "systemctl mask" in command:
                return 1, "", "Failed to mask unit: Access denied\n"
            return run(command, timeout_s)

        hosts.run = stop_fails  # type: ignore[method-assign]
        fake["first"] = hosts
        return hosts

    monkeypatch.setattr(remove_cmd, "open_hosts", failing_on_m5)
    assert main(["remove", str(inv), "m4", "m5", "--yes", "--wait", "5"]) == 1
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        f"error: {inv}: remove: m5: Failed to mask unit: Access denied; already stopped, "
        f"disabled and masked: m4. Re-run the same command with the same hosts (python -m "
        f"pyinfra_mesos remove {inv} m4 m5): the stops are idempotent and the checks leave out "
        "every host named")
    assert main(["remove", str(inv), "m5", "--yes"]) == 1          # what the reviewer hit
    assert "4 Mesos masters would be left" in capsys.readouterr().out

    def m4_stopped(topo: Topology, deadline: float) -> FakeHosts:
        hosts = FakeHosts(topo, session_reads=0)
        hosts.stopped = {"m4"}
        fake["again"] = hosts
        return hosts

    monkeypatch.setattr(remove_cmd, "open_hosts", m4_stopped)
    assert main(["remove", str(inv), "m4", "m5", "--yes", "--wait", "5"]) == 0
    assert [e for e in fake["again"].log if e.startswith("stop")] == ["stop m4", "stop m5"]


def test_three_to_one_master_warns_it_is_one_way_before_confirming(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path, masters=3)
    monkeypatch.setattr(remove_cmd, "open_hosts", lambda topo, deadline: FakeHosts(topo))
    prompts: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "n")
    assert main(["remove", str(inv), "m2", "m3"]) == 1              # allowed, not confirmed
    out = capsys.readouterr().out
    warning = (f"warning: {inv}: masters: 3 -> 1 master is one-way: Mesos cannot add replicas "
               "to a 1-master log, so growing back later needs --data "
               "mesos_allow_replicated_log_reset=true, which wipes the replicated log")
    assert warning in out and len(prompts) == 1
    assert plan.one_way_warnings(cluster(5), ["m4", "m5"], "inv.py") == []
    assert plan.target_problems(cluster(3), ["m2", "m3"], "inv.py") == []


def test_remove_changes_nothing_when_a_remaining_master_is_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path)
    fake: dict[str, FakeHosts] = {}

    def open_hosts(topo: Topology, deadline: float) -> FakeHosts:
        fake["hosts"] = FakeHosts(topo)
        original = fake["hosts"].transport
        fake["hosts"].transport = (  # type: ignore[method-assign]
            lambda h, c: "" if h == "m2" and "echo srvr" in c else original(h, c))
        return fake["hosts"]

    monkeypatch.setattr(remove_cmd, "open_hosts", open_hosts)
    assert main(["remove", str(inv), "m4", "m5", "--yes"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"error: {inv}: remove: m2: ZooKeeper is unreachable (no answer on the client port)"]
    assert fake["hosts"].log == ["closed"]


def test_an_unreachable_master_is_named_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path)

    def open_hosts(topo: Topology, deadline: float) -> FakeHosts:
        hosts = FakeHosts(topo)
        hosts.unreachable = {"m5": "m5: cannot connect over SSH"}
        return hosts

    monkeypatch.setattr(remove_cmd, "open_hosts", open_hosts)
    monkeypatch.setattr(plan, "live_problems", lambda remaining, raw: [])
    assert main(["remove", str(inv), "m4", "m5", "--yes"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"error: {inv}: remove: m5: unreachable over SSH: cannot connect over SSH"]


def test_live_problems_name_an_unreachable_host_once() -> None:
    raw = RawAnswers(srvr={}, redirect={}, marathon_leader={},
                     unreachable={"m4": "m4: cannot connect"})
    assert plan.live_problems(plan.without(cluster(), ["m4", "m5"]), raw)[0] == \
        "m4: unreachable over SSH: cannot connect"


def test_remove_refuses_the_last_agent_and_two_quorum_steps_before_connecting(
        tmp_path: Path, capsys: Any) -> None:
    inv = inventory(tmp_path)
    assert main(["remove", str(inv), "a1"]) == 1        # an agent: drain's rules (the last)
    assert main(["remove", str(inv), "m2", "m3", "m4", "m5"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith(f"error: {inv}: a1: the only agent")
    assert "remove 2, deploy, then 2 more" in out[1]


def test_readme_says_what_to_do_with_a_dead_host_in_the_codes_own_terms() -> None:
    from pyinfra_mesos.log_replicas import group_path
    from pyinfra_mesos.mesos_master import CONSENT_MASTER_REMOVAL

    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    master = readme.split("A dead master that cannot be reached over SSH")[1].split("##")[0]
    assert f"--data {CONSENT_MASTER_REMOVAL}=true" in master
    assert group_path("<zookeeper_mesos_path>") in master and "session has expired" in master
    assert "never come back" in master
    assert "remove inventory/<env>.py <dead> <live> --dead <dead>" in master
    assert "by hand" not in master and "usage error (exit 2" in master
    assert remove_cmd.EXIT_USAGE == 2
    agent = readme.split("A dead agent that cannot be reached over SSH")[1].split("##")[0]
    assert "delete its line from the inventory and run the deploy" in agent


def use_fake_hosts(monkeypatch: pytest.MonkeyPatch,
                   make: Callable[[Topology], FakeHosts]) -> dict[str, FakeHosts]:
    """remove's open_hosts replaced by `make(topology)`; the dict gets that instance under
    "hosts" once `remove` has opened it."""
    fake: dict[str, FakeHosts] = {}

    def open_hosts(topo: Topology, deadline: float) -> FakeHosts:
        fake["hosts"] = make(topo)
        return fake["hosts"]

    monkeypatch.setattr(remove_cmd, "open_hosts", open_hosts)
    return fake


class DeadHosts(FakeHosts):
    """FakeHosts where `dead` was powered off before the run: unreachable over SSH, its log
    replica znode still listed for `session_reads` reads; any command sent to it is logged."""

    def __init__(self, topo: Topology, dead: str, session_reads: int = 2) -> None:
        super().__init__(topo, session_reads)
        self.dead = dead
        self.unreachable = {dead: f"{dead}: cannot connect over SSH: timed out"}
        self.stopped.add(dead)
        self.lingering[dead] = session_reads

    def transport(self, host: str, command: str) -> str:
        if host == self.dead:
            self.log.append(f"probe sent to {host}")
            raise RemoteError(f"{host}: unreachable over SSH")
        return super().transport(host, command)

    def connection(self, host: str) -> FakeHosts:
        if host == self.dead:
            self.log.append(f"command sent to {host}")
            raise RemoteError(self.unreachable[host])
        return super().connection(host)


def test_a_dead_master_and_a_live_one_of_five_go_and_the_dead_one_gets_no_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path)
    fake = use_fake_hosts(monkeypatch, lambda topo: DeadHosts(topo, "m5"))
    monkeypatch.setattr(remove_cmd.time, "sleep", lambda s: None)
    prompts: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "y")
    assert main(["remove", str(inv), "m1", "m5", "--dead", "m5", "--wait", "5"]) == 0
    out = capsys.readouterr().out
    # The dead one first (nothing sent; the wait until its replica znode's session expired
    # still applies), then the live one as ever.
    assert fake["hosts"].log == [
        "replicas m1,m2,m3,m4,m5", "replicas m1,m2,m3,m4,m5", "replicas m1,m2,m3,m4",
        "stop m1", "replicas m1,m2,m3,m4", "replicas m1,m2,m3,m4", "replicas m2,m3,m4",
        "closed"]
    assert prompts == ["Remove m1, m5: take m5 as dead (nothing sent to it), then stop, "
                       "disable and mask the Marathon, mesos-master and ZooKeeper of m1? [y/N] "]
    assert "3 ZooKeeper member(s) serve; m5 unreachable over SSH, taken as dead (--dead)" in out
    assert ("m5: taken as dead (--dead; unreachable over SSH: cannot connect over SSH: timed "
            "out): no command sent to it; its units could not be masked, so it is up to you "
            "that it never starts again (powered off for good or wiped)") in out
    assert "m1: marathon.service, mesos-master.service, zookeeper.service stopped" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith(f"removed: m1, m5. Next: delete their lines from {inv}")
    assert last.endswith("Taken as dead, not masked: m5: it must never start again.")


def test_without_dead_the_same_dead_master_is_refused_as_unreachable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path)
    monkeypatch.setattr(remove_cmd, "open_hosts", lambda topo, deadline: DeadHosts(topo, "m5"))
    assert main(["remove", str(inv), "m1", "m5", "--yes"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"error: {inv}: remove: m5: unreachable over SSH: cannot connect over SSH: timed out"]


class RestartingLeader(DeadHosts):
    """DeadHosts where m2's mesos-master is down (the leader that lost ZooKeeper with the dead
    member, between its suicide and systemd's restart): curl gets connection refused."""

    def transport(self, host: str, command: str) -> str:
        if host == "m2" and "/redirect" in command:
            return "curl: (7) Failed to connect\n@@pyinfra-mesos-http 000  7"
        return super().transport(host, command)


def test_with_dead_a_silent_remaining_master_is_refused_with_the_settling_hint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path)
    fake = use_fake_hosts(monkeypatch, lambda topo: RestartingLeader(topo, "m5"))
    assert main(["remove", str(inv), "m4", "m5", "--dead", "m5", "--yes"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"error: {inv}: remove: m2: mesos-master does not name a leader")
    assert lines[1].startswith("hint: a master that lost ZooKeeper with m5 restarts once")
    assert fake["hosts"].log == ["closed"]  # nothing stopped, nothing sent to m5


def test_the_settling_hint_only_follows_a_silent_master_with_dead() -> None:
    silent = ["m2: mesos-master does not name a leader (no answer)"]
    assert plan.settling_hint([], silent) is None
    assert plan.settling_hint(["m5"], ["m3: ZooKeeper is not serving"]) is None
    assert "`python -m pyinfra_mesos status`" in (plan.settling_hint(["m5"], silent) or "")


def test_dead_on_a_host_that_answers_is_refused_with_nothing_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path)
    fake = use_fake_hosts(monkeypatch, lambda topo: FakeHosts(topo))
    assert main(["remove", str(inv), "m4", "m5", "--dead", "m5", "--yes"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"error: {inv}: remove: m5: named with --dead but it answers over SSH: remove it "
        "normally (without --dead), so that its units are stopped, disabled and masked"]
    assert fake["hosts"].log == ["closed"]
    assert fake["hosts"].stopped == set()


@pytest.mark.parametrize(("argv", "line"), [
    (["m4", "m5", "--dead", "m3"], "m3: named with --dead but not among the HOSTs to remove"),
    (["m4", "m5", "--dead", "m9"], "m9: named with --dead but not among the HOSTs to remove"),
    (["a1", "--dead", "a1"], "a1: --dead takes masters only: a dead agent needs no remove"),
])
def test_dead_not_among_the_hosts_or_on_an_agent_is_a_usage_error_before_connecting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, argv: list[str],
        line: str) -> None:
    inv = inventory(tmp_path)

    def no_connection(*args: Any) -> None:
        raise AssertionError("connected")

    monkeypatch.setattr(remove_cmd, "open_hosts", no_connection)
    monkeypatch.setattr(remove_cmd.drain_cmd, "open_cluster", no_connection)
    assert main(["remove", str(inv), *argv, "--yes"]) == 2
    [out] = capsys.readouterr().out.splitlines()
    assert out.startswith(f"error: {inv}: {line}")


def test_a_dead_masters_replica_still_listed_fails_and_the_rerun_keeps_dead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    inv = inventory(tmp_path)
    fake = use_fake_hosts(monkeypatch, lambda topo: DeadHosts(topo, "m5", session_reads=10**6))
    assert main(["remove", str(inv), "m1", "m5", "--dead", "m5", "--yes", "--wait", "0"]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"error: {inv}: remove: m5: its replica leaving the masters' log "
                           "group: not done after 0 s: still listed")
    assert last.endswith(
        "none stopped yet; taken as dead (nothing sent): m5. Re-run the same command with the "
        f"same hosts (python -m pyinfra_mesos remove {inv} m1 m5 --dead m5): the stops are "
        "idempotent and the checks leave out every host named")
    assert not [e for e in fake["hosts"].log if e.startswith(("stop", "command", "probe"))]


def test_a_probe_after_the_connect_deadline_still_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connections are opened with a deadline PROBE_S after `remove` starts; a cluster that
    took longer to settle was then probed with no time left, every answer "unreachable", until
    the --wait bound failed the removal (seen on the sandbox: 300 s, then exit 1). Each probe
    has its own PROBE_S."""
    import time

    from pyinfra_mesos.remote import Hosts, SshSpec

    topo = plan.without(plan.master_side(cluster(3)), [])
    fake = FakeHosts(topo)

    class Conn:
        def __init__(self, name: str) -> None:
            self.name = name

        def check_output(self, command: str, timeout_s: float) -> str:
            assert timeout_s > 0
            return fake.transport(self.name, command)

    hosts = Hosts([SshSpec(m.name, m.ip) for m in topo.all_members], time.monotonic() + 5,
                  connector=lambda spec: Conn(spec.name))
    monkeypatch.setattr("pyinfra_mesos.remote.Connection", Conn)
    hosts.open()
    hosts.deadline = time.monotonic() - 1.0  # the run's (connect) deadline is long past
    with pytest.raises(RemoteError, match="no time left in the run"):
        hosts.transport("m1", "true")
    raw = remove_cmd._probe(topo, hosts, auth=False)
    assert plan.settled(topo, raw) is None, raw.srvr
