"""Leader last (pyinfra_mesos/deploy/rolling.py leader_last_restart): the order the restarts run in.

Planned: the task files on @fake hosts with canned facts (test_tasks_harness), the restarts read
in pyinfra's operation order. Executed: the same task files run by pyinfra's own run_ops over
the @fake connector, whose answers follow the cluster (a restarted service is fresh; the leader
can move), recording the order the restart commands really ran in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from pyinfra.api.operations import run_ops
from pyinfra.api.state import StateStage
from pyinfra.connectors.fake import FakeConnector
from pyinfra.connectors.util import CommandOutput, OutputLine
from pyinfra.context import ctx_host
from pyinfra_cli.util import exec_file
from test_tasks_harness import ROOT, fake_host, plan, prepared, started

from pyinfra_mesos.topology import topology_from_inventory

MASTER = "mesos-master.service"
STALE = ["ActiveState=active", started(100), "input=200 /etc/default/mesos-master"]
FRESH = ["ActiveState=active", started(300), "input=200 /etc/default/mesos-master"]
RUNNING = {"systemctl show --all --property Id --property SubState mesos-master.service":
           ["Id=mesos-master.service", "SubState=running"],
           "cat /etc/default/mesos-master": ["MESOS_QUORUM=2"]}
SRVR = Path(__file__).parent / "leader_facts"


def redirect_to(leader: str | None) -> list[str]:
    """status_collect.curl_command's output for /redirect (as in the mesos__* fixtures)."""
    if leader is None:
        return ["No leader elected", "@@pyinfra-mesos-http 503  0"]
    return ["", f"@@pyinfra-mesos-http 307 http://{leader}/ 0"]


def masters(leader: int | None, freshness: list[str]) -> dict[str, list]:
    hosts = []
    for i in (1, 2, 3):
        answers = {**RUNNING, "ActiveEnterTimestamp": freshness}
        answers["/redirect"] = redirect_to(None if leader is None else f"10.0.0.1{leader}:5050")
        hosts.append(fake_host(f"m{i}", answers, ip=f"10.0.0.1{i}", zookeeper_id=i))
    return {"masters": hosts}


def restart_order(planned: Mapping[str, list], hosts: list[str], service: str,
                  prefix: str) -> list[tuple[str, str]]:
    """[(operation, host)] of every planned restart of `service` in operations named `prefix`,
    in pyinfra's operation order; at most one host restarts per operation."""
    order = [op.name for op in planned[hosts[0]] if op.name.startswith(prefix)]
    found = []
    for name in order:
        restarting = [h for h in hosts for op in planned[h] if op.name == name
                      and any(f"systemctl restart {service}" in c for c in op.commands)]
        assert len(restarting) <= 1, (name, restarting)
        found += [(name, h) for h in restarting]
    return found


def test_masters_restart_non_leaders_in_inventory_order_then_the_leader() -> None:
    planned = plan(masters(leader=2, freshness=STALE), ["tasks/mesos_master.py"])
    order = restart_order(planned, ["m1", "m2", "m3"], MASTER, "Restart running masters")
    assert order == [
        ("Restart running masters with the new config: @fake/m1 (1 of 3), unless it leads", "m1"),
        ("Restart running masters with the new config: @fake/m3 (3 of 3), unless it leads", "m3"),
        ("Restart running masters with the new config: the leader, last", "m2"),
    ]
    for op in planned["m1"]:
        if op.name.startswith("Restart running masters"):
            assert op.global_arguments["_serial"] is True


def test_leader_unknown_restarts_in_inventory_order_and_says_so(
        caplog: pytest.LogCaptureFixture) -> None:
    planned = plan(masters(leader=None, freshness=STALE), ["tasks/mesos_master.py"])
    order = restart_order(planned, ["m1", "m2", "m3"], MASTER, "Restart running masters")
    assert [h for _, h in order] == ["m1", "m2", "m3"]
    assert not any(name.endswith("the leader, last") for name, _ in order)
    assert "leading Mesos master unknown (HTTP 503: no leader elected): mesos-master.service " \
           "restarts in inventory order" in caplog.text


def test_zookeeper_followers_first_the_leader_last() -> None:
    formed = [f"server.{i}=10.0.0.1{i}:2888:3888" for i in (1, 2, 3)]
    srvr = {name: json.loads((SRVR / f"zookeeper__{name}.json").read_text())["output"]
            for name in ("leader", "follower")}
    hosts = [fake_host(f"m{i}", {"cat /etc/zookeeper/conf/zoo.cfg": formed,
                                 "systemctl is-enabled": ["enabled"],
                                 "ActiveEnterTimestamp": ["ActiveState=active", started(100),
                                                          "input=200 /etc/zookeeper/conf/zoo.cfg"],
                                 "echo srvr >&3 && cat": srvr["leader" if i == 2 else "follower"]},
                       ip=f"10.0.0.1{i}", zookeeper_id=i) for i in (1, 2, 3)]
    planned = plan({"masters": hosts}, ["tasks/zookeeper.py"])
    order = restart_order(planned, ["m1", "m2", "m3"], "zookeeper.service",
                          "Restart ZooKeeper ensemble members")
    assert [h for _, h in order] == ["m1", "m3", "m2"]
    assert order[-1][0].endswith("the leader, last")


def test_marathon_non_leaders_first_the_leader_last() -> None:
    leader = ['{"leader":"10.0.0.12:8080"}', "@@pyinfra-mesos-http 200  0"]
    hosts = [fake_host(f"m{i}", {"ActiveEnterTimestamp": ["ActiveState=active", started(100),
                                                          "input=200 /etc/default/marathon"],
                                 "/v2/leader": leader},
                       ip=f"10.0.0.1{i}", zookeeper_id=i) for i in (1, 2, 3)]
    planned = plan({"masters": hosts}, ["tasks/marathon.py"])
    order = restart_order(planned, ["m1", "m2", "m3"], "marathon.service", "Restart Marathon")
    assert [h for _, h in order] == ["m1", "m3", "m2"]


# -- executed by pyinfra -------------------------------------------------------------------------


class Cluster:
    """What the @fake hosts answer during a run: a restart makes the service fresh, and
    `on_restart` may move the leader (the name of the host that leads, or None)."""

    def __init__(self, leader: str | None, on_restart: Callable[[str, str | None], str | None]
                 = lambda _host, leader: leader) -> None:
        self.leader = leader
        self.on_restart = on_restart
        self.fresh: set[str] = set()
        self.restarts: list[str] = []
        self.asked_leader = 0

    def answer(self, host: str, command: str) -> list[str] | None:
        if f"systemctl restart {MASTER}" in command:
            assert command.count("systemctl restart") == 1
            self.restarts.append(host)
            self.fresh.add(host)
            self.leader = self.on_restart(host, self.leader)
            return []
        if "ActiveEnterTimestamp" in command:
            return FRESH if host in self.fresh else STALE
        if "/redirect" in command:
            self.asked_leader += 1
            return redirect_to(None if self.leader is None
                               else f"10.0.0.1{self.leader.removeprefix('m')}:5050")
        return None


@pytest.fixture
def cluster_connector(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Cluster]]:
    holder: list[Cluster] = []
    lookup = FakeConnector._lookup_response

    def answer(self: FakeConnector, command: str) -> tuple[bool, CommandOutput]:
        lines = holder[0].answer(self.host.name.removeprefix("@fake/"), command)
        if lines is None:
            return lookup(self, command)
        return True, CommandOutput([OutputLine("stdout", line) for line in lines])

    monkeypatch.setattr(FakeConnector, "_lookup_response", answer)
    yield holder


def execute(groups: Mapping[str, list], task: str) -> None:
    """Plan `task` for every host (as the CLI: facts, change checks), then run_ops."""
    with prepared(groups) as (state, inventory):
        topology_from_inventory(inventory)
        state.current_op_file_number = 0
        state.current_deploy_filename = str(ROOT / task)
        for host in inventory.get_active_hosts():
            with ctx_host.use(host):
                exec_file(str(ROOT / task))
        state.set_stage(StateStage.Execute)
        run_ops(state)
        assert not state.failed_hosts


def _masters() -> dict[str, list]:
    return {"masters": [fake_host(f"m{i}", dict(RUNNING), ip=f"10.0.0.1{i}", zookeeper_id=i)
                        for i in (1, 2, 3)]}


def test_executed_restarts_run_one_by_one_in_inventory_order_the_leader_last(
        cluster_connector: list[Cluster]) -> None:
    cluster_connector.append(Cluster(leader="m2"))
    execute(_masters(), "tasks/mesos_master.py")
    assert cluster_connector[0].restarts == ["m1", "m3", "m2"]


def test_a_member_that_took_over_leadership_waits_and_nobody_is_skipped(
        cluster_connector: list[Cluster]) -> None:
    # Planned with m2 leading; leadership moves to m3 as m1 restarts: m2 (no longer the
    # leader) restarts in its own turn, m3 waits in its turn and restarts last.
    cluster_connector.append(Cluster(
        leader="m2", on_restart=lambda host, leader: "m3" if host == "m1" else leader))
    execute(_masters(), "tasks/mesos_master.py")
    assert cluster_connector[0].restarts == ["m1", "m2", "m3"]
    assert cluster_connector[0].fresh == {"m1", "m2", "m3"}


def test_two_members_that_led_in_their_turns_both_restart_last_one_at_a_time(
        cluster_connector: list[Cluster]) -> None:
    # m1 leads in its turn; after m2's restart m3 takes over: both wait, both restart last.
    cluster_connector.append(Cluster(
        leader="m1", on_restart=lambda host, leader: "m3" if host == "m2" else leader))
    execute(_masters(), "tasks/mesos_master.py")
    restarts = cluster_connector[0].restarts
    assert restarts[0] == "m2" and sorted(restarts[1:]) == ["m1", "m3"]
    assert len(restarts) == 3


def test_a_converged_run_restarts_nothing(cluster_connector: list[Cluster]) -> None:
    # Every service started after its inputs: each turn and the last operation are no-ops.
    cluster = Cluster(leader="m2")
    cluster.fresh = {"m1", "m2", "m3"}
    cluster_connector.append(cluster)
    execute(_masters(), "tasks/mesos_master.py")
    assert cluster.restarts == []


def test_the_member_list_must_hold_the_host() -> None:
    from pyinfra_mesos.deploy import rolling

    class Host:
        name = "x"

    old = rolling.host
    rolling.host = Host()  # type: ignore[assignment]
    try:
        with pytest.raises(ValueError, match="x is not one of the members"):
            rolling.leader_last_restart("n", ["a"], None, "s", [], "true", 1)  # type: ignore[arg-type]
    finally:
        rolling.host = old

