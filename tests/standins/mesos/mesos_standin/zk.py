"""ZooKeeper helpers shared by master and agent: URL parsing and the Mesos leader rule."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient

JSON_LABEL = "json.info"  # src/master/constants.hpp MASTER_INFO_JSON_LABEL
LEGACY_LABEL = "info"  # MASTER_INFO_LABEL (protobuf), still counted by the election
_MEMBER = re.compile(r"^(?P<label>.+)_(?P<seq>\d+)$")


@dataclass(frozen=True)
class ZkUrl:
    servers: str  # "host:port,host:port" as kazoo wants it
    path: str  # "/mesos"


def read_value(value: str) -> str:
    """Mesos lets --zk / --master be `file:///path`; the file holds the real value."""
    if value.startswith("file://"):
        return Path(value[len("file://") :]).read_text().strip()
    return value.strip()


def parse_zk_url(value: str) -> ZkUrl:
    """Parse zk://[user:pass@]host:port[,host:port]/path (zookeeper::URL::parse)."""
    value = read_value(value)
    if not value.startswith("zk://"):
        raise ValueError(f"Expecting 'zk://' at the beginning of the URL: '{value}'")
    rest = value[len("zk://") :]
    if "@" in rest.split("/", 1)[0]:
        rest = rest.split("@", 1)[1]  # digest credentials: the sandbox ZooKeeper has no ACLs
    servers, slash, path = rest.partition("/")
    if not servers:
        raise ValueError(f"No ZooKeeper servers in '{value}'")
    path = "/" + path.rstrip("/") if slash else "/"
    return ZkUrl(servers=servers, path=path if path != "" else "/")


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
