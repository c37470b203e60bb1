"""ZooKeeper (tasks/zookeeper.py): zoo.cfg, myid, its inputs and probe, and its backup files.

The deploy's rules (pure): zoo.cfg's settings and server.N lines, where myid is written, what a
running server is compared against, what a restarted member must answer before the next one
restarts. The ACLs on /mesos and /marathon are zk_acl.py's.

The on-disk files (pure), for backup.py and restore.py: which ones make a consistent backup,
and the manifest.

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyinfra_mesos.dpkg import package_stamp
from pyinfra_mesos.topology import Topology, zookeeper_server_lines

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


# -- the deploy: zoo.cfg, myid, inputs, probe ------------------------------------------------

def zookeeper_settings(data: Mapping[str, Any]) -> dict[str, str]:
    """zoo.cfg key/values other than the server.N lines."""
    return {
        "tickTime": str(data["zookeeper_tick_time_ms"]),
        "initLimit": str(data["zookeeper_init_limit"]),
        "syncLimit": str(data["zookeeper_sync_limit"]),
        "dataDir": str(data["zookeeper_data_dir"]),
        "clientPort": str(data["zookeeper_client_port"]),
        # 3.5+ allows only `srvr`; the health checks need ruok/mntr/stat too.
        "4lw.commands.whitelist": ",".join(data["zookeeper_4lw_whitelist"]),
        # Off unless asked for: ZooKeeper's own default port for it, 8080, is Marathon's;
        # validation (cluster_ports.ADMIN_SERVER) refuses a port another service binds.
        "admin.enableServer": "true" if data["zookeeper_admin_server"] is True else "false",
        **({"admin.serverPort": str(data["zookeeper_admin_port"])}
           if data["zookeeper_admin_server"] is True else {}),
    }


def zookeeper_servers(data: Mapping[str, Any], topo: Topology) -> list[str]:
    return zookeeper_server_lines(topo.zookeepers, int(data["zookeeper_peer_port"]),
                                  int(data["zookeeper_election_port"]))


def myid_target(myid_path: str, link: Mapping[str, Any] | None | bool) -> str | None:
    """Where to write myid: through Debian's symlink to its target, else the path itself.

    `link` is pyinfra's `files.Link` fact: a dict for a symlink, False for a regular file,
    None when nothing is there yet (return None: the caller writes through whatever link the
    package install creates).
    """
    if isinstance(link, Mapping):
        target = str(link["link_target"])
        if not target.startswith("/"):
            target = str(Path(myid_path).parent / target)
        return target
    if link is False:
        return myid_path
    return None


def zookeeper_inputs(data: Mapping[str, Any]) -> list[str]:
    """zoo.cfg, myid (through Debian's link) and the packages that carry the server."""
    return [f"{data['zookeeper_conf_dir']}/zoo.cfg", f"{data['zookeeper_data_dir']}/myid",
            package_stamp("zookeeper"), package_stamp(str(data["zookeeper_package"]))]


def zookeeper_probe(client_port: int, in_ensemble: bool) -> str:
    """What a restarted ZooKeeper must answer before the next member restarts.

    A member of a formed ensemble must be back as leader or follower (`srvr`). On the first
    deploy the others still run the package's standalone config, so no quorum can form yet:
    there it is enough that the server answers `ruok`.
    """
    word, expect = ("srvr", "Mode: ") if in_ensemble else ("ruok", "imok")
    return (f"bash -c 'exec 3<>/dev/tcp/127.0.0.1/{client_port} && echo {word} >&3 && "
            f"grep -q \"{expect}\" <&3'")


def zookeeper_restart_waits_for_mode(current_servers: Iterable[str], new_servers: Iterable[str],
                                     ensemble_formed: bool) -> bool:
    """Whether a restarted member can be expected back as leader or follower (`srvr` Mode).

    Not on a first deploy (no ensemble yet), and not for an existing member whose server.N list
    grows (3 -> 5): with static config it counts votes against its new list, and the others,
    still on the old list, are only two of five; it stays LOOKING until the next member
    restarts with the new list (seen on the sandbox: 120 s without Mode, then it joined once
    master2 restarted). A member whose list is unchanged, and a new member joining once every
    old one has the new list, do come back.

    A list that only loses members (5 -> 3, the removed ones stopped by `remove` or cut off by
    the firewall, which no longer lists them) comes back too: the restarted member needs a
    majority of its smaller list, and the old-list members count its vote with their own (3 of
    5: members 1, 2 and 3). Waiting for it matters there: restarting the next member at once
    stacks two members' restarts and ZooKeeper's election back-off (notifications double up to
    60 s while no quorum forms) into one outage; the deploy log of a failed e2e shrink shows the
    next two turns finding the ensemble "not serving"."""
    current = sorted(line.strip() for line in current_servers if line.strip())
    new = sorted(line.strip() for line in new_servers if line.strip())
    if not ensemble_formed:
        return False
    return not current or current == new or set(new) < set(current)
