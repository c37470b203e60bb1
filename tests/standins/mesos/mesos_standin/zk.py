"""ZooKeeper helpers shared by master and agent: URL parsing, digest ACLs, the leader rule.

Digest credentials come from the URL itself (`zk://user:pass@h1:2181,h2:2181/mesos`): every
Mesos ZooKeeper group (the master contender and detector, the agent's detector, the replicated
log's `log_replicas` group) adds them to its session and creates every znode, the recursive
creation of its base path included, with EVERYONE_READ_CREATOR_ALL; without credentials with
ZOO_OPEN_ACL_UNSAFE (apache/mesos 1.11.0 src/zookeeper/url.hpp `URL::parse`,
src/zookeeper/group.cpp `GroupProcess` constructor, `authenticate`, `create`, `doJoin`,
src/zookeeper/authentication.cpp, src/zookeeper/zookeeper.cpp recursive `create`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NoAuthError, NodeExistsError, NoNodeError
from kazoo.security import ACL, CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE

JSON_LABEL = "json.info"  # src/master/constants.hpp MASTER_INFO_JSON_LABEL
LEGACY_LABEL = "info"  # MASTER_INFO_LABEL (protobuf), still counted by the election
_MEMBER = re.compile(r"^(?P<label>.+)_(?P<seq>\d+)$")
# authentication.cpp: READ for world:anyone, ALL for the session's authenticated ids.
EVERYONE_READ_CREATOR_ALL: list[ACL] = READ_ACL_UNSAFE + CREATOR_ALL_ACL


@dataclass(frozen=True)
class ZkUrl:
    servers: str  # "host:port,host:port" as kazoo wants it
    path: str  # "/mesos"
    credentials: str | None = None  # "user:pass" for the digest scheme, None without

    @property
    def acl(self) -> list[ACL]:
        """The ACL of every znode a group on this URL creates (group.cpp)."""
        return EVERYONE_READ_CREATOR_ALL if self.credentials else OPEN_ACL_UNSAFE


def read_value(value: str) -> str:
    """Mesos lets --zk / --master be `file:///path`; the file holds the real value."""
    if value.startswith("file://"):
        return Path(value[len("file://") :]).read_text().strip()
    return value.strip()


def parse_zk_url(value: str) -> ZkUrl:
    """Parse zk://[user:pass@]host:port[,host:port]/path as zookeeper::URL::parse does: the
    path starts at the first '/', the credentials end at the LAST '@' before it (so a
    password may hold '@' but not '/'). Raises ValueError with Mesos's message."""
    value = read_value(value)
    if not value.startswith("zk://"):
        raise ValueError(f"Expecting 'zk://' at the beginning of the URL: '{value}'")
    rest = value[len("zk://") :]
    authority, slash, path = rest.partition("/")
    credentials, at, servers = authority.rpartition("@")
    if not servers:
        raise ValueError(f"No ZooKeeper servers in '{value}'")
    path = "/" + path.rstrip("/") if slash else "/"
    return ZkUrl(servers=servers, path=path, credentials=credentials if at else None)


def client(url: ZkUrl, timeout: float) -> KazooClient:
    """A session carrying the URL's digest credentials (group.cpp `authenticate`); not started.
    `timeout`: the session timeout in seconds."""
    auth = [("digest", url.credentials)] if url.credentials else None
    return KazooClient(hosts=url.servers, timeout=timeout, auth_data=auth)


def zk_message(exc: KazooException) -> str:
    """The ZooKeeper C client's `zerror` text that Mesos puts in its messages."""
    known = {NoAuthError: "not authenticated", NoNodeError: "no node",
             NodeExistsError: "node exists"}  # fmt: skip
    return known.get(type(exc), str(exc) or type(exc).__name__)


def create_base(zk: KazooClient, url: ZkUrl, path: str) -> None:
    """GroupProcess::create: make `path` and its missing parents with the URL's ACL; an
    existing node (whatever its ACL) is fine. Raises ValueError with Mesos's message."""
    try:
        zk.ensure_path(path, acl=url.acl)
    except KazooException as exc:
        raise ValueError(f"Failed to create '{path}' in ZooKeeper: {zk_message(exc)}") from exc


def join_group(zk: KazooClient, url: ZkUrl, path: str, label: str, data: bytes) -> str:
    """GroupProcess::doJoin: an ephemeral sequential `<path>/<label>_` (no `_` without a label)
    with the URL's ACL; returns the created path. Raises ValueError with Mesos's message."""
    prefix = join(path, label + "_") if label else path.rstrip("/") + "/"
    try:
        return str(zk.create(prefix, data, acl=url.acl, ephemeral=True, sequence=True))
    except KazooException as exc:
        raise ValueError(
            f"Failed to create ephemeral node at '{path}' in ZooKeeper: {zk_message(exc)}"
        ) from exc


def members(children: list[str]) -> list[tuple[int, str, str]]:
    """(sequence, label, name) of group members; other children such as log_replicas are
    skipped because their names do not end in a sequence (src/zookeeper/group.cpp)."""
    out = []
    for name in children:
        m = _MEMBER.match(name)
        if m and m.group("label") in (JSON_LABEL, LEGACY_LABEL):
            out.append((int(m.group("seq")), m.group("label"), name))
    return sorted(out)


def leader_node(children: list[str]) -> str | None:
    """The lowest sequence across json.info_ and info_ members (src/zookeeper/detector.cpp)."""
    found = members(children)
    return found[0][2] if found else None


def json_members(children: list[str]) -> list[str]:
    return [name for _, label, name in members(children) if label == JSON_LABEL]


def join(path: str, name: str) -> str:
    return path.rstrip("/") + "/" + name


def read_master_info(zk: KazooClient, path: str, node: str) -> dict[str, Any] | None:
    """The MasterInfo JSON of a member, or None if it vanished or is not JSON."""
    try:
        data, _ = zk.get(join(path, node))
        info = json.loads(data.decode())
    except Exception:  # noqa: BLE001 - a vanished node or a legacy protobuf member
        return None
    return info if isinstance(info, dict) else None
