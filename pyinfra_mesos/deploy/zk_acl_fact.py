"""A pyinfra fact: the existence and ACL of the deploy's fixed ZooKeeper nodes (zk_acl.fact_paths:
the bases /mesos and /marathon, their ancestors and Marathon's latch directory), in one zkCli run
whatever the trees under them hold (zk_acl.py says why the bases are enough).

Read on a ZooKeeper host through its own client (`zkCli.sh` against 127.0.0.1), authenticated
with the deploy's digests from zk_acl.AUTH_FILE when that file exists. The command and the
parsing live in zk_acl.py (pure, unit-tested); this is the pyinfra glue, like pyinfra's own
facts (a command and a process).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyinfra.api import FactBase

from pyinfra_mesos.zk_acl import fact_command, parse_fact


class ZookeeperAcls(FactBase[dict[str, Any]]):
    """`{"reachable": bool, "nodes": {path: {"exists": bool, "acl": [[scheme, id, perms], ...]
    | None}}}` for each of `paths`, never their children (zk_acl.parse_fact).

    `reachable` is False while zkCli is not installed (first run, planning) or no server
    answered within `wait_ms` milliseconds; never fails the deploy itself.
    """

    @staticmethod
    def default() -> dict[str, Any]:
        return {"reachable": False, "nodes": {}}

    def command(self, paths: Sequence[str], port: int, wait_ms: int) -> str:
        return fact_command(list(paths), port, wait_ms)

    def process(self, output: list[str]) -> dict[str, Any]:
        return parse_fact(output)
