"""The ACLs the deploy gives /mesos and /marathon in ZooKeeper, and how it reads and sets them.

Mesos and Marathon protect the znodes they create once their zk:// URLs carry digest
credentials, but neither changes the ACL of a node that already exists, and any Mesos group
(an agent's leader detector without credentials included) creates a missing base path with its
own ACL (apache/mesos 1.11.0 src/zookeeper/group.cpp). So a cluster deployed before ACLs, or an
agent that started before any master, leaves the base path open. The deploy therefore sets, from
one ZooKeeper host before any Mesos or Marathon service starts, what the products themselves
would have created:

- `/mesos` and every node under it: EVERYONE_READ_CREATOR_ALL for the `mesos` digest
  (`world:anyone:r`, `digest:<mesos id>:cdrwa`; apache/mesos 1.11.0
  src/zookeeper/authentication.cpp);
- `/marathon` and every node under it: CREATOR_ALL_ACL for the `marathon` digest, except the
  leader latch directory `<path>/leader-curator`, to which Marathon's ACLProvider adds world READ
  (d2iq-archive/marathon v1.10.26 ZookeeperConf.scala zkDefaultCreationACL,
  core/storage/store/impl/zk/RichCuratorFramework.scala).

A digest ACL names its user as `user:base64(sha1("user:password"))` (ZooKeeper's
DigestAuthenticationProvider.generateDigest), so the ACL itself carries no secret. Reading it
does need one: ZooKeeper 3.8 answers getAcl only with READ or ADMIN permission on the node, and
shows a digest id as `user:x` unless the client has ADMIN (FinalRequestProcessor, ZOOKEEPER-1392;
seen on Debian's 3.8.0). To tell the deploy's own ACL from one set with other credentials, the
zkCli session authenticates with both digests, read from a 0600 file on the host (AUTH_FILE,
`addauth` lines on zkCli's stdin, never a command line).

Everything here is pure: the wanted ACLs from the data, the zkCli scripts (one shell command
for the fact, one for the change), parsing zkCli 3.8's output, and the decision.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ZK_CLI = "/usr/share/zookeeper/bin/zkCli.sh"
# Root's alone (private_files.PRIVATE_DIR is 0700): the `addauth digest user:password` lines.
AUTH_FILE = "/etc/pyinfra-mesos/zookeeper-acl-auth"
# Marathon's leader latch directory, relative to its zk path (CuratorElectionStream.scala).
MARATHON_LATCH_DIR = "leader-curator"
# What zkCli 3.8 prints, on stdout, for `version`: the marker between one node's answers and
# the next's (getAcl's own output does not name the node).
MARKER = "ZooKeeper CLI version:"
# Fact lines the shell command prints itself (zkCli never starts a line with these).
TAG = "zkacl:"

Entry = tuple[str, str, str]  # (scheme, id, perms), e.g. ("world", "anyone", "r")
WORLD_READ: Entry = ("world", "anyone", "r")
WORLD_ALL: Entry = ("world", "anyone", "cdrwa")


def digest_id(credentials: str) -> str:
    """`user:password` -> `user:base64(sha1(user:password))`, ZooKeeper's digest ACL id."""
    user = credentials.partition(":")[0]
    digest = base64.b64encode(hashlib.sha1(credentials.encode()).digest()).decode()
    return f"{user}:{digest}"


def acl_text(acl: Iterable[Entry]) -> str:
    """The ACL as zkCli's setAcl/create take it: `scheme:id:perms,...` (sorted, stable)."""
    return ",".join(f"{scheme}:{ident}:{perms}" for scheme, ident, perms in sorted(acl))


@dataclass(frozen=True)
class Tree:
    """A base path and the ACL every node under it should carry (`special`: per full path)."""

    base: str
    acl: frozenset[Entry]
    special: Mapping[str, frozenset[Entry]] = field(default_factory=dict)
    data_key: str = ""  # the group_data key an error line names

    def acl_for(self, path: str) -> frozenset[Entry]:
        return self.special.get(path, self.acl)

    def holds(self, path: str) -> bool:
        return path == self.base or path.startswith(self.base + "/")


def wanted_trees(data: Mapping[str, Any], mesos: str, marathon: str) -> list[Tree]:
    """The two trees from the data and the two `user:password` credentials; [] when
    zookeeper_acls is off or a credential is empty (never generated)."""
    if not data.get("zookeeper_acls", True) or not (mesos and marathon):
        return []
    mesos_all = ("digest", digest_id(mesos), "cdrwa")
    marathon_all = ("digest", digest_id(marathon), "cdrwa")
    marathon_path = str(data.get("zookeeper_marathon_path") or "/marathon")
    return [
        Tree(str(data.get("zookeeper_mesos_path") or "/mesos"),
             frozenset({WORLD_READ, mesos_all}), data_key="zookeeper_mesos_credentials"),
        Tree(marathon_path, frozenset({marathon_all}),
             {f"{marathon_path}/{MARATHON_LATCH_DIR}": frozenset({marathon_all, WORLD_READ})},
             data_key="zookeeper_marathon_credentials"),
    ]


def auth_file_content(mesos: str, marathon: str) -> str:
    """AUTH_FILE: one `addauth digest user:password` line per credential (a secret: 0600)."""
    return "".join(f"addauth digest {c}\n" for c in (mesos, marathon) if c)


def ancestors(path: str) -> list[str]:
    """`/a/b/c` -> [`/a`, `/a/b`] (the root excluded)."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def _zkcli(port: int, wait_ms: int) -> str:
    # -waitforconnection: commands run only once a server serves the session (a member that is
    # not in a quorum refuses clients), bounded by -timeout; without a connection zkCli exits.
    return (f"{ZK_CLI} -waitforconnection -timeout {max(int(wait_ms), 1)} "
            f"-server 127.0.0.1:{int(port)}")


def fact_command(bases: Sequence[str], port: int, wait_ms: int, auth_file: str = AUTH_FILE) -> str:
    """The shell command that reads every node's existence and ACL under `bases`.

    Two zkCli runs: the first lists the trees (`ls -R`), the second asks `stat`, `getAcl` and a
    `version` marker for each listed node (zkCli has no recursive getAcl). Output: `zkacl:absent`
    (no zkCli yet), `zkacl:unreachable`, or one `zkacl:node <path>` line per node in order,
    then zkCli's stdout (parse_fact). Always exits 0.
    """
    nodes = [n for b in bases for n in ancestors(b)] + list(bases)
    cli = _zkcli(port, wait_ms)
    auth = f"{{ cat {shlex.quote(auth_file)} 2>/dev/null; true; }}"
    listing = "".join(f"ls -R {b}\\n" for b in bases)
    return (
        f"if [ ! -x {ZK_CLI} ]; then echo {TAG}absent; exit 0; fi; "
        f"out=$({{ {auth}; printf '{listing}'; }} | {cli} 2>/dev/null); "
        f"case \"$out\" in *state:SyncConnected*) ;; *) echo {TAG}unreachable; exit 0;; esac; "
        f"nodes=$({{ printf '%s\\n' {shlex.join(nodes)}; printf '%s\\n' \"$out\" | grep '^/'; }}"
        f" | awk '!seen[$0]++'); "
        f"printf '%s\\n' \"$nodes\" | sed 's/^/{TAG}node /'; "
        f"{{ {auth}; printf '%s\\n' \"$nodes\" | "
        f"awk '{{print \"stat \" $0; print \"getAcl \" $0; print \"version\"}}'; }} "
        f"| {cli} 2>/dev/null; true"
    )


_ACL_ID = re.compile(r"^'([^,]+),'(.*)$")
_ACL_PERMS = re.compile(r"^: ([cdrwa]*)$")


def parse_fact(lines: Sequence[str]) -> dict[str, Any]:
    """fact_command's output -> `{"reachable": bool, "nodes": {path: {"exists": bool,
    "acl": [[scheme, id, perms], ...] | None}}}`; `acl` None when the node exists but its ACL
    could not be read (no READ nor ADMIN for the deploy's digests). JSON-shaped, for a fixture.

    zkCli 3.8 prints getAcl as `'<scheme>,'<id>` then `: <perms>` per entry, stat as
    `cZxid = ...` lines, errors on stderr (dropped); one `version` line ends each node.
    """
    order: list[str] = []
    segments: list[list[str]] = [[]]
    for raw in lines:
        line = raw.rstrip("\n")
        if line in (f"{TAG}absent", f"{TAG}unreachable"):
            return {"reachable": False, "nodes": {}}
        if line.startswith(f"{TAG}node "):
            order.append(line[len(TAG) + 5:])
        elif line.startswith(MARKER):
            segments.append([])
        else:
            segments[-1].append(line)
    if not order or len(segments) - 1 < len(order):
        return {"reachable": False, "nodes": {}}      # the second zkCli did not finish
    nodes: dict[str, Any] = {}
    for path, segment in zip(order, segments, strict=False):
        acl: list[list[str]] = []
        for first, second in zip(segment, segment[1:], strict=False):
            ident, perms = _ACL_ID.match(first), _ACL_PERMS.match(second)
            if ident and perms:
                acl.append([ident.group(1), ident.group(2), perms.group(1)])
        exists = any(line.startswith("cZxid = ") for line in segment)
        nodes[path] = {"exists": exists, "acl": sorted(acl) if exists and acl else None}
    return {"reachable": True, "nodes": nodes}


@dataclass
class Plan:
    """What the change does: nodes to create and nodes to setAcl, each with its ACL; problems
    are error lines that stop the deploy instead."""

    creates: list[tuple[str, frozenset[Entry]]] = field(default_factory=list)
    setacls: list[tuple[str, frozenset[Entry]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.creates or self.setacls)

    def describe(self) -> str:
        """One line for the operator (paths only; the ACL ids are hashes, not shown)."""
        parts = []
        if self.creates:
            parts.append("create " + ", ".join(p for p, _ in self.creates))
        if self.setacls:
            shown = ", ".join(p for p, _ in self.setacls[:5])
            more = f" and {len(self.setacls) - 5} more" if len(self.setacls) > 5 else ""
            parts.append(f"set the ACL of {shown}{more}")
        return "; ".join(parts)


def _foreign(acl: Sequence[Sequence[str]], ours: set[str]) -> bool:
    """A digest entry that is not one of the deploy's ids (or is shown redacted, `user:x`)."""
    return any(scheme == "digest" and ident not in ours for scheme, ident, _ in acl)


def decide(observed: Mapping[str, Any], trees: Sequence[Tree], where: str) -> Plan:
    """Compare what the fact read with the trees. `where` names the host in error lines.

    A missing base (or ancestor) is created with the tree's ACL; an existing node whose ACL
    differs is set (ACLs compare as sets). A node whose ACL cannot be read, or that carries a
    digest that is not the deploy's, was closed with other credentials: a problem, never
    guessed over.
    """
    plan = Plan()
    nodes: Mapping[str, Any] = observed.get("nodes", {})
    ours = {ident for tree in trees for scheme, ident, _ in tree.acl if scheme == "digest"}
    created: set[str] = set()
    for tree in trees:
        for path in [*ancestors(tree.base), tree.base]:
            if not nodes.get(path, {}).get("exists") and path not in created:
                plan.creates.append((path, tree.acl))
                created.add(path)
        for path in sorted(p for p in nodes if tree.holds(p)):
            node = nodes[path]
            if not node.get("exists"):
                continue
            acl = node.get("acl")
            if acl is None or _foreign(acl, ours):
                user = next(i.partition(":")[0] for s, i, _ in tree.acl if s == "digest")
                plan.problems.append(
                    f"error: {where}: {tree.data_key}: {path} carries a ZooKeeper digest ACL "
                    "that is not the current credentials' (changed since it was set?): open it "
                    f"with the old ones (zkCli.sh, typed: addauth digest {user}:<old secret>; "
                    f"setAcl -R {tree.base} world:anyone:cdrwa), or set {tree.data_key} back, "
                    "and re-run")
                break
            if {tuple(e) for e in acl} != tree.acl_for(path):
                plan.setacls.append((path, tree.acl_for(path)))
    return plan


def change_lines(plan: Plan) -> list[str]:
    """zkCli stdin lines for the plan (after the AUTH_FILE lines): creates first, parents
    before children, then setAcl per node (not `-R`: the latch directory's ACL differs)."""
    lines = [f"create {path} '' {acl_text(acl)}" for path, acl in plan.creates]
    lines += [f"setAcl {path} {acl_text(acl)}" for path, acl in plan.setacls]
    return lines


# zkCli 3.8's error lines that mean the change did not happen. "Node does not exist" is not
# one: an ephemeral node (a running master's) may go between the read and the change, and the
# next run's read shows anything left.
FAILURES = ("Insufficient permission", "Authentication is not valid", "Node already exists",
            "KeeperErrorCode", "Exception")


def change_command(lines: Sequence[str], port: int, wait_ms: int,
                   auth_file: str = AUTH_FILE) -> str:
    """The shell command that runs `lines` in one zkCli session authenticated from AUTH_FILE;
    exits 1 with zkCli's error lines on stderr when any failed or it could not connect."""
    script = shlex.quote("".join(f"{line}\n" for line in lines))
    failures = "|".join(FAILURES)
    return (
        f"out=$({{ cat {shlex.quote(auth_file)} 2>/dev/null; printf '%s' {script}; }} "
        f"| {_zkcli(port, wait_ms)} 2>&1); "
        f"case \"$out\" in *state:SyncConnected*) ;; *) echo 'zkCli could not connect to "
        f"127.0.0.1:{int(port)}' >&2; exit 1;; esac; "
        f"if printf '%s\\n' \"$out\" | grep -E '^({failures})' >&2; then exit 1; fi"
    )
