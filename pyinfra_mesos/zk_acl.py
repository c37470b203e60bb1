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

What a run reads, and why that is enough. The fact reads a fixed, small set of nodes in one
zkCli run (fact_paths: the bases, their ancestors and Marathon's latch directory), never the
trees under them, so a converged re-run costs the same whatever Marathon's state holds. Once a
base carries its ACL, only holders of the deploy's digests can create, change or delete its
children: ZooKeeper checks CREATE and DELETE on a node's parent and ADMIN (setAcl) on the node
itself (world has READ on `/mesos`, nothing on `/marathon`), and by induction down the tree the
same holds under every child that carries the ACL. The holders create
children with their own digest: Mesos with EVERYONE_READ_CREATOR_ALL (apache/mesos 1.11.0
src/zookeeper/group.cpp GroupProcess, src/state/zookeeper.cpp), Marathon with CREATOR_ALL
(d2iq-archive/marathon v1.10.26 ZookeeperConf.scala zkDefaultCreationACL). A child with another
ACL can therefore only predate the base's closing, and the change that closes a base sweeps its
whole tree in the same run (sweep_command), after closing the base in the same zkCli session
that lists the tree, so no child can appear open between the listing and the closing. The
trade-off: a child opened by hand under a closed base (an operator's `setAcl`, typed with the
digest) is not seen by later runs.

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

from pyinfra_mesos.flags import zk_digest_user

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


def digest_id(credentials: str) -> str:
    """`user:password` -> `user:base64(sha1(user:password))`, ZooKeeper's digest ACL id."""
    user = zk_digest_user(credentials)
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


def fact_paths(trees: Sequence[Tree]) -> list[str]:
    """The fixed nodes the fact reads: each base's ancestors, the base, its special nodes
    (Marathon's latch directory), in that order, without repeats. Never a node's children."""
    paths = [p for tree in trees for p in [*ancestors(tree.base), tree.base, *sorted(tree.special)]]
    return list(dict.fromkeys(paths))


def _zkcli(port: int, wait_ms: int, zk_cli: str) -> str:
    # -waitforconnection: commands run only once a server serves the session (a member that is
    # not in a quorum refuses clients), bounded by -timeout; without a connection zkCli exits.
    return (f"{shlex.quote(zk_cli)} -waitforconnection -timeout {max(int(wait_ms), 1)} "
            f"-server 127.0.0.1:{int(port)}")


def _auth(auth_file: str) -> str:
    """The shell group that prints AUTH_FILE's `addauth` lines (nothing when it is absent)."""
    return f"{{ cat {shlex.quote(auth_file)} 2>/dev/null; true; }}"


def read_lines(paths: Sequence[str]) -> str:
    """zkCli stdin lines reading `paths`: `stat`, `getAcl` and the `version` marker each, then
    `quit`: zkCli 3.8 left at the end of its input takes about 200 ms longer to exit (measured on
    a sandbox member: 600 ms against 400 ms a run), and this read runs on every deploy."""
    return "".join(f"stat {p}\ngetAcl {p}\nversion\n" for p in paths) + "quit\n"


def fact_command(paths: Sequence[str], port: int, wait_ms: int, auth_file: str = AUTH_FILE,
                 zk_cli: str = ZK_CLI) -> str:
    """The shell command that reads the existence and ACL of each of `paths` (fact_paths).

    One zkCli run, whatever lies under the paths. Output: `zkacl:absent` (no zkCli yet),
    `zkacl:unreachable`, or one `zkacl:node <path>` line per path in order, then zkCli's
    stdout (parse_fact); first `zkacl:noauth` when `auth_file` is not there (the read is
    anonymous: ZooKeeper hides digest ids and refuses READ on closed nodes). Always exits 0.
    """
    return (
        f"if [ ! -x {shlex.quote(zk_cli)} ]; then echo {TAG}absent; exit 0; fi; "
        f"[ -r {shlex.quote(auth_file)} ] || echo {TAG}noauth; "
        f"out=$({{ {_auth(auth_file)}; printf '%s' {shlex.quote(read_lines(paths))}; }} "
        f"| {_zkcli(port, wait_ms, zk_cli)} 2>/dev/null); "
        f"case \"$out\" in *state:SyncConnected*) ;; *) echo {TAG}unreachable; exit 0;; esac; "
        f"printf '{TAG}node %s\\n' {shlex.join(paths)}; printf '%s\\n' \"$out\""
    )


_ACL_ID = re.compile(r"^'([^,]+),'(.*)$")
_ACL_PERMS = re.compile(r"^: ([cdrwa]*)$")


def parse_fact(lines: Sequence[str]) -> dict[str, Any]:
    """fact_command's output -> `{"reachable": bool, "authenticated": bool, "nodes": {path:
    {"exists": bool, "acl": [[scheme, id, perms], ...] | None}}}`; `acl` None when the node
    exists but its ACL could not be read (no READ nor ADMIN for the deploy's digests);
    `authenticated` False when the host had no digest file (an anonymous read: a decision on
    it would take the deploy's own ACLs for someone else's). JSON-shaped, for a fixture.

    zkCli 3.8 prints getAcl as `'<scheme>,'<id>` then `: <perms>` per entry, stat as
    `cZxid = ...` lines, errors on stderr (dropped); one `version` line ends each node.
    """
    order: list[str] = []
    segments: list[list[str]] = [[]]
    authenticated = True
    for raw in lines:
        line = raw.rstrip("\n")
        if line in (f"{TAG}absent", f"{TAG}unreachable"):
            return {"reachable": False, "authenticated": authenticated, "nodes": {}}
        if line == f"{TAG}noauth":
            authenticated = False
        elif line.startswith(f"{TAG}node "):
            order.append(line[len(TAG) + 5:])
        elif line.startswith(MARKER):
            segments.append([])
        else:
            segments[-1].append(line)
    if not order or len(segments) - 1 < len(order):  # zkCli stopped before the last node
        return {"reachable": False, "authenticated": authenticated, "nodes": {}}
    nodes: dict[str, Any] = {}
    for path, segment in zip(order, segments, strict=False):
        acl: list[list[str]] = []
        for first, second in zip(segment, segment[1:], strict=False):
            ident, perms = _ACL_ID.match(first), _ACL_PERMS.match(second)
            if ident and perms:
                acl.append([ident.group(1), ident.group(2), perms.group(1)])
        exists = any(line.startswith("cZxid = ") for line in segment)
        nodes[path] = {"exists": exists, "acl": sorted(acl) if exists and acl else None}
    return {"reachable": True, "authenticated": authenticated, "nodes": nodes}


@dataclass
class Plan:
    """What the change does: fixed nodes to create and to setAcl, each with its ACL, and the
    bases whose whole tree is then swept on the host (sweep_command); problems are error lines
    that stop the deploy instead."""

    creates: list[tuple[str, frozenset[Entry]]] = field(default_factory=list)
    setacls: list[tuple[str, frozenset[Entry]]] = field(default_factory=list)
    sweep: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.creates or self.setacls)

    def describe(self) -> str:
        """One line for the operator (paths only; the ACL ids are hashes, not shown)."""
        parts = []
        if self.creates:
            parts.append("create " + ", ".join(p for p, _ in self.creates))
        if self.setacls:
            parts.append("set the ACL of " + ", ".join(p for p, _ in self.setacls))
        if self.sweep:
            parts.append("then of every node under " + ", ".join(self.sweep) + " that differs")
        return "; ".join(parts)


def _foreign(acl: Sequence[Sequence[str]], ours: set[str]) -> bool:
    """A digest entry that is not one of the deploy's ids (or is shown redacted, `user:x`)."""
    return any(scheme == "digest" and ident not in ours for scheme, ident, _ in acl)


def _ours(trees: Sequence[Tree]) -> set[str]:
    return {ident for tree in trees for scheme, ident, _ in tree.acl if scheme == "digest"}


def problem_parts(tree: Tree, where: str) -> tuple[str, str]:
    """The clear line for a node of `tree` closed with other credentials, split around the
    node's path (the host-side sweep prints the same line with the path it found)."""
    user = next(i.partition(":")[0] for s, i, _ in tree.acl if s == "digest")
    return (f"error: {where}: {tree.data_key}: ",
            " carries a ZooKeeper digest ACL that is not the current credentials' (changed "
            f"since it was set?): open it with the old ones (zkCli.sh, typed: addauth digest "
            f"{user}:<old secret>; setAcl -R {tree.base} world:anyone:cdrwa), or set "
            f"{tree.data_key} back, and re-run")


def decide(observed: Mapping[str, Any], trees: Sequence[Tree], where: str) -> Plan:
    """Compare what the fact read (the fixed nodes, fact_paths) with the trees. `where` names
    the host in error lines.

    A missing base (or ancestor) is created with the tree's ACL; an existing base or special
    node whose ACL differs is set (ACLs compare as sets); a tree with either is swept. A node
    whose ACL cannot be read, or that carries a digest that is not the deploy's, was closed
    with other credentials: a problem, never guessed over.
    """
    plan = Plan()
    nodes: Mapping[str, Any] = observed.get("nodes", {})
    ours = _ours(trees)
    created: set[str] = set()
    for tree in trees:
        changes = len(plan.creates) + len(plan.setacls)
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
                head, tail = problem_parts(tree, where)
                plan.problems.append(head + path + tail)
                break
            if {tuple(e) for e in acl} != tree.acl_for(path):
                plan.setacls.append((path, tree.acl_for(path)))
        if len(plan.creates) + len(plan.setacls) > changes:
            plan.sweep.append(tree.base)
    return plan


def change_lines(plan: Plan) -> list[str]:
    """zkCli stdin lines for the plan's fixed nodes (after the AUTH_FILE lines): creates first,
    parents before children, then setAcl per node (not `-R`: the latch directory's ACL differs),
    then `ls -R` of each swept base, in the same session, so the listing holds every child
    created before the base closed."""
    lines = [f"create {path} '' {acl_text(acl)}" for path, acl in plan.creates]
    lines += [f"setAcl {path} {acl_text(acl)}" for path, acl in plan.setacls]
    lines += [f"ls -R {base}" for base in plan.sweep]
    return lines


def _awk_string(text: str) -> str:
    """`text` as an awk string literal (paths and host names are checked single-line text)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def sweep_program(trees: Sequence[Tree], where: str) -> str:
    """The awk program that judges every swept node on the host.

    Input: one `zkacl:node <path>` line per node, then zkCli's stdout for `stat`, `getAcl` and
    `version` of each of those nodes (read_lines' format, the fact's); or zkCli's output for
    change_lines, where `ls -R` stops with `Insufficient permission : <path>` at a node it may
    not read. Output: `setAcl <path> <acl>`
    for each node whose ACL differs (ACLs compare as sets; zkCli prints each entry once), or
    the clear line of problem_parts, once per tree, for a node closed with other credentials
    (or refused); an `error:` line when zkCli stopped before the last node. A node gone since
    the listing (an ephemeral one) is skipped.
    POSIX awk (Debian's default is mawk).
    """
    setup = [f"ours[{_awk_string(i)}] = 1" for i in sorted(_ours(trees))]
    for t, tree in enumerate(trees, 1):
        head, tail = problem_parts(tree, where)
        setup += [f"base[{t}] = {_awk_string(tree.base)}", f"key[{t}] = {_awk_string(tree.base)}",
                  f"head[{t}] = {_awk_string(head)}", f"tail[{t}] = {_awk_string(tail)}"]
        acls = {tree.base: tree.acl, **tree.special}
        for path in sorted(tree.special):
            setup.append(f"special[{_awk_string(path)}] = {_awk_string(path)}")
        for k, acl in sorted(acls.items()):
            setup += [f"want[{_awk_string(k)}] = {_awk_string(acl_text(acl))}",
                      f"wn[{_awk_string(k)}] = {len(acl)}"]
            setup += [f"wset[{_awk_string(k)}, {_awk_string(acl_text([e]))}] = 1"
                      for e in sorted(acl)]
    stopped = (f"error: {where}: zookeeper_client_port: zkCli stopped before reading every "
               "node it listed")
    return "\n".join([
        "BEGIN {", *setup, f"nt = {len(trees)}; n = 0; seg = 1", "}",
        f'index($0, "{TAG}node ") == 1 {{ n++; path[n] = substr($0, {len(TAG) + 6}); next }}',
        f'index($0, "{MARKER}") == 1 {{ seg++; pend = ""; next }}',
        f'index($0, "{DENIED}") == 1 {{ denied[++nd] = substr($0, {len(DENIED) + 1}); next }}',
        'index($0, "cZxid = ") == 1 { ex[seg] = 1; next }',
        "/^'[^,]+,'/ { pend = $0; next }",
        "/^: [cdrwa]*$/ && pend != \"\" {",
        "  c = index(pend, \",'\")",
        "  e = substr(pend, 2, c - 2) \":\" substr(pend, c + 2) \":\" substr($0, 3)",
        "  if (!((seg, e) in seen)) { seen[seg, e] = 1; cnt[seg]++; ent[seg, cnt[seg]] = e }",
        '  pend = ""; next',
        "}",
        '{ pend = "" }',
        "END {",
        "  for (i = 1; i <= nd; i++) for (j = 1; j <= nt; j++) {",
        "    p = denied[i]",
        '    if (!(j in told) && (p == base[j] || index(p, base[j] "/") == 1)) {',
        "      print head[j] p tail[j]; told[j] = 1",
        "    }",
        "  }",
        f"  if (seg - 1 < n) {{ print {_awk_string(stopped)}; exit }}",
        "  for (i = 1; i <= n; i++) {",
        "    if (!(i in ex)) continue",
        "    p = path[i]; t = 0",
        '    for (j = 1; j <= nt; j++) if (p == base[j] || index(p, base[j] "/") == 1) t = j',
        "    if (t == 0 || (t in told)) continue",
        "    k = (p in special) ? special[p] : key[t]",
        "    bad = (cnt[i] == 0); same = (cnt[i] == wn[k])",
        "    for (m = 1; m <= cnt[i]; m++) {",
        "      e = ent[i, m]",
        '      if (index(e, "digest:") == 1) {',
        '        id = substr(e, 8); sub(/:[cdrwa]*$/, "", id)',
        "        if (!(id in ours)) bad = 1",
        "      }",
        "      if (!((k, e) in wset)) same = 0",
        "    }",
        "    if (bad) { print head[t] p tail[t]; told[t] = 1; continue }",
        '    if (!same) print "setAcl " p " " want[k]',
        "  }",
        "}",
    ])


# zkCli 3.8's error lines that mean the change did not happen. "Node does not exist" is not
# one: an ephemeral node (a running master's) may go between the listing and the change, and
# is then simply gone.
# zkCli 3.8's line for a refused request (stderr), followed by the node's path.
DENIED = "Insufficient permission : "
FAILURES = ("Insufficient permission", "Authentication is not valid", "Node already exists",
            "KeeperErrorCode", "Exception")


def _run_checked(lines: str, cli: str, auth: str, port: int, judge: str = "") -> str:
    """Shell: run zkCli with AUTH_FILE then `lines` (a shell word) on stdin into $out; exit 1
    with zkCli's error lines on stderr when it could not connect or any line failed. `judge`
    (a shell-quoted sweep_program) first turns a refusal under a base into its clear line."""
    failures = "|".join(FAILURES)
    judged = (f"if printf '%s\\n' \"$out\" | awk {judge} | grep '^error: ' >&2; then exit 1; fi; "
              if judge else "")
    return (
        f"out=$({{ {auth}; printf '%s\\n' {lines}; }} | {cli} 2>&1); "
        f"case \"$out\" in *state:SyncConnected*) ;; *) echo 'zkCli could not connect to "
        f"127.0.0.1:{int(port)}' >&2; exit 1;; esac; " + judged
        + f"if printf '%s\\n' \"$out\" | grep -E '^({failures})' >&2; then exit 1; fi; "
    )


def change_command(plan: Plan, trees: Sequence[Tree], where: str, port: int, wait_ms: int,
                   auth_file: str = AUTH_FILE, zk_cli: str = ZK_CLI) -> str:
    """The shell command that makes the change on the host, in one SSH command.

    zkCli run 1 (change_lines): create and set the fixed nodes, then list each swept tree.
    When a swept tree holds more than its base, run 2 reads every listed node (read_lines'
    lines, made on the host by awk),
    sweep_program judges them, and run 3 sets each that differs. Exits 1 with zkCli's error
    lines, or the clear line of a node closed with other credentials, on stderr (nothing is
    set in a sweep that finds one); prints nothing on success. A fresh cluster (bases missing)
    costs run 1 alone.
    """
    cli, auth = _zkcli(port, wait_ms, zk_cli), _auth(auth_file)
    judge = shlex.quote(sweep_program(trees, where))
    first = _run_checked(shlex.quote("\n".join(change_lines(plan))), cli, auth, port,
                         judge if plan.sweep else "")
    if not plan.sweep:
        return first + "true"
    # The listed paths inside a swept tree, its base excepted (set or created by run 1).
    inside = ('awk \'BEGIN { for (i = 1; i < ARGC; i++) b[i] = ARGV[i]; nb = ARGC - 1; ARGC = 1 }'
              ' { for (i = 1; i <= nb; i++) if (index($0, b[i] "/") == 1 && !($0 in seen))'
              ' { seen[$0] = 1; print; break } }\'')
    return (
        first + f"rest=$(printf '%s\\n' \"$out\" | {inside} {shlex.join(plan.sweep)}); "
        "[ -z \"$rest\" ] && exit 0; "
        f"acls=$({{ {auth}; printf '%s\\n' \"$rest\" | "
        "awk '{print \"stat \" $0; print \"getAcl \" $0; print \"version\"}'; } "
        f"| {cli} 2>/dev/null); "
        f"case \"$acls\" in *state:SyncConnected*) ;; *) echo 'zkCli could not connect to "
        f"127.0.0.1:{int(port)}' >&2; exit 1;; esac; "
        f"sets=$({{ printf '%s\\n' \"$rest\" | sed 's/^/{TAG}node /'; "
        f"printf '%s\\n' \"$acls\"; }} | awk {judge}); "
        "if printf '%s\\n' \"$sets\" | grep '^error: ' >&2; then exit 1; fi; "
        "[ -z \"$sets\" ] && exit 0; "
        + _run_checked("\"$sets\"", cli, auth, port) + "true"
    )


def acl_member(data: Mapping[str, Any], zookeepers: Sequence[Any], name: str) -> bool:
    """Whether host `name` sets the ACLs: the first member of the ensemble (`zookeepers`,
    topology order; each has a `.name`), unless `zookeeper_acls` is off in its `data`. That
    member also holds the digests (AUTH_FILE) the change needs."""
    return bool(data.get("zookeeper_acls", True) and zookeepers and name == zookeepers[0].name)
