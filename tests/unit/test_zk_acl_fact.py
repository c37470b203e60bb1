"""The ZookeeperAcls fact against zkCli 3.8's real output, the decision on each state, and the
host-side sweep's program on zkCli's real output.

Each JSON fixture holds a real run of zk_acl.fact_command against Debian's ZooKeeper 3.8.0
(captured on a throwaway server, before read_lines ended with `quit`, which adds no line to
the output; the port rewritten to 2181): `arg` (the fact's arguments),
`output` (stdout lines) and `fact` (what process must return), like pyinfra's own fact tests.
The credentials behind them are `mesos:s1` and `marathon:s2`. The trees under the bases hold
children (`/mesos/child`) that the fact never reads.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos.deploy.zk_acl_fact import ZookeeperAcls
from pyinfra_mesos.zk_acl import (
    AUTH_FILE,
    ZK_CLI,
    Plan,
    change_command,
    change_lines,
    decide,
    fact_command,
    fact_paths,
    sweep_program,
    wanted_trees,
)

FIXTURES = Path(__file__).parent / "zk_acl_facts"
TREES = wanted_trees({}, "mesos:s1", "marathon:s2")


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_fact_command_and_process(name: str) -> None:
    case = fixture(name)
    fact = ZookeeperAcls()
    assert case["arg"]["paths"] == fact_paths(TREES)
    assert fact.command(**case["arg"]) == fact_command(**case["arg"])
    assert fact.process(case["output"]) == case["fact"]


def test_the_fact_reads_the_fixed_nodes_in_one_zkcli_run() -> None:
    assert fact_paths(TREES) == ["/mesos", "/marathon", "/marathon/leader-curator"]
    deep = wanted_trees({"zookeeper_mesos_path": "/site/mesos",
                         "zookeeper_marathon_path": "/site/marathon"}, "mesos:s1", "marathon:s2")
    assert fact_paths(deep) == ["/site", "/site/mesos", "/site/marathon",
                                "/site/marathon/leader-curator"]
    command = fact_command(fact_paths(TREES), 2181, 3000)
    assert command.count(ZK_CLI) == 2       # the -x test and the one run
    assert "ls -R" not in command and "s1" not in command and "s2" not in command


def test_open_mesos_and_missing_marathon_plan_the_change_and_the_sweep() -> None:
    plan = decide(fixture("open_mesos_missing_marathon")["fact"], TREES, "z1")
    assert plan.problems == []
    assert [p for p, _ in plan.creates] == ["/marathon"]
    assert [p for p, _ in plan.setacls] == ["/mesos"]
    assert plan.sweep == ["/mesos", "/marathon"]
    assert change_lines(plan)[-2:] == ["ls -R /mesos", "ls -R /marathon"]
    assert plan.describe() == ("create /marathon; set the ACL of /mesos; then of every node "
                               "under /mesos, /marathon that differs")


def test_an_open_latch_directory_sweeps_marathons_tree_alone() -> None:
    plan = decide(fixture("open_latch_under_closed_marathon")["fact"], TREES, "z1")
    assert plan.problems == [] and not plan.creates
    assert [p for p, _ in plan.setacls] == ["/marathon/leader-curator"]
    assert plan.sweep == ["/marathon"]


def test_nodes_the_deploy_closed_need_nothing() -> None:
    plan = decide(fixture("closed_by_the_deploy")["fact"], TREES, "z1")
    assert not plan and plan.problems == [] and plan.sweep == []


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
    assert ZookeeperAcls().process(["zkacl:unreachable"]) == {
        "reachable": False, "authenticated": True, "nodes": {}}
    # The zkCli run cut short: fewer markers than nodes is not a reading.
    assert ZookeeperAcls().process(["zkacl:node /mesos", "cZxid = 0x2"])["reachable"] is False


def sweep(lines: list[str]) -> list[str]:
    """sweep_program run by the system's awk (Debian's mawk here, as on the hosts)."""
    done = subprocess.run(["awk", sweep_program(TREES, "z1")], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.splitlines()


def test_the_sweep_sets_what_differs_and_keeps_the_latch_world_readable() -> None:
    # The fixtures' real zkCli output, read as the sweep reads its listed children.
    closed = fixture("closed_by_the_deploy")["output"]
    assert sweep(closed) == []
    opened = fixture("open_mesos_missing_marathon")["output"]
    assert sweep(opened) == ["setAcl /mesos digest:mesos:uYhSHvP3oCt1loGOs682K+NI2kU=:cdrwa,"
                             "world:anyone:r"]
    latch = fixture("open_latch_under_closed_marathon")["output"]
    assert sweep(latch) == ["setAcl /marathon/leader-curator "
                            "digest:marathon:RoBYG4ch7EFlwSlRDvyWQXFuj6Q=:cdrwa,world:anyone:r"]


def test_the_sweep_gives_the_clear_line_once_per_tree() -> None:
    foreign = fixture("closed_with_other_credentials")
    out = sweep(foreign["output"])
    assert out == decide(foreign["fact"], TREES, "z1").problems
    # `ls -R` refused under a base (run 1's output): the same line, naming the node.
    refused = sweep(["/mesos", "Insufficient permission : /mesos/old",
                     "Insufficient permission : /mesos/older"])
    assert len(refused) == 1
    assert refused[0].startswith("error: z1: zookeeper_mesos_credentials: /mesos/old carries ")


def test_a_cut_short_read_is_an_error_not_a_verdict() -> None:
    assert sweep(["zkacl:node /mesos/a", "zkacl:node /mesos/b", "cZxid = 0x2"]) == [
        "error: z1: zookeeper_client_port: zkCli stopped before reading every node it listed"]


def test_the_change_is_one_shell_command_without_a_secret() -> None:
    plan = Plan(creates=[("/marathon", TREES[1].acl)], sweep=["/marathon"])
    command = change_command(plan, TREES, "z1", 2181, 3000)
    assert "mesos:s1" not in command and "marathon:s2" not in command
    assert command.count(ZK_CLI) == 3           # at most three runs, in one command
    without_sweep = change_command(Plan(setacls=[("/mesos", TREES[0].acl)]), TREES, "z1",
                                   2181, 3000)
    assert without_sweep.count(ZK_CLI) == 1


def test_a_read_without_the_digest_file_is_marked_anonymous() -> None:
    command = fact_command(fact_paths(TREES), 2181, 3000)
    assert f"[ -r {AUTH_FILE} ] || echo zkacl:noauth" in command
    case = fixture("closed_by_the_deploy")
    anonymous = ZookeeperAcls().process(["zkacl:noauth", *case["output"]])
    assert anonymous["authenticated"] is False
    assert anonymous["nodes"] == case["fact"]["nodes"]  # the line is not a node's output
    assert ZookeeperAcls().process(["zkacl:noauth", "zkacl:unreachable"]) == {
        "reachable": False, "authenticated": False, "nodes": {}}


def _acl_op(observed: dict[str, Any], executing: bool) -> list[str]:
    """Drive zookeeper_acls's generator with a stubbed host and state (pyinfra's _inner)."""
    from pyinfra_mesos.deploy import zk_acl_op

    class Host:
        name, noops = "m3", list[str]()
        state = None  # no pyinfra State: nothing kept from an earlier read (planning_facts)

        def get_fact(self, fact: Any, **kwargs: Any) -> dict[str, Any]:
            return observed

        def noop(self, text: str) -> None:
            self.noops.append(text)

    class State:
        is_executing = executing

    old = zk_acl_op.host, zk_acl_op.state
    zk_acl_op.host, zk_acl_op.state = Host(), State()  # type: ignore[assignment]
    try:
        return [str(c) for c in zk_acl_op.zookeeper_acls._inner(TREES, 2181, 5)]
    finally:
        zk_acl_op.host, zk_acl_op.state = old


def test_an_anonymous_read_is_decided_at_execution_not_taken_for_other_credentials() -> None:
    """The first ZooKeeper member changed (the old one was removed): planning reads before this
    run wrote the digest file there. ZooKeeper hides digest ids from such a read, which
    `decide` would report as another site's ACLs: planning postpones, execution (after the
    file was written) decides, and a file still missing there is its own clear line."""
    hidden = {"reachable": True, "authenticated": False,
              "nodes": {p: {"exists": True, "acl": [["digest", "mesos:x", "cdrwa"]]}
                        for p in fact_paths(TREES)}}
    assert decide(hidden, TREES, "m3").problems  # what the anonymous read would have said
    planned = _acl_op(hidden, executing=False)
    assert len(planned) == 1 and planned[0].startswith("true #"), planned
    from pyinfra.api import OperationError
    with pytest.raises(OperationError, match=f"zookeeper_acls: .*{AUTH_FILE} is missing"):
        _acl_op(hidden, executing=True)
    closed = {"authenticated": True, **fixture("closed_by_the_deploy")["fact"]}
    assert _acl_op(closed, executing=False) == []
