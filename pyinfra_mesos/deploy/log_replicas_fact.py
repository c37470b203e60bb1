"""A pyinfra fact: the members of the masters' replicated log group in ZooKeeper and their
replica UPIDs (log_replicas.py holds the command and the parsing, pure and unit-tested).

Read on a ZooKeeper host through its own zkCli, with the deploy's digests from zk_acl.AUTH_FILE
on zkCli's stdin when that file exists (the first member has it), as zk_acl_fact.py does.
"""

from __future__ import annotations

from typing import Any

from pyinfra.api import FactBase

from pyinfra_mesos.log_replicas import fact_command, parse_fact


class MesosLogReplicas(FactBase[dict[str, Any]]):
    """`{"reachable": bool, "members": {znode name: "log-replica(1)@ip:port" | None}}` of
    `<mesos_path>/log_replicas` (log_replicas.parse_fact); `reachable` False while zkCli is
    missing or no member served within `wait_ms` milliseconds."""

    @staticmethod
    def default() -> dict[str, Any]:
        return {"reachable": False, "members": {}}

    def command(self, mesos_path: str, port: int, wait_ms: int) -> str:
        return fact_command(mesos_path, port, wait_ms)

    def process(self, output: list[str]) -> dict[str, Any]:
        return parse_fact(output)
