"""log_replicas.fact_command against a real ZooKeeper 3.8 (Debian's package, the fixture of
test_zk_acl_real.py): the replica group as the real Mesos master leaves it (ephemeral
sequential children under `<path>/log_replicas` carrying `log-replica(1)@ip:port`, with
EVERYONE_READ_CREATOR_ALL for the mesos digest), read by the deploy's command; a member whose
session ended is gone from the next read.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient
from kazoo.security import make_digest_acl

from pyinfra_mesos.log_replicas import departed_replica_problems, fact_command, parse_fact
from pyinfra_mesos.zk_acl import auth_file_content
from tests.unit.test_zk_acl_real import MARATHON, MESOS, zk  # noqa: F401 (the fixture)


def read(port: int, auth: Path) -> dict[str, Any]:
    done = subprocess.run(["sh", "-c", fact_command("/mesos", port, 10000, str(auth))],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return parse_fact(done.stdout.splitlines())


def client(port: int) -> KazooClient:
    """A session authenticated with the mesos digest, as a master's."""
    zk_client = KazooClient(hosts=f"127.0.0.1:{port}", auth_data=[("digest", MESOS)])
    zk_client.start(timeout=30)
    return zk_client


def test_the_live_replicas_are_read_and_a_departed_one_goes_with_its_session(
        zk: int, tmp_path: Path) -> None:  # noqa: F811
    auth = tmp_path / "auth"
    auth.write_text(auth_file_content(MESOS, MARATHON))
    auth.chmod(0o600)
    assert read(zk, auth) == {"reachable": True, "members": {}}     # no group yet
    user, _, password = MESOS.partition(":")
    acl = [make_digest_acl(user, password, all=True)]
    staying, departing = client(zk), client(zk)
    try:
        staying.ensure_path("/mesos/log_replicas", acl=acl)
        for zk_client, ip in ((staying, "10.0.0.11"), (departing, "10.0.0.14")):
            zk_client.create("/mesos/log_replicas/", f"log-replica(1)@{ip}:5050".encode(),
                             acl=acl, ephemeral=True, sequence=True)
        # Closed to the world: only the digests on zkCli's stdin let the command read it.
        observed = read(zk, auth)
        assert observed["reachable"]
        assert sorted(observed["members"].values()) == ["log-replica(1)@10.0.0.11:5050",
                                                        "log-replica(1)@10.0.0.14:5050"]
        assert all(name.isdigit() and len(name) == 10 for name in observed["members"])
        [problem] = departed_replica_problems(observed, ["10.0.0.11", "m1"], "m1", "m1")
        assert "log-replica(1)@10.0.0.14:5050" in problem.message
        departing.stop()                          # its session ends: the ephemeral node goes
        departing.close()
        observed = read(zk, auth)
        assert list(observed["members"].values()) == ["log-replica(1)@10.0.0.11:5050"]
        assert departed_replica_problems(observed, ["10.0.0.11", "m1"], "m1", "m1") == []
    finally:
        for zk_client in (staying, departing):
            zk_client.stop()
            zk_client.close()
