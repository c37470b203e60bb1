"""Shrinking the masters 5 -> 3 (apache/mesos docs/operational-guide.md, "Decreasing the quorum
size"), as the deploy plans it on the three remaining masters after `remove` stopped two:
refused without mesos_allow_master_removal, refused while ZooKeeper still lists a departed
master as a live log replica, and otherwise the existing rolling restarts, with the log kept:
Mesos (quorum 2, non-leaders first, the leader last) and ZooKeeper (the 3-server zoo.cfg,
followers first, the leader last).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_rolling_order import redirect_to, restart_order
from test_tasks_harness import fake_host, op_named, plan, started

from pyinfra_mesos.deploy.refused import DeployRefused

SRVR = Path(__file__).parent / "leader_facts"
MASTER = "mesos-master.service"
# The remaining masters before the deploy: running with the 5-master quorum and a log.
BEFORE = {
    "systemctl show --all --property Id --property SubState mesos-master.service":
        ["Id=mesos-master.service", "SubState=running"],
    "cat /etc/default/mesos-master": ["MESOS_QUORUM=3"],
    "/var/lib/mesos/master/replicated_log": [
        "user=root group=root mode=drwxr-x--- atime=1 mtime=1 ctime=1 size=4096 "
        "'/var/lib/mesos/master/replicated_log'"],
    "ActiveEnterTimestamp": ["ActiveState=active", started(100),
                             "input=200 /etc/default/mesos-master"],
    "/redirect": redirect_to("10.0.0.12:5050"),
}
ZKREP = ["zkrep:listed", "zkrep:node 0000000001", "zkrep:node 0000000002",
         "zkrep:node 0000000003", "Connecting to 127.0.0.1:2181",
         "WatchedEvent state:SyncConnected type:None path:null",
         "log-replica(1)@10.0.0.11:5050", "ZooKeeper CLI version: 3.8.0",
         "log-replica(1)@10.0.0.12:5050", "ZooKeeper CLI version: 3.8.0",
         "log-replica(1)@10.0.0.13:5050", "ZooKeeper CLI version: 3.8.0"]
DEPARTED_LIVE = [*ZKREP[:4], "zkrep:node 0000000004", *ZKREP[4:],
                 "log-replica(1)@10.0.0.15:5050", "ZooKeeper CLI version: 3.8.0"]


def remaining(replicas: list[str] | None = None) -> dict[str, list]:
    answers = dict(BEFORE)
    if replicas is not None:
        answers["ls /mesos/log_replicas"] = replicas
    return {"masters": [fake_host(f"m{i}", answers, ip=f"10.0.0.1{i}", zookeeper_id=i)
                        for i in (1, 2, 3)]}


def refusal(exc: pytest.ExceptionInfo[BaseException]) -> str:
    value = exc.value
    refused = value if isinstance(value, DeployRefused) else getattr(value, "exception", None)
    assert isinstance(refused, DeployRefused), repr(value)
    return str(refused)


def test_without_consent_the_shrink_is_refused_naming_the_key() -> None:
    with pytest.raises(Exception) as refused:
        plan(remaining(ZKREP), ["tasks/mesos_master.py"])
    message = refusal(refused)
    assert "mesos_allow_master_removal" in message and "Nothing was changed" in message
    assert "--data mesos_allow_master_removal=true" in message


def test_with_consent_a_departed_live_replica_is_still_refused() -> None:
    with pytest.raises(Exception) as refused:
        plan(remaining(DEPARTED_LIVE), ["tasks/mesos_master.py"],
             data={"mesos_allow_master_removal": True})
    message = refusal(refused)
    assert "log-replica(1)@10.0.0.15:5050" in message
    assert "python -m pyinfra_mesos remove" in message


def test_with_consent_and_no_departed_replica_the_remaining_restart_with_quorum_2() -> None:
    planned = plan(remaining(ZKREP), ["tasks/mesos_master.py"],
                   data={"mesos_allow_master_removal": True})
    for name in ("m1", "m2", "m3"):
        ops = planned[name]
        config = op_named(ops, "Configure mesos-master")
        assert "(quorum 2 of 3)" in config.name
        assert not any("replicated_log" in c for op in ops for c in op.commands)
        assert not any(op.name.startswith("Move the single-master") for op in ops)
    order = restart_order(planned, ["m1", "m2", "m3"], MASTER, "Restart running masters")
    assert [h for _, h in order] == ["m1", "m3", "m2"]           # m2 leads: last
    assert order[-1][0].endswith("the leader, last")


def test_an_unreadable_replica_group_refuses_the_shrink() -> None:
    with pytest.raises(Exception) as refused:
        plan(remaining(["zkrep:unreachable"]), ["tasks/mesos_master.py"],
             data={"mesos_allow_master_removal": True})
    assert "could not be read from ZooKeeper on @fake/m1" in refusal(refused)


def test_zookeeper_shrinks_to_the_3_server_list_followers_first_leader_last() -> None:
    five = [f"server.{i}=10.0.0.1{i}:2888:3888" for i in (1, 2, 3, 4, 5)]
    srvr = {name: json.loads((SRVR / f"zookeeper__{name}.json").read_text())["output"]
            for name in ("leader", "follower")}
    hosts = [fake_host(f"m{i}", {"cat /etc/zookeeper/conf/zoo.cfg": five,
                                 "systemctl is-enabled": ["enabled"],
                                 "ActiveEnterTimestamp": ["ActiveState=active", started(100),
                                                          "input=200 /etc/zookeeper/conf/zoo.cfg"],
                                 "echo srvr >&3 && cat": srvr["leader" if i == 3 else "follower"]},
                       ip=f"10.0.0.1{i}", zookeeper_id=i) for i in (1, 2, 3)]
    planned = plan({"masters": hosts}, ["tasks/zookeeper.py"])
    for name in ("m1", "m2", "m3"):
        config = op_named(planned[name], "Configure the ZooKeeper ensemble")
        [zoo_cfg] = [text for dest, text in config.uploads.items() if dest.endswith("zoo.cfg")] \
            or [c for c in config.commands if "server.1=" in c]
        servers = [line for line in zoo_cfg.splitlines() if line.startswith("server.")]
        assert servers == [f"server.{i}=10.0.0.1{i}:2888:3888" for i in (1, 2, 3)], servers
        # Every remaining member restarts in the ensemble's operation, none as a new member.
        assert not any(op.name.startswith("Restart ZooKeeper new members")
                       for op in planned[name])
    order = restart_order(planned, ["m1", "m2", "m3"], "zookeeper.service",
                          "Restart ZooKeeper ensemble members")
    assert [h for _, h in order] == ["m1", "m2", "m3"]
    assert order[-1][0].endswith("the leader, last")
