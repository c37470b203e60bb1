"""Unit tests of the e2e tier's pure helpers for scaling, Marathon outage and master failover.

haproxy.cfg samples are rendered by the real bridge (pyinfra_mesos/haproxy_bridge.py) from
Marathon answers, so a change of the bridge's layout fails here before it fails on the sandbox.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:  # `tests.*` packages live at the project root
    sys.path.insert(0, str(PROJECT_ROOT))

e2e = importlib.import_module("tests.e2e.helpers")

from pyinfra_mesos.haproxy_bridge import render_config  # noqa: E402


def task(host: str, port: int, state: str = "TASK_RUNNING", alive: bool = True) -> dict[str, Any]:
    return {"id": f"hello-sinatra.{host}-{port}", "host": host, "ports": [port], "state": state,
            "healthCheckResults": [{"alive": alive}]}


def app(tasks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": "/hello-sinatra", "instances": len(tasks), "labels": {"HAPROXY_GROUP": "x"},
            "container": {"type": "DOCKER", "docker": {"image": "i"},
                          "portMappings": [{"containerPort": 4567, "hostPort": 0,
                                            "servicePort": 9000, "protocol": "tcp"}]},
            "networks": [{"mode": "container/bridge"}], "healthChecks": [{"protocol": "HTTP"}],
            "tasks": tasks, **extra}


# -- haproxy.cfg ----------------------------------------------------------------------------------


def test_listeners_from_the_bridges_config() -> None:
    tasks = [task("198.51.100.14", 31000), task("198.51.100.15", 31000),
             task("198.51.100.14", 31001)]
    config = render_config({"apps": [app(tasks)]})
    assert e2e.haproxy_listeners(config) == {9000: {"198.51.100.14:31000", "198.51.100.15:31000",
                                                    "198.51.100.14:31001"}}
    assert e2e.marathon_task_addresses(app(tasks)) == e2e.haproxy_listeners(config)[9000]


def test_listener_without_backends_and_unhealthy_tasks() -> None:
    config = render_config({"apps": [app([task("198.51.100.14", 31000, alive=False)])]})
    assert e2e.haproxy_listeners(config) == {9000: set()}
    assert e2e.haproxy_listeners(render_config({"apps": []})) == {}


def test_listeners_hand_written_layouts() -> None:
    config = ("global\n    daemon\n# comment\nlisten a\n  bind *:80,0.0.0.0:81  # two\n"
              "  server s1 10.0.0.1:8080 check\n  # server old 10.0.0.9:1\n"
              "frontend f\n  bind :90\n  default_backend b\nbackend b\n  server s 10.0.0.2:1\n"
              "listen c\n  bind :9000\n  server x 10.0.0.3:31000\n")
    assert e2e.haproxy_listeners(config) == {80: {"10.0.0.1:8080"}, 81: {"10.0.0.1:8080"},
                                             9000: {"10.0.0.3:31000"}}


def test_backends_problem_names_missing_and_stale() -> None:
    config = render_config({"apps": [app([task("198.51.100.14", 31000),
                                          task("198.51.100.15", 31005)])]})
    assert e2e.backends_problem("agent1", config, 9000,
                                {"198.51.100.14:31000", "198.51.100.15:31005"}) is None
    problem = e2e.backends_problem("agent1", config, 9000, {"198.51.100.14:31000"})
    assert "agent1" in problem and "stale ['198.51.100.15:31005']" in problem
    problem = e2e.backends_problem("agent2", config, 9000, {"198.51.100.14:31000", "h:1"})
    assert "missing ['h:1']" in problem
    assert "no listen section binds :9001" in e2e.backends_problem("agent1", config, 9001, set())


def test_checksums() -> None:
    digest = "a" * 64
    assert e2e.parse_sha256sum(f"{digest}  /etc/haproxy/haproxy.cfg\n") == digest
    with pytest.raises(ValueError):
        e2e.parse_sha256sum("sha256sum: /etc/haproxy/haproxy.cfg: No such file or directory")
    with pytest.raises(ValueError):
        e2e.parse_sha256sum("")
    before = {"agent1": digest, "agent2": "b" * 64}
    assert e2e.changed_checksums(before, dict(before)) == []
    assert e2e.changed_checksums(before, {"agent1": "c" * 64}) == [
        "agent1: aaaaaaaaaaaa -> cccccccccccc", "agent2: bbbbbbbbbbbb -> missing"]


# -- Marathon -------------------------------------------------------------------------------------


def test_task_addresses_only_running_tasks_and_the_asked_port() -> None:
    tasks = [task("h1", 31000), task("h2", 31001, state="TASK_STAGING"),
             {"host": "h3", "ports": [31002, 31003], "state": "TASK_RUNNING"},
             {"host": "h4", "ports": [], "state": "TASK_RUNNING"}]
    assert e2e.marathon_task_addresses(app(tasks)) == {"h1:31000", "h3:31002"}
    assert e2e.marathon_task_addresses(app(tasks), port_index=1) == {"h3:31003"}
    assert e2e.marathon_task_addresses({}) == set()


def test_app_scale_problem() -> None:
    done = {"id": "/a", "instances": 3, "tasksRunning": 3, "tasksHealthy": 3,
            "healthChecks": [{}], "deployments": []}
    assert e2e.app_scale_problem(done, 3) is None
    assert "instances=3, tasksRunning=3, tasksHealthy=3, want 1" in e2e.app_scale_problem(done, 1)
    assert "tasksHealthy=2" in e2e.app_scale_problem({**done, "tasksHealthy": 2}, 3)
    assert "deployment still running" in e2e.app_scale_problem(
        {**done, "deployments": [{"id": "d"}]}, 3)
    # No health checks: Marathon's tasksHealthy stays 0 and is not asked for.
    assert e2e.app_scale_problem({**done, "healthChecks": [], "tasksHealthy": 0}, 3) is None


# -- Mesos masters --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("10secs", 10.0), ("500ms", 0.5), ("1.5mins", 90.0), (" 2hrs ", 7200.0)])
def test_mesos_durations(text: str, seconds: float) -> None:
    assert e2e.parse_mesos_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10", "10s", "secs", "-1secs", ""])
def test_mesos_durations_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a Mesos duration"):
        e2e.parse_mesos_duration(text)


def test_master_pid() -> None:
    assert e2e.parse_master_pid("master@198.51.100.11:5050") == ("198.51.100.11", 5050)
    for bad in ("", "198.51.100.11:5050", "master@198.51.100.11", "master@:5050", "a@b@c:1"):
        with pytest.raises(ValueError, match="not a Mesos master pid"):
            e2e.parse_master_pid(bad)


def test_leader_agreement() -> None:
    pid = "master@198.51.100.12:5050"
    assert e2e.leader_agreement({"m1": pid, "m2": pid}) == (pid, None)
    leader, why = e2e.leader_agreement({"m1": pid, "m2": "master@198.51.100.13:5050"})
    assert leader is None and "do not agree" in why
    leader, why = e2e.leader_agreement({"m1": pid, "m3": None})
    assert leader is None and "m3=no leader/no answer" in why
    assert e2e.leader_agreement({}) == (None, "no master answered")


def test_framework_problem() -> None:
    state = {"pid": "master@x:5050", "frameworks": [{"name": "marathon", "active": True}]}
    assert e2e.framework_problem(state) is None
    inactive = {"pid": "master@x:5050", "frameworks": [{"name": "marathon", "active": False}]}
    assert "no active framework 'marathon'" in e2e.framework_problem(inactive)
    assert "frameworks: []" in e2e.framework_problem({"frameworks": []})


# -- growing the masters in the inventory copy ---------------------------------------------------

GROW_INVENTORY = '''\
from sandbox.inventory import sandbox_host

SANDBOX = "pms"

masters = [
    sandbox_host(SANDBOX, "master1", zookeeper_id=1),
    sandbox_host(SANDBOX, "master2", zookeeper_id=2),
    sandbox_host(SANDBOX, "master3", zookeeper_id=3),
]

agents = [
    sandbox_host(SANDBOX, "agent1"),
]

registry = [
    sandbox_host(SANDBOX, "master1", zookeeper_id=1),
]
'''


def _groups(text: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    stub = "def sandbox_host(sandbox, name, **data):\n    return (name, data)\n"
    exec(text.replace("from sandbox.inventory import sandbox_host\n", stub), namespace)
    return namespace


def test_add_master_line_appends_to_masters_only() -> None:
    grown = e2e.add_master_line(e2e.add_master_line(GROW_INVENTORY, "master4", 4), "master5", 5)
    added = set(grown.splitlines()) - set(GROW_INVENTORY.splitlines())
    assert added == {'    sandbox_host(SANDBOX, "master4", zookeeper_id=4),',
                     '    sandbox_host(SANDBOX, "master5", zookeeper_id=5),'}
    assert len(grown.splitlines()) == len(GROW_INVENTORY.splitlines()) + 2
    groups = _groups(grown)
    assert groups["masters"] == [(f"master{i}", {"zookeeper_id": i}) for i in range(1, 6)]
    # The registry group names master1 with the same call: it must not grow.
    assert groups["registry"] == [("master1", {"zookeeper_id": 1})]
    assert [name for name, _ in groups["agents"]] == ["agent1"]


def test_add_master_line_on_the_real_sandbox_inventory() -> None:
    text = (PROJECT_ROOT / "inventory" / "sandbox.py").read_text()
    grown = e2e.add_master_line(text, "master4", 4)
    assert len(grown.splitlines()) == len(text.splitlines()) + 1
    masters_block = grown[grown.index("masters = ["):grown.index("agents = [")]
    assert 'sandbox_host(SANDBOX, "master4", zookeeper_id=4),' in masters_block


def test_add_master_line_other_layouts() -> None:
    comprehension = GROW_INVENTORY.replace(
        GROW_INVENTORY[GROW_INVENTORY.index("masters = ["):GROW_INVENTORY.index("agents = [")],
        'masters = [sandbox_host(SANDBOX, f"master{i}", zookeeper_id=i) for i in (1, 2, 3)]\n\n')
    grown = e2e.add_master_line(comprehension, "master4", 4)
    assert [name for name, _ in _groups(grown)["masters"]] == [f"master{i}" for i in range(1, 5)]
    assert _groups(grown)["masters"][-1] == ("master4", {"zookeeper_id": 4})
    with pytest.raises(ValueError):
        e2e.add_master_line("masters = []\n", "master1", 1)
    # add_agent_line still behaves as before on the same file.
    assert 'sandbox_host(SANDBOX, "agent2"),' in e2e.add_agent_line(GROW_INVENTORY, "agent2")
    assert _groups(e2e.add_agent_line(GROW_INVENTORY, "agent2"))["masters"] == \
        _groups(GROW_INVENTORY)["masters"]


def test_longest_outage() -> None:
    assert e2e.longest_outage([]) == 0.0
    assert e2e.longest_outage([(0.0, True), (1.0, True)]) == 0.0
    # Failures at 2 and 3, good again at 4: out from the last good sample (1) to 4.
    samples = [(0.0, True), (1.0, True), (2.0, False), (3.0, False), (4.0, True), (5.0, False),
               (6.0, True)]
    assert e2e.longest_outage(samples) == 3.0
    assert e2e.longest_outage([(0.0, False), (2.5, False)]) == 2.5
    assert e2e.longest_outage([(0.0, True), (1.0, False)]) == 1.0


def test_operation_hosts_reads_the_hosts_pyinfra_printed_under_one_operation() -> None:
    from tests.e2e.helpers import operation_hosts

    output = "\n".join([
        "--> Starting operation: tasks/m.py | Restart masters: m1 (1 of 3), unless it leads",
        "    [m1] Success", "    [m2] No changes",
        "--> Starting operation: tasks/m.py | Restart masters: m2 (2 of 3), unless it leads",
        "    [m2] No changes",
        "--> Starting operation: tasks/m.py | Restart masters: m3 (3 of 3), unless it leads",
        "    [m3] Success",
        "--> Starting serial operation: tasks/m.py | Restart masters: the leader, last",
        "    [m2] Success", "    [m1] No changes",
        "--> Results:", "    [m9] Success"])
    assert operation_hosts(output, "Restart masters: the leader, last") == ["m2"]
    assert operation_hosts(output, "Restart masters: ") == ["m1", "m3", "m2"]
    assert operation_hosts(output, "Restart masters: ", "No changes") == ["m2", "m2", "m1"]


def test_steady_passes_only_after_the_check_held_for_its_whole_window() -> None:
    now = [0.0]
    answers = iter([None, None, "master1 silent", None, None, None])
    steady = e2e.Steady(lambda: next(answers), 30.0, clock=lambda: now[0])
    seen = []
    for at in (0.0, 25.0, 26.0, 40.0, 69.0, 70.0):
        now[0] = at
        seen.append(steady())
    # A break (the leader's suicide at 26 s) starts the window again from the next pass (40 s).
    assert seen[0] == "settled for 0.0 s of the 30 s it must hold"
    assert seen[1] == "settled for 25.0 s of the 30 s it must hold"
    assert seen[2] == "master1 silent"
    assert seen[3] == "settled for 0.0 s of the 30 s it must hold"
    assert seen[4] == "settled for 29.0 s of the 30 s it must hold"
    assert seen[5] is None


# -- what a failed phase keeps ---------------------------------------------------------------

diagnostics = importlib.import_module("tests.e2e.diagnostics")


def test_utc_clock_matches_journalctl_short_iso_precise() -> None:
    # 2026-12-01T16:02:03.45Z
    assert e2e.utc_clock(1796140923.45) == "16:02:03.4"
    assert e2e.utc_clock(0.0) == "00:00:00.0"


def test_a_phase_name_becomes_a_file_name_part() -> None:
    assert diagnostics.slug("shrink masters 5 -> 3") == "shrink-masters-5-3"
    assert diagnostics.slug("ZooKeeper leader stop") == "zookeeper-leader-stop"
    assert diagnostics.slug(" -> ") == "phase"


def test_the_journal_command_names_every_unit_and_is_bounded() -> None:
    command = diagnostics.journal_command(1796140923.9, ("marathon", "haproxy"), lines=50)
    assert command == ("journalctl --no-pager -o short-iso-precise --since @1796140923 "
                       "-u marathon.service -u haproxy.service | tail -n 50")
    default = diagnostics.journal_command(0)
    for unit in e2e.WATCHED_SERVICES + ("pyinfra-mesos-haproxy-bridge",):
        assert f"-u {unit}.service" in default


class FakeHosts:
    """The two things dump_hosts uses of the e2e tier's Hosts: the topology and run()."""

    def __init__(self, answers: dict[str, str]) -> None:
        member = type("Member", (), {})
        self.topology = type("Topology", (), {})()
        self.topology.all_members = []
        for name in ("master1", "agent1"):
            m = member()
            m.name = name
            self.topology.all_members.append(m)
        self.topology.load_balancers = [self.topology.all_members[1]]
        self.answers = answers

    def run(self, name: str, command: str, what: str) -> str:
        if name not in self.answers:
            raise AssertionError(f"{name}: {what}: exit 255: ssh: connect to host")
        return f"{name} ran {command.split()[0]}\n"


def test_dump_hosts_writes_a_file_per_host_and_the_lbs_config(tmp_path: Path) -> None:
    written = diagnostics.dump_hosts(FakeHosts({"master1": "", "agent1": ""}), 0.0, tmp_path, "p")
    assert sorted(p.name for p in written) == [
        "p-haproxy-agent1.cfg", "p-journal-agent1.log", "p-journal-master1.log"]
    assert (tmp_path / "p-journal-master1.log").read_text() == "master1 ran journalctl\n"
    assert (tmp_path / "p-haproxy-agent1.cfg").read_text() == "agent1 ran cat\n"


def test_a_silent_host_gets_its_error_in_its_file_not_a_new_exception(tmp_path: Path) -> None:
    diagnostics.dump_hosts(FakeHosts({"agent1": ""}), 0.0, tmp_path, "p")
    assert "could not read from master1" in (tmp_path / "p-journal-master1.log").read_text()
    assert (tmp_path / "p-journal-agent1.log").read_text() == "agent1 ran journalctl\n"


def test_the_digest_keeps_what_changed_and_drops_traffic_and_noise() -> None:
    journal = [
        "2026-12-01T18:12:35.1+0000 agent1 haproxy[2165]: 198.51.100.1:1 [01/Dec/2026:18:12:35] "
        "hello-sinatra_9000 hello-sinatra_9000/198.51.100.14_31000 1/0/2 157 -- 1/1/0/0/0 0/0",
        "2026-12-01T18:12:35.2+0000 agent1 haproxy[2165]: Server hello-sinatra_9000/x is DOWN, "
        "reason: Layer4 connection problem",
        "2026-12-01T18:12:35.3+0000 agent1 haproxy[2165]: backend hello-sinatra_9000 has no "
        "server available!",
        "2026-12-01T18:12:35.4+0000 agent1 systemd[1]: Starting pyinfra-mesos-haproxy-bridge."
        "service - Marathon to HAProxy...",
        "2026-12-01T18:12:35.5+0000 agent1 python3[5230]: http://198.51.100.11:8080/v2/apps?"
        "embed=apps.tasks: cannot read apps (HTTP 502)",
        "2026-12-01T18:12:35.6+0000 master1 mesos-master[1]: W kazoo.client] Connection dropped",
        "2026-12-01T18:12:35.7+0000 master1 mesos-master[1]: Redirecting request for /redirect to "
        "the leading master",
        "2026-12-01T18:12:37.2+0000 master1 docker[1]: INFO marathon.scheduler: task t ended "
        "TASK_LOST: task is not known to Mesos",
        "2026-12-01T18:12:37.3+0000 master1 systemd[1]: Stopping mesos-agent.service - Mesos",
    ]
    kept = diagnostics.digest(journal)
    assert [line.split()[2] for line in kept] == [
        "haproxy[2165]:", "haproxy[2165]:", "python3[5230]:", "docker[1]:", "systemd[1]:"]
    assert "is DOWN" in kept[0] and "no server available" in kept[1]
    assert diagnostics.digest(journal, lines=2) == kept[-2:]
    assert diagnostics.digest(journal, lines=0) == []
