"""ZooKeeper's on-disk files (pure): which ones make a consistent backup, and the manifest.

What a consistent copy needs (apache/zookeeper, zookeeper-docs/src/main/resources/markdown/
zookeeperAdmin.md, "The Data Directory" and "File Management", 3.8):
- `snapshot.<zxid>` is a FUZZY snapshot: updates keep landing while it is written, so it may
  match no state that ever existed; its suffix is the last zxid committed when it started.
  Replaying the transaction log over it (updates are idempotent) gives the state at the end of
  the log.
- So the server "only needs the latest complete fuzzy snapshot, all log files following it,
  and the last log file preceding it" (the preceding one holds updates made while the snapshot
  was being written). FileTxnLog.getLogFiles(logDirList, snapshotZxid) is that rule in code:
  the log that starts at or just before the snapshot, and every later one
  (zookeeper-server/src/main/java/org/apache/zookeeper/server/persistence/FileTxnLog.java).
- The newest snapshot may still be being written ("complete"): the backup keeps the newest TWO
  snapshots and the logs from the one preceding the older; on start ZooKeeper uses the newest
  snapshot that is valid (FileSnap.deserialize tries the most recent ones in turn).

Transaction log format (FileTxnLog.append, Util.writeTxnBytes; jute big-endian): a 16-byte
header (int magic "ZKLG", int version 2, long dbid), then records of long crc, int length,
`length` bytes (TxnHeader first: long clientId, int cxid, long zxid, ...), byte 0x42 ('B').
A length of 0 is the preallocated zero padding: the end of the log.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

FILE_NAME = re.compile(r"(snapshot|log)\.([0-9a-f]+)")
LOG_MAGIC = b"ZKLG"
SNAPSHOTS_KEPT = 2


@dataclass(frozen=True)
class ZkFile:
    name: str
    kind: str  # "snapshot" | "log"
    zxid: int


def parse_name(name: str) -> ZkFile | None:
    """`snapshot.1a` / `log.100000001` -> ZkFile; None for anything else (acceptedEpoch, ...)."""
    match = FILE_NAME.fullmatch(name)
    if not match:
        return None
    return ZkFile(name, match.group(1), int(match.group(2), 16))


def select_backup(names: list[str]) -> list[ZkFile]:
    """The files a consistent backup needs, snapshots first then logs, each by zxid.

    Raises ValueError when there is neither a snapshot nor a log.
    """
    files = [f for f in (parse_name(n) for n in names) if f is not None]
    snapshots = sorted((f for f in files if f.kind == "snapshot"), key=lambda f: f.zxid)
    logs = sorted((f for f in files if f.kind == "log"), key=lambda f: f.zxid)
    if not snapshots and not logs:
        raise ValueError("no snapshot.* or log.* files")
    kept = snapshots[-SNAPSHOTS_KEPT:]
    if not kept:
        return logs  # no snapshot yet: the logs from the start are the whole history
    base = kept[0].zxid
    preceding = [f for f in logs if f.zxid <= base]
    start = preceding[-1].zxid if preceding else base
    return kept + [f for f in logs if f.zxid >= start]


def last_logged_zxid(data: bytes) -> int | None:
    """The zxid of the last whole record in a transaction log; None when it has none.

    Raises ValueError when the header is not a ZooKeeper transaction log.
    """
    if len(data) < 16 or data[:4] != LOG_MAGIC:
        raise ValueError("not a ZooKeeper transaction log (no ZKLG header)")
    offset, last = 16, None
    while offset + 12 <= len(data):
        (length,) = struct.unpack_from(">i", data, offset + 8)
        end = offset + 12 + length
        if length <= 0 or end + 1 > len(data) or data[end] != 0x42:
            break  # padding, or a record cut short by the copy: the log ends here
        if length >= 20:
            (last,) = struct.unpack_from(">q", data, offset + 12 + 12)
        offset = end + 1
    return last


def hex_zxid(zxid: int | None) -> str | None:
    return None if zxid is None else f"0x{zxid:x}"
