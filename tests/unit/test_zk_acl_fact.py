"""The ZookeeperAcls fact against zkCli 3.8's real output, and the decision on each state.

Each JSON fixture holds a real run of zk_acl.fact_command against Debian's ZooKeeper 3.8.0
(captured on a throwaway server; the port rewritten to 2181): `arg` (the fact's arguments),
`output` (stdout lines) and `fact` (what process must return), like pyinfra's own fact tests.
The credentials behind them are `mesos:s1` and `marathon:s2`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos.zk_acl import decide, fact_command, wanted_trees
from pyinfra_mesos.zk_acl_fact import ZookeeperAcls

FIXTURES = Path(__file__).parent / "zk_acl_facts"
TREES = wanted_trees({}, "mesos:s1", "marathon:s2")


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_fact_command_and_process(name: str) -> None:
    case = fixture(name)
    fact = ZookeeperAcls()
    assert fact.command(**case["arg"]) == fact_command(**case["arg"])
    assert fact.process(case["output"]) == case["fact"]


def test_open_mesos_and_missing_marathon_plan_the_change() -> None:
    plan = decide(fixture("open_mesos_missing_marathon")["fact"], TREES, "z1")
    assert plan.problems == []
    assert [p for p, _ in plan.creates] == ["/marathon"]
    assert [p for p, _ in plan.setacls] == ["/mesos", "/mesos/child"]


def test_nodes_the_deploy_closed_need_nothing() -> None:
    plan = decide(fixture("closed_by_the_deploy")["fact"], TREES, "z1")
    assert not plan and plan.problems == []


def test_other_credentials_are_one_clear_line_per_tree() -> None:
    # zkCli 3.8 shows a digest it does not hold ADMIN for as `user:x`, and no ACL at all
    # without READ (/marathon, CREATOR_ALL for the old digest).
    plan = decide(fixture("closed_with_other_credentials")["fact"], TREES, "z1")
    assert len(plan.problems) == 2
    mesos, marathon = plan.problems
    assert mesos.startswith("error: z1: zookeeper_mesos_credentials: /mesos carries a ")
    assert marathon.startswith("error: z1: zookeeper_marathon_credentials: /marathon carries")
    assert all("\n" not in p and "s1" not in p and "s2" not in p for p in plan.problems)


def test_an_unreachable_zookeeper_is_read_as_such() -> None:
    assert ZookeeperAcls().process(["zkacl:unreachable"]) == {"reachable": False, "nodes": {}}
    # The second zkCli run cut short: fewer markers than nodes is not a reading.
    assert ZookeeperAcls().process(["zkacl:node /mesos", "cZxid = 0x2"])["reachable"] is False
