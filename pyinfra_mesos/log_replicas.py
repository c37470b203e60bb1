"""Who is a live member of the masters' replicated log, read from ZooKeeper (pure).

Every Mesos master joins the log's replica group, `<zookeeper_mesos_path>/log_replicas`, with an
ephemeral sequential znode (no label: its name is the 10-digit sequence) whose data is its
replica's UPID, `log-replica(1)@<ip>:<port>` (apache/mesos 1.11.0 src/master/main.cpp builds
the Log on `path::join(url->path, "log_replicas")`; src/log/log.cpp joins the group with
`replica->pid()`). The znode goes when the master's ZooKeeper session ends, so a master that
was stopped for good is no longer listed once its session expired.

A shrink (apache/mesos docs/operational-guide.md, "Decreasing the quorum size") lowers the
remaining masters' --quorum only once the departed ones are gone: a departed master still in the
group would make one more replica than the new quorum was computed for (the guide's NOTE: "the
log may be corrupted"). departed_replica_problems is that rule.

Read on a ZooKeeper host through its own zkCli, authenticated with the deploy's digests from
zk_acl.AUTH_FILE when it exists (as zk_acl.fact_command does; Mesos gives its nodes world READ,
so the digests only matter on a cluster whose ACLs differ): the secrets go on zkCli's stdin,
never a command line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from typing import Any

from pyinfra_mesos.problems import Problem, error
from pyinfra_mesos.zk_acl import AUTH_FILE, MARKER, ZK_CLI, _auth, _zkcli

GROUP = "log_replicas"
TAG = "zkrep:"
# A libprocess UPID as stringify(UPID) prints it: `<id>@<ip>:<port>`.
_UPID = re.compile(r"^(?P<id>[^\s@]+)@(?P<host>[^\s@:]+):(?P<port>\d+)$")
_CHILD = re.compile(r"^[A-Za-z0-9_.-]+$")


def group_path(mesos_path: str) -> str:
    """`/mesos` -> `/mesos/log_replicas` (the data's zookeeper_mesos_path)."""
    return f"{mesos_path.rstrip('/')}/{GROUP}"


def fact_command(mesos_path: str, port: int, wait_ms: int, auth_file: str = AUTH_FILE,
                 zk_cli: str = ZK_CLI) -> str:
    """The shell command listing the replica group's members and their data, two zkCli runs
    against 127.0.0.1:`port` (each waiting at most `wait_ms` ms for a serving member).

    Output: `zkrep:absent` (no zkCli), `zkrep:unreachable`, else `zkrep:listed` then one
    `zkrep:node <child>` line per member, then the second run's stdout (`get` then `version`
    per member). Always exits 0.
    """
    path = group_path(mesos_path)
    cli, auth = _zkcli(port, wait_ms, zk_cli), _auth(auth_file)
    listing = shlex.quote(f"ls {path}\nversion\n")
    return (
        f"if [ ! -x {shlex.quote(zk_cli)} ]; then echo {TAG}absent; exit 0; fi; "
        f"out=$({{ {auth}; printf '%s' {listing}; }} | {cli} 2>/dev/null); "
        f"case \"$out\" in *state:SyncConnected*) ;; *) echo {TAG}unreachable; exit 0;; esac; "
        f"echo {TAG}listed; "
        # `ls` prints the children as one `[a, b]` line (nothing when the group is missing).
        "kids=$(printf '%s\\n' \"$out\" | sed -n 's/^\\[\\(.*\\)\\]$/\\1/p' | tr -d ' ' "
        "| tr ',' '\\n' | grep -E '^[A-Za-z0-9_.-]+$'); "
        "[ -z \"$kids\" ] && exit 0; "
        f"printf '{TAG}node %s\\n' $kids; "
        f"{{ {auth}; for k in $kids; do printf 'get %s/%s\\nversion\\n' {shlex.quote(path)} "
        f"\"$k\"; done; }} | {cli} 2>/dev/null; true"
    )


def parse_fact(lines: Sequence[str]) -> dict[str, Any]:
    """fact_command's output -> `{"reachable": bool, "members": {child: upid | None}}`
    (`None`: the member left before its data was read, or its data is not a UPID)."""
    members: dict[str, str | None] = {}
    listed = False
    segments: list[list[str]] = [[]]
    for raw in lines:
        line = raw.rstrip("\n")
        if line in (f"{TAG}absent", f"{TAG}unreachable"):
            return {"reachable": False, "members": {}}
        if line == f"{TAG}listed":
            listed = True
        elif line.startswith(f"{TAG}node "):
            child = line[len(TAG) + 5:]
            if _CHILD.match(child):
                members[child] = None
        elif line.startswith(MARKER):
            segments.append([])
        else:
            segments[-1].append(line.strip())
    if not listed:
        return {"reachable": False, "members": {}}
    for child, segment in zip(members, segments, strict=False):
        members[child] = next((s for s in segment if _UPID.match(s)), None)
    return {"reachable": True, "members": members}


def replica_host(upid: str) -> str | None:
    """`log-replica(1)@10.0.0.5:5050` -> `10.0.0.5` (None when it is not a UPID)."""
    match = _UPID.match(upid.strip())
    return match.group("host") if match else None


def departed_replicas(observed: dict[str, Any], masters: Iterable[str]) -> list[tuple[str, str]]:
    """`(znode child, UPID)` of every listed replica whose address is not in `masters`
    (addresses and names), sorted by child; a member whose data is not a UPID is skipped."""
    known = set(masters)
    departed = []
    for child, upid in sorted(observed.get("members", {}).items()):
        host = replica_host(upid or "")
        if host is not None and host not in known:
            departed.append((child, str(upid)))
    return departed


def departed_replica_problems(observed: dict[str, Any], masters: Iterable[str], where: str,
                              zookeeper: str, inventory: str = "INVENTORY") -> list[Problem]:
    """Refuse a shrink while a master that is not in the inventory is still a live replica.

    `observed`: parse_fact's result; `masters`: the inventory masters' addresses (and names);
    `where`: the host planning; `zookeeper`: the member it was read from. One error per
    departed replica (field `masters`), naming its address and the command that stops it; one
    error when ZooKeeper could not be read (a shrink is not made blind).
    """
    if not observed.get("reachable"):
        return [error(where, "masters",
                      f"the masters' replicated log shrinks, but its replica group could not be "
                      f"read from ZooKeeper on {zookeeper}; nothing was changed. Re-run once "
                      "ZooKeeper serves")]
    problems = []
    for child, upid in departed_replicas(observed, masters):
        problems.append(error(
            where, "masters",
            f"{upid} (ZooKeeper {child}) is still a live replica of the masters' log but not a "
            f"master of the inventory: lowering the quorum now could corrupt the log "
            f"(apache/mesos docs/operational-guide.md). Nothing was changed; run "
            f"python -m pyinfra_mesos remove {inventory} <its host> first (with --dead <its "
            f"host> when it is gone for good and unreachable)"))
    return problems

