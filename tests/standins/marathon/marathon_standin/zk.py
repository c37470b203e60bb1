"""ZooKeeper URLs (zk://[user:pass@]h1:2181,h2:2181/path) and kazoo clients."""

from __future__ import annotations

from dataclasses import dataclass

from kazoo.client import KazooClient


@dataclass(frozen=True)
class ZkUrl:
    hosts: str
    path: str
    auth: str | None = None


def parse_zk_url(url: str) -> ZkUrl:
    if not url.startswith("zk://"):
        raise ValueError(f"not a zk:// URL: {url}")
    rest = url[len("zk://"):]
    auth = None
    if "@" in rest.split("/", 1)[0]:
        auth, rest = rest.split("@", 1)
    hosts, _, path = rest.partition("/")
    if not hosts:
        raise ValueError(f"no hosts in {url}")
    return ZkUrl(hosts, "/" + path.strip("/"), auth)


def connect(url: ZkUrl, session_timeout: float, connect_timeout: float) -> KazooClient:
    """Start a client; kazoo keeps reconnecting on its own after this first connection."""
    auth = [("digest", url.auth)] if url.auth else None
    client = KazooClient(hosts=url.hosts, timeout=session_timeout, auth_data=auth)
    client.start(timeout=connect_timeout)
    return client
