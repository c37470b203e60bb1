"""log_replicas: parsing the replica group as zkCli 3.8 prints it, and the departed-replica
rule a shrinking deploy applies (the real zkCli run: test_log_replicas_real.py)."""

from __future__ import annotations

from pyinfra_mesos.deploy.log_replicas_fact import MesosLogReplicas
from pyinfra_mesos.log_replicas import (
    departed_replica_problems,
    fact_command,
    group_path,
    parse_fact,
    replica_host,
)

NOISE = ["Connecting to 127.0.0.1:2181", "", "WATCHER::", "",
         "WatchedEvent state:SyncConnected type:None path:null", "Welcome to ZooKeeper!",
         "JLine support is disabled"]
VERSION = "ZooKeeper CLI version: 3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f"
# Two members: the second (a departed master) is still listed.
OUTPUT = ["zkrep:listed", "zkrep:node 0000000003", "zkrep:node 0000000007", *NOISE,
          "log-replica(1)@10.0.0.11:5050", VERSION, "log-replica(1)@10.0.0.14:5050", VERSION]
MASTERS = ["10.0.0.11", "m1", "10.0.0.12", "m2", "10.0.0.13", "m3"]


def test_the_fact_parses_members_and_their_upids() -> None:
    fact = MesosLogReplicas()
    assert fact.process(OUTPUT) == {"reachable": True, "members": {
        "0000000003": "log-replica(1)@10.0.0.11:5050",
        "0000000007": "log-replica(1)@10.0.0.14:5050"}}
    assert fact.command("/mesos", 2181, 5000) == fact_command("/mesos", 2181, 5000)
    assert fact.process(["zkrep:listed", *NOISE]) == {"reachable": True, "members": {}}
    for unread in (["zkrep:unreachable"], ["zkrep:absent"], NOISE):
        assert fact.process(unread) == {"reachable": False, "members": {}}
    # A member gone between the listing and the read: no UPID, never guessed.
    gone = parse_fact(["zkrep:listed", "zkrep:node 0000000003", *NOISE, VERSION])
    assert gone["members"] == {"0000000003": None}


def test_the_command_keeps_secrets_off_its_line_and_quotes_the_path() -> None:
    command = fact_command("/site/mesos", 2181, 5000, auth_file="/etc/x/auth")
    assert "ls /site/mesos/log_replicas" in command and "-server 127.0.0.1:2181" in command
    assert "cat /etc/x/auth" in command                  # digests via zkCli's stdin
    assert group_path("/mesos/") == "/mesos/log_replicas"


def test_replica_host() -> None:
    assert replica_host("log-replica(1)@10.0.0.5:5050") == "10.0.0.5"
    assert replica_host("not a upid") is None


def test_a_departed_live_replica_refuses_naming_its_address_and_the_remove_command() -> None:
    observed = parse_fact(OUTPUT)
    [p] = departed_replica_problems(observed, MASTERS, "m1", "m1", "inventory/prod.py")
    assert p.level == "error" and p.where == "m1" and p.field == "masters"
    assert "log-replica(1)@10.0.0.14:5050" in p.message
    assert "run python -m pyinfra_mesos remove inventory/prod.py <its host> first" in p.message
    assert "\n" not in p.format()


def test_no_departed_replica_no_problem_and_an_unread_group_refuses() -> None:
    assert departed_replica_problems(parse_fact(OUTPUT), [*MASTERS, "10.0.0.14"], "m1",
                                     "m1") == []
    [p] = departed_replica_problems({"reachable": False, "members": {}}, MASTERS, "m2", "m1")
    assert "could not be read from ZooKeeper on m1" in p.message and p.where == "m2"
