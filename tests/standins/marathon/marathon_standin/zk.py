"""ZooKeeper URLs (zk://[user:pass@]h1:2181,h2:2181/path), their ACLs, and kazoo clients.

Marathon 1.10.26 (d2iq-archive/marathon, src/main/scala/mesosphere/marathon/ZookeeperConf.scala):
`ZkUrlPattern` takes user `[^/:]+` and password `[^@]+`; with both, the Curator client
authenticates with the digest scheme and `zkDefaultCreationACL` is CREATOR_ALL_ACL, else
OPEN_ACL_UNSAFE. RichCuratorFramework.scala's ACLProvider adds READ_ACL_UNSAFE for exactly one
path, the leader latch directory `<zk path>/leader-curator`; every other node, the latch's
member nodes included, gets the default. `toString` and /v2/info show the credentials as
`xxxxxxxx:xxxxxxxx@`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kazoo.client import KazooClient
from kazoo.security import ACL, CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE

_USER = r"[^/:]+"
_PASS = r"[^@]+"
_HOST_AND_PORT = r"[A-z0-9\-.]+(?::\d+)?"  # Java's [A-z0-9-.]: A-z includes [\]^_`
_ZK_NODE = r"[^/]+"
ZK_URL_PATTERN = re.compile(
    rf"^zk://(?:({_USER}):({_PASS})@)?({_HOST_AND_PORT}(?:,{_HOST_AND_PORT})*)"
    rf"(/{_ZK_NODE}(?:/{_ZK_NODE})*)$"
)
REDACTED = "xxxxxxxx:xxxxxxxx@"


@dataclass(frozen=True)
class ZkUrl:
    hosts: str  # "h1:2181,h2:2181"
    path: str  # "/marathon"
    auth: str | None = None  # "user:pass" for the digest scheme

    @property
    def default_acl(self) -> list[ACL]:
        """`zkDefaultCreationACL`: the ACL of every node but the latch directory."""
        return CREATOR_ALL_ACL if self.auth else OPEN_ACL_UNSAFE

    @property
    def leader_acl(self) -> list[ACL]:
        """The latch directory's ACL: "let the world read the leadership information"."""
        return self.default_acl + READ_ACL_UNSAFE

    def redacted(self) -> str:
        """`redactedConnectionString`: what Marathon logs and shows in /v2/info."""
        return f"zk://{REDACTED if self.auth else ''}{self.hosts}{self.path}"


def parse_zk_url(url: str) -> ZkUrl:
    """`ZkUrl.parse`; ValueError with Marathon's message when the URL does not match."""
    match = ZK_URL_PATTERN.match(url)
    if match is None:
        raise ValueError(
            f"{url} is not a valid zk url; it should formatted like "
            "zk://user:pass@host1:port1,host2:port2/path, or zk://host1:port1,host2:port2/marathon"
        )
    user, password, hosts, path = match.groups()
    auth = f"{user}:{password}" if user is not None and password is not None else None
    return ZkUrl(hosts, path, auth)


def redact(value: str) -> str:
    """A zk:// flag value as Marathon prints it; other values (http://...) unchanged."""
    try:
        return parse_zk_url(value).redacted()
    except ValueError:
        return value


def connect(url: ZkUrl, session_timeout: float, connect_timeout: float) -> KazooClient:
    """Start a client; kazoo keeps reconnecting on its own after this first connection."""
    auth = [("digest", url.auth)] if url.auth else None
    client = KazooClient(hosts=url.hosts, timeout=session_timeout, auth_data=auth)
    client.start(timeout=connect_timeout)
    return client
