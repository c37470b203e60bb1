"""tests/e2e/phase_shrink.py's pure helpers: the inventory edit (the removed masters' lines go,
nothing else) and the judgment that the cluster settled after a master was cut off."""

from __future__ import annotations

import pytest

from tests.e2e.phase_shrink import remove_host_lines, without_dead_problem

GROWN = '''masters = [
    sandbox_host(SANDBOX, "master1", zookeeper_id=1),
    sandbox_host(SANDBOX, "master2", zookeeper_id=2),
    sandbox_host(SANDBOX, "master3", zookeeper_id=3),
    sandbox_host(SANDBOX, "master4", zookeeper_id=4),
    sandbox_host(SANDBOX, "master5", zookeeper_id=5),
]
registry = [sandbox_host(SANDBOX, "master1", zookeeper_id=1)]
'''


def test_the_removed_masters_lines_go_and_the_rest_stays() -> None:
    shrunk = remove_host_lines(GROWN, ["master4", "master5"])
    assert shrunk == GROWN.replace('    sandbox_host(SANDBOX, "master4", zookeeper_id=4),\n', "") \
        .replace('    sandbox_host(SANDBOX, "master5", zookeeper_id=5),\n', "")
    assert '"master1"' in shrunk.splitlines()[-1]           # the registry line is kept


def test_a_name_without_a_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="master9"):
        remove_host_lines(GROWN, ["master9"])


DEAD_IP = "10.0.0.15"
SETTLED_MODES = {"master1": "follower", "master2": "leader", "master3": "follower",
                 "master4": "follower"}
LEADER = "master@10.0.0.12:5050"


def test_settled_without_the_dead_master() -> None:
    leaders = dict.fromkeys(("master1", "master2", "master3", "master4"), LEADER)
    assert without_dead_problem(SETTLED_MODES, leaders, DEAD_IP) is None


def test_zookeeper_still_electing_is_not_settled() -> None:
    modes = {**SETTLED_MODES, "master2": None, "master3": None}
    leaders = dict.fromkeys(SETTLED_MODES, LEADER)
    problem = without_dead_problem(modes, leaders, DEAD_IP)
    assert problem is not None and problem.startswith("ZooKeeper without the dead master")


def test_the_dead_master_still_named_leader_is_not_settled() -> None:
    leaders = dict.fromkeys(SETTLED_MODES, f"master@{DEAD_IP}:5050")
    problem = without_dead_problem(SETTLED_MODES, leaders, DEAD_IP)
    assert problem is not None and DEAD_IP in problem


def test_masters_that_disagree_or_name_no_leader_are_not_settled() -> None:
    disagree = {**dict.fromkeys(SETTLED_MODES, LEADER), "master4": "master@10.0.0.11:5050"}
    assert without_dead_problem(SETTLED_MODES, disagree, DEAD_IP) is not None
    silent = {**dict.fromkeys(SETTLED_MODES, LEADER), "master1": None}
    assert without_dead_problem(SETTLED_MODES, silent, DEAD_IP) is not None
