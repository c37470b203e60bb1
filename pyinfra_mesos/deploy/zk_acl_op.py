"""A pyinfra operation: the deploy's ACLs on /mesos and /marathon in ZooKeeper (zk_acl.py).

Reads the ZookeeperAcls fact (the fixed nodes: bases, ancestors, Marathon's latch directory; one
zkCli run), decides with zk_acl.decide, and yields one shell command for the change, which sweeps
the changed trees on the host (zk_acl.change_command), or nothing (`host.noop`) when the fixed
nodes carry their ACLs, so a re-run reports no change and costs one zkCli run however many
nodes Marathon's state holds. While planning on a first run ZooKeeper is not installed yet:
the operation plans the change, and at execution (pyinfra runs the body again) it reads the
ensemble for real, waiting for it to serve at most `wait_s` seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyinfra import host, logger, state
from pyinfra.api import OperationError, StringCommand, operation

from pyinfra_mesos.deploy.planning_facts import kept_fact, read_in_background
from pyinfra_mesos.deploy.zk_acl_fact import ZookeeperAcls
from pyinfra_mesos.zk_acl import AUTH_FILE, Tree, change_command, decide, fact_paths

# While planning, a ZooKeeper that does not answer at once is not waited for.
PLANNING_WAIT_MS = 2000


def read_zookeeper_acls(trees: Sequence[Tree], port: int) -> None:
    """Start reading the ACLs `zookeeper_acls(trees, port, ...)` will ask for, with the
    planning wait, in the background (planning_facts.read_in_background): called from a task
    file while pyinfra loads the deploy. A zkCli run (a JVM's start, 0.6-1.5 s) is the slowest
    read of a converged master: at execution every host would wait for it, and in line it
    would hold up the rest of its host's loading."""
    if trees:
        read_in_background(host, ZookeeperAcls, **acl_read(trees, port))


def acl_read(trees: Sequence[Tree], port: int) -> dict[str, Any]:
    """ZookeeperAcls' arguments for `trees` on 127.0.0.1:`port` with the planning wait: the
    background read's and the one the operation first looks for."""
    return {"paths": tuple(fact_paths(trees)), "port": int(port), "wait_ms": PLANNING_WAIT_MS}


@operation(is_idempotent=True)
def zookeeper_acls(trees: Sequence[Tree], port: int, wait_s: int):
    """Give each tree's base its ACL, creating missing bases, and every node under a base that
    changed (see zk_acl.py for why a base that carries its ACL needs no look under it).

    + trees: zk_acl.wanted_trees (empty: nothing to do)
    + port: the ZooKeeper client port on 127.0.0.1
    + wait_s: how long, at execution, zkCli waits for the local member to serve

    Raises OperationError with one `error: <host>: <field>: ...` line per base closed with
    other credentials, and when ZooKeeper does not answer at execution; the change command
    fails with the same line for a node under a base.
    """
    if not trees:
        host.noop("ZooKeeper ACLs are off")
        return
    where = acl_read(trees, port)
    # The read tasks/zookeeper.py made while pyinfra loaded the deploy (read_zookeeper_acls),
    # while this host has run nothing since and it had an authenticated answer; else a read of
    # its own.
    found, observed = kept_fact(host, ZookeeperAcls, **where)
    if not (found and observed and observed.get("reachable")
            and observed.get("authenticated", True)):
        if state.is_executing:
            where["wait_ms"] = int(wait_s) * 1000
        observed = host.get_fact(ZookeeperAcls, **where)
    if not observed.get("reachable"):
        if state.is_executing:
            raise OperationError(
                f"error: {host.name}: zookeeper_client_port: ZooKeeper on 127.0.0.1:{port} did "
                f"not serve a client within {wait_s} s (zkCli.sh -waitforconnection)")
        # Planning a first run: nothing to read yet; the change is decided at execution.
        yield StringCommand("true", "# ZooKeeper ACLs: decided once the ensemble serves")
        return
    if not observed.get("authenticated", True):
        # The digest file is written on this host earlier in this run (tasks/zookeeper.py):
        # when the first member changed (a master removed), planning reads before it exists.
        # An anonymous read sees the deploy's own ACLs as someone else's: decide at execution.
        if state.is_executing:
            raise OperationError(
                f"error: {host.name}: zookeeper_acls: the deploy's ZooKeeper digest file "
                f"{AUTH_FILE} is missing on this host, so its ACLs cannot be read; re-run the "
                "deploy (it writes the file on the first ZooKeeper member before this step)")
        yield StringCommand("true", "# ZooKeeper ACLs: decided once the digest file is written")
        return
    plan = decide(observed, trees, host.name)
    if plan.problems:
        raise OperationError("\n".join(plan.problems))
    if not plan:
        host.noop("/mesos and /marathon carry the deploy's ZooKeeper ACLs")
        return
    if state.is_executing != state.should_check_for_changes():
        logger.info(f"{host.print_prefix}ZooKeeper ACLs: {plan.describe()}")
    yield StringCommand(change_command(plan, trees, host.name, int(port), int(wait_s) * 1000))
