"""A pyinfra fact: the existence and ACL of every znode under the deploy's ZooKeeper paths.

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
    | None}}}` for every node under `bases` and their ancestors (zk_acl.parse_fact).

    `reachable` is False while zkCli is not installed (first run, planning) or no server
    answered within `wait_ms` milliseconds; never fails the deploy itself.
    """

    @staticmethod
    def default() -> dict[str, Any]:
        return {"reachable": False, "nodes": {}}

    def command(self, bases: Sequence[str], port: int, wait_ms: int) -> str:
        return fact_command(list(bases), port, wait_ms)

    def process(self, output: list[str]) -> dict[str, Any]:
        return parse_fact(output)
