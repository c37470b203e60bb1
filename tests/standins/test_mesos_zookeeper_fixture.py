"""The zookeeper fixture serves a real ZooKeeper that kazoo can use."""

from __future__ import annotations

from kazoo.client import KazooClient

from tests.standins.conftest import four_letter


def test_zookeeper_fixture_serves(zookeeper: str) -> None:
    port = int(zookeeper.rsplit(":", 1)[1])
    assert four_letter(port, "ruok") == "imok"
    zk = KazooClient(hosts=zookeeper, timeout=5)
    zk.start(timeout=10)
    try:
        zk.ensure_path("/fixture-check")
        assert zk.exists("/fixture-check") is not None
    finally:
        zk.stop()
        zk.close()
