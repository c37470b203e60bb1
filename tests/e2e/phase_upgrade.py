"""e2e phase: a rolling upgrade of the Mesos package and the Marathon image, with a move of
ZooKeeper's Debian packages, under load, then the downgrade back (issue 12, "Upgrades").

    with phase(e2e_run, "upgrade and downgrade"):
        phase_upgrade(e2e_run)

Each direction re-runs deploy.py with the versions as `--data` (the sandbox's second builds:
sandbox/sources.py upgrade_data; back: the inventory's own values) while the app is requested
through every load balancer once a second (the e2e AvailabilityMonitor), then proves:
0 failed requests; every master and agent runs the target aventer-mesos (dpkg) and its process
reports the target build (`/version` `git_tag`, apache/mesos src/version/version.cpp); every
Marathon container runs the target image and `/v2/info` reports its version (d2iq-archive/marathon
InfoResource.scala); every ZooKeeper member has the target zookeeperd (a real Debian version: the
other one the hosts' apt offers, then back to the one the bare deploy installed) and restarted
once, the leader last; the masters restarted one at a time, the leading master last, and every
master before the first agent (apache/mesos docs/upgrades.md); the Marathon leader restarted
last; the replicated logs and ZooKeeper's data directories are the same directories (inodes);
the agents kept their IDs and the app its task ids and containers (agent recovery); the deploy
took exactly one ZooKeeper backup before it (issue 12: pyinfra_mesos/deploy/backup_op.py, into
`backups/<cluster_name>/<UTC time>/` under the directory pyinfra ran in): a 0700 directory of
non-empty 0600 files whose manifest lists them and whose snapshot and logs hold the /mesos and
/marathon trees; the next run changes nothing and takes no backup. Timings (the backup's seconds
too) go to run.timings and the terminal like the other phases.

The pure parts (what pyinfra's output says restarted, in which order) are functions here,
unit-tested in tests/unit/test_phase_upgrade.py; the phase itself needs the sandbox.
"""

from __future__ import annotations

import json
import re
import shlex
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyinfra_mesos.backup import DEFAULT_OUT, MANIFEST
from pyinfra_mesos.deploy.backup_op import DONE

MASTER_RESTART = "Restart running masters with the new config"
AGENT_RESTART = "Restart mesos-agent"
MARATHON_RESTART = "Restart Marathon"
ZOOKEEPER_RESTART = "Restart ZooKeeper ensemble members"
LAST_TURN = ": the leader, last"
UPGRADE_SETTLE_TIMEOUT_S = 180.0  # agents re-register, Marathon elects: bounded, not expected


@dataclass(frozen=True)
class Target:
    """What one direction moves the cluster to. `data` are `--data key=value` arguments;
    `git_tag` what each Mesos process must report (None: not checked, e.g. real packages
    whose build may not carry a tag); `marathon_version` what /v2/info must say;
    `zookeeper_version` the zookeeperd version every ensemble member must have (None: not
    moved)."""

    label: str
    data: tuple[str, ...]
    mesos_version: str
    git_tag: str | None
    marathon_image: str
    marathon_version: str
    zookeeper_version: str | None = None


def marathon_release(image: str) -> str:
    """`1.10.17` from `.../marathon-standin:1.10.17` or `mesosphere/marathon:v1.10.17`."""
    return image.rsplit(":", 1)[-1].removeprefix("v")


def restart_sequence(output: str, prefixes: Sequence[str]) -> list[tuple[str, str, str]]:
    """[(prefix, operation name, host)] for every `Success` printed under an operation whose
    name starts with one of `prefixes`, in the order pyinfra printed them (serial operations
    print each host as it finishes; a host that did not restart prints `No change`)."""
    found: list[tuple[str, str, str]] = []
    current: tuple[str, str] | None = None
    for line in output.splitlines():
        if line.startswith("--> "):
            current = None
            if line.startswith(("--> Starting operation: ", "--> Starting serial operation: ")):
                name = line.split(" | ", 1)[-1].strip()
                prefix = next((p for p in prefixes if name.startswith(p)), None)
                current = (prefix, name) if prefix else None
            continue
        text = line.strip()
        if current and text.startswith("[") and "]" in text:
            host, _, rest = text[1:].partition("]")
            if rest.strip() == "Success":
                found.append((current[0], current[1], host.strip()))
    return found


def order_problems(sequence: Sequence[tuple[str, str, str]], masters: Sequence[str],
                   agents: Sequence[str], mesos_leader: str | None,
                   marathons: Sequence[str], marathon_leader: str | None,
                   mesos_moves: bool, marathon_moves: bool, zookeepers: Sequence[str] = (),
                   zookeeper_leader: str | None = None,
                   zookeeper_moves: bool = False) -> list[str]:
    """What is wrong with the restarts in `sequence` (restart_sequence of the run) for an
    upgrade; [] when: every master restarted once, `mesos_leader` in the last turn, every agent
    once and after the last master; every Marathon once, `marathon_leader` in the last turn;
    every ZooKeeper member once, `zookeeper_leader` in the last turn. A component that does not
    move must not restart at all."""
    problems = []
    by = {p: [(i, name, host) for i, (q, name, host) in enumerate(sequence) if q == p]
          for p in (MASTER_RESTART, AGENT_RESTART, MARATHON_RESTART, ZOOKEEPER_RESTART)}

    def once(prefix: str, hosts: Sequence[str], what: str, moves: bool) -> None:
        got = sorted(host for _, _, host in by[prefix])
        want = sorted(hosts) if moves else []
        if got != want:
            problems.append(f"{what}: restarted {got}, want each of {want} once")

    def leader_last(prefix: str, leader: str | None, what: str) -> None:
        last = [host for _, name, host in by[prefix] if name.endswith(LAST_TURN)]
        if leader is not None and last != [leader]:
            problems.append(f"{what}: the leader {leader} must restart in the last turn, alone; "
                            f"the last turn restarted {last}")

    once(MASTER_RESTART, masters, "masters", mesos_moves)
    once(AGENT_RESTART, agents, "agents", mesos_moves)
    once(MARATHON_RESTART, marathons, "Marathon", marathon_moves)
    once(ZOOKEEPER_RESTART, zookeepers, "ZooKeeper", zookeeper_moves)
    if zookeeper_moves:
        leader_last(ZOOKEEPER_RESTART, zookeeper_leader, "ZooKeeper")
    if mesos_moves:
        leader_last(MASTER_RESTART, mesos_leader, "masters")
        both = sorted(by[MASTER_RESTART] + by[AGENT_RESTART])
        if by[MASTER_RESTART] and by[AGENT_RESTART] and \
                min(i for i, _, _ in by[AGENT_RESTART]) < max(i for i, _, _ in by[MASTER_RESTART]):
            problems.append("an agent restarted before the last master: "
                            f"{[host for _, _, host in both]}")
    if marathon_moves:
        leader_last(MARATHON_RESTART, marathon_leader, "Marathon")
    return problems


def version_problems(dpkg: Mapping[str, str], reported: Mapping[str, Mapping[str, Any]],
                     images: Mapping[str, str], marathon_version: str | None,
                     target: Target, zookeepers: Mapping[str, str] | None = None) -> list[str]:
    """What does not run `target` yet: `dpkg` {host: installed aventer-mesos version},
    `reported` {"host:port": /version JSON}, `images` {host: the Marathon container's image},
    `marathon_version` /v2/info's `version` (None: no answer), `zookeepers` {host: installed
    zookeeperd version}."""
    problems = [f"{host}: aventer-mesos {version}, want {target.mesos_version}*"
                for host, version in sorted(dpkg.items())
                if not version.startswith(target.mesos_version)]
    if target.git_tag is not None:
        problems += [f"{where}: /version git_tag {answer.get('git_tag')!r}, want "
                     f"{target.git_tag!r} (the process predates the package?)"
                     for where, answer in sorted(reported.items())
                     if answer.get("git_tag") != target.git_tag]
    problems += [f"{host}: Marathon runs {image}, want {target.marathon_image}"
                 for host, image in sorted(images.items()) if image != target.marathon_image]
    if marathon_version != target.marathon_version:
        problems.append(f"Marathon /v2/info version {marathon_version!r}, want "
                        f"{target.marathon_version!r}")
    if target.zookeeper_version is not None:
        problems += [f"{host}: zookeeperd {version}, want {target.zookeeper_version}*"
                     for host, version in sorted((zookeepers or {}).items())
                     if not version.startswith(target.zookeeper_version)]
    return problems


def other_version(madison: str, installed: str) -> str | None:
    """The newest version `apt-cache madison` lists (`pkg | version | source` lines) other
    than `installed`; None when apt knows no other."""
    from debian.debian_support import Version

    versions = {parts[1].strip() for line in madison.splitlines()
                if len(parts := line.split("|")) >= 3 and parts[1].strip()}
    versions.discard(installed)
    return max(versions, key=Version) if versions else None


# The deploy's line for a backup it wrote: `backup before the upgrade: DIR (S s, N bytes)`.
BACKUP_LINE = re.compile(re.escape(DONE) + r"(?P<dir>\S.*) \((?P<seconds>[0-9.]+) s, "
                         r"(?P<bytes>\d+) bytes\)$")
# A jute string a path could be (ZooKeeper paths are short): at most this many bytes.
MAX_PATH_BYTES = 1024


def backup_lines(output: str) -> list[tuple[str, float, int]]:
    """[(directory, seconds, bytes)] of every BACKUP_LINE in a deploy's output, in order."""
    found = []
    for line in output.splitlines():
        match = BACKUP_LINE.search(line.strip())
        if match:
            found.append((match["dir"], float(match["seconds"]), int(match["bytes"])))
    return found


def zookeeper_paths(data: bytes) -> set[str]:
    """Every znode path written in `data`, a ZooKeeper snapshot's or transaction log's bytes.

    jute writes a string as its UTF-8 length (4 bytes, big-endian) then the bytes
    (apache/zookeeper zookeeper-jute/src/main/java/org/apache/jute/BinaryOutputArchive.java
    writeString); a snapshot writes each node's full path so (zookeeper-server/src/main/java/
    org/apache/zookeeper/server/DataTree.java serializeNode), a log each create's path. So a
    path is a `/` preceded by a length that covers printable UTF-8 without blanks. A scan, not
    a parser: it may also find a path-like value, never misses a path."""
    found: set[str] = set()
    at = data.find(b"/", 4)
    while at != -1:
        size = int.from_bytes(data[at - 4:at], "big")
        if 0 < size <= MAX_PATH_BYTES and at + size <= len(data):
            try:
                text = data[at:at + size].decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            if text.isprintable() and not any(c.isspace() for c in text):
                found.add(text)
        at = data.find(b"/", at + 1)
    return found


def tree_problems(paths: Iterable[str], roots: Sequence[str]) -> list[str]:
    """A line for each of `roots` (e.g. /mesos, /marathon) with no node in `paths` at or below
    it (`/mesos2` is not below `/mesos`)."""
    paths = set(paths)
    return [f"no node of the {root} tree" for root in roots
            if not any(p == root or p.startswith(root.rstrip("/") + "/") for p in paths)]


def backup_problems(directory: Path, roots: Sequence[str]) -> list[str]:
    """What is wrong with one backup directory the deploy wrote: not 0700; a file not 0600 or
    empty; the manifest not listing exactly its other files at their sizes; its snapshot and
    logs together missing a tree of `roots`."""
    problems = []
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode != 0o700:
        problems.append(f"{directory}: mode {mode:04o}, want 0700")
    files = sorted(p for p in directory.iterdir())
    for path in files:
        mode = stat.S_IMODE(path.stat().st_mode)
        if not path.is_file() or mode != 0o600 or path.stat().st_size == 0:
            problems.append(f"{path}: want a non-empty 0600 file (mode {mode:04o}, "
                            f"{path.stat().st_size} bytes)")
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        listed = {f["name"]: int(f["size"]) for f in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [*problems, f"{directory / MANIFEST}: unreadable ({exc})"]
    present = {p.name: p.stat().st_size for p in files if p.name != MANIFEST}
    if listed != present:
        problems.append(f"{directory}: the manifest lists {listed}, the directory holds "
                        f"{present}")
    paths: set[str] = set()
    for name in listed:
        if name in present:
            paths |= zookeeper_paths((directory / name).read_bytes())
    return problems + [f"{directory}: {line}" for line in tree_problems(paths, roots)]


# -- on the sandbox ----------------------------------------------------------------------------


def _e2e() -> Any:
    # Imported at call time: test_sandbox_e2e imports this module to wire the phase.
    from tests.e2e import test_sandbox_e2e

    return test_sandbox_e2e


def targets(run: Any, hosts: Any) -> tuple[Target, Target]:
    """(the upgrade, the downgrade back) for the sandbox's recorded sources."""
    from sandbox import config
    from sandbox.sources import STANDINS, recorded_mode, upgrade_data

    try:
        state = json.loads(config.state_path(run.sandbox).read_text())
    except (OSError, ValueError):
        state = {}
    mode = recorded_mode(state if isinstance(state, dict) else {})
    new = upgrade_data(mode)
    old_version = str(hosts.data("mesos_version"))
    old_image = str(hosts.data("marathon_image", hosts.topology.marathons[0]))

    def tag(version: str) -> str | None:
        return f"v{version}" if mode == STANDINS else None

    # ZooKeeper is Debian's own package: the second version is whatever else the hosts' apt
    # sources offer (the sandbox gives them the mirror's -security and -updates suites), and
    # the way back pins the version the bare deploy installed.
    first = hosts.topology.zookeepers[0]
    package = str(hosts.data("zookeeper_package", first))
    installed = installed_version(hosts, first.name, package)
    other = other_version(hosts.run(first.name, f"apt-cache madison {shlex.quote(package)}",
                                    "zookeeperd versions apt offers"), installed)
    assert other, (f"{first.name}: apt offers no zookeeperd but {installed}, so no ZooKeeper "
                   "version move can be tested (the sandbox hosts' sources: "
                   "sandbox/mirror.py point_release_lines)")
    up = Target(f"upgrade to aventer-mesos {new['mesos_version']}, Marathon "
                f"{marathon_release(new['marathon_image'])}, ZooKeeper moved to {other}",
                (*(f"{k}={v}" for k, v in new.items()), f"zookeeper_version={other}"),
                new["mesos_version"], tag(new["mesos_version"]), new["marathon_image"],
                marathon_release(new["marathon_image"]), other)
    down = Target(f"downgrade to aventer-mesos {old_version}, Marathon "
                  f"{marathon_release(old_image)}, ZooKeeper back to {installed}",
                  (f"zookeeper_version={installed}",), old_version, tag(old_version),
                  old_image, marathon_release(old_image), installed)
    return up, down


def installed_version(hosts: Any, name: str, package: str) -> str:
    """The version of `package` dpkg has installed on host `name`."""
    return hosts.run(name, f"dpkg-query -W -f '${{Version}}' {shlex.quote(package)}",
                     f"installed {package}").strip()


def _version_of(hosts: Any, member: Any, port: int) -> dict[str, Any]:
    """GET /version of the Mesos process on `member`:`port`, asked on the host ({} when it
    does not answer JSON: restarting)."""
    try:
        answer = json.loads(hosts.run(member.name, f"curl -fsS http://{member.ip}:{port}/version",
                                      "GET /version"))
    except (AssertionError, ValueError):
        return {}
    return answer if isinstance(answer, dict) else {}


def observed(hosts: Any) -> tuple[dict[str, str], dict[str, dict], dict[str, str], str | None,
                                  dict[str, str]]:
    """(dpkg versions, /version answers, Marathon images, /v2/info version, zookeeperd
    versions) on the cluster."""
    e2e = _e2e()
    topo = hosts.topology
    package = str(hosts.data("mesos_package"))
    dpkg, reported, images = {}, {}, {}
    members = [(m, "mesos_master_port") for m in topo.masters] + \
        [(m, "mesos_agent_port") for m in topo.agents]
    for member, port_key in members:
        dpkg[member.name] = installed_version(hosts, member.name, package)
        port = int(hosts.data(port_key, member))
        reported[f"{member.name}:{port}"] = _version_of(hosts, member, port)
    for member in topo.marathons:
        container = hosts.data("marathon_container_name", member)
        images[member.name] = hosts.run(
            member.name, f"docker inspect -f '{{{{.Config.Image}}}}' {shlex.quote(container)} "
            "2>/dev/null || true", "the Marathon container's image").strip()
    credentials = e2e.checks.marathon_auth(topo.all_members[0])
    info = e2e.checks.probe(lambda: e2e.get_json(f"{e2e.marathon_url(hosts)}/v2/info",
                                                 credentials, 3))
    version = None if isinstance(info, Exception) else info.get("version")
    zk_package = str(hosts.data("zookeeper_package"))
    zookeepers = {m.name: installed_version(hosts, m.name, zk_package) for m in topo.zookeepers}
    return dpkg, reported, images, version, zookeepers


def kept_state(hosts: Any) -> dict[str, Any]:
    """What an upgrade must keep: replicated log and ZooKeeper data inodes, myid, agent IDs,
    the app's task ids and container ids."""
    e2e = _e2e()
    topo = hosts.topology
    zookeeper = {}
    for member in topo.zookeepers:
        data_dir = str(hosts.data("zookeeper_data_dir", member)).rstrip("/")
        zookeeper[member.name] = hosts.run(
            member.name, f"stat -c %i {shlex.quote(data_dir + '/version-2')}; "
            f"cat {shlex.quote(data_dir + '/myid')}", "ZooKeeper's data directory").split()
    pid, problem = e2e.leader_agreement(e2e.reported_leaders(hosts, topo.masters))
    assert pid, f"before reading the agents: {problem}"
    leader = next(m for m in topo.masters if m.ip == e2e.parse_master_pid(pid)[0])
    agents = sorted(s["id"] for s in e2e.master_state(hosts, leader).get("slaves", []))
    containers = {agent.name: sorted(hosts.run(
        agent.name, f"docker ps -q --no-trunc --filter ancestor={shlex.quote(e2e.APP_IMAGE)}",
        "the app's containers").split()) for agent in topo.agents}
    tasks = sorted(t["id"] for t in e2e.marathon_app(hosts).get("tasks", []))
    return {"replicated logs": e2e.replicated_log_inodes(hosts, topo.masters),
            "ZooKeeper data (inode, myid)": zookeeper, "agent IDs": agents,
            "app containers": containers, "app task ids": tasks}


def zookeeper_leader(hosts: Any) -> str | None:
    """The host name of the member that answers `srvr` with Mode: leader."""
    e2e = _e2e()
    return next((m.name for m in hosts.topology.zookeepers
                 if e2e.zookeeper_mode(m.ip, int(hosts.data("zookeeper_client_port", m)))
                 == "leader"), None)


def leaders(hosts: Any) -> tuple[str | None, str | None]:
    """(the leading Mesos master's host name, the Marathon leader's host name)."""
    e2e = _e2e()
    topo = hosts.topology
    pid, _ = e2e.leader_agreement(e2e.reported_leaders(hosts, topo.masters))
    mesos = next((m.name for m in topo.masters
                  if pid and m.ip == e2e.parse_master_pid(pid)[0]), None)
    named = set(e2e.marathon_leaders(hosts).values())
    address = named.pop() if len(named) == 1 else None
    marathon = next((m.name for m in topo.marathons
                     if address and m.ip == address.rpartition(":")[0]), None)
    return mesos, marathon


def backup_root(hosts: Any) -> Path:
    """Where the deploy (run from the project root) writes this cluster's backups."""
    return _e2e().PROJECT_ROOT / DEFAULT_OUT / str(hosts.data("cluster_name"))


def backup_dirs(root: Path) -> set[Path]:
    """The backup directories under `root` (each holds a manifest)."""
    return {path.parent for path in root.glob(f"*/{MANIFEST}")}


def check_one_backup(run: Any, label: str, output: str, root: Path, before: set[Path],
                     roots: Sequence[str]) -> set[Path]:
    """Assert the deploy whose `output` is given wrote exactly one new backup under `root`
    (and printed one line naming it) and that it is whole (backup_problems); record its seconds
    and print its size. The backup directories now."""
    now = backup_dirs(root)
    new = sorted(now - before)
    lines = backup_lines(output)
    assert len(new) == 1, (f"{label}: want exactly one new backup under {root}, found "
                           f"{[str(p) for p in new]} (printed: {lines})")
    assert [Path(d).resolve() for d, _, _ in lines] == [p.resolve() for p in new], (
        f"{label}: the deploy should print one '{DONE}' line naming {new[0]}, printed {lines}")
    problems = backup_problems(new[0], roots)
    assert not problems, f"{label}: the backup:\n  " + "\n  ".join(problems)
    _, seconds, size = lines[0]
    run.timings[f"{label}: backup"] = seconds
    print(f"[e2e] {label}: backup {new[0]} ({seconds:.1f} s, {size} bytes) holds "
          f"{', '.join(roots)}", flush=True)
    return now


def settle_problems(hosts: Any, target: Target) -> list[str]:
    dpkg, reported, images, version, zookeepers = observed(hosts)
    return version_problems(dpkg, reported, images, version, target, zookeepers)


def move(run: Any, target: Target, base_data: Sequence[str], step: str) -> None:
    """One direction: deploy under load, then every assertion of the module docstring."""
    e2e = _e2e()
    with e2e.Hosts(run.inventory) as hosts:
        topo = hosts.topology
        root = backup_root(hosts)
        roots = (str(hosts.data("zookeeper_mesos_path")),
                 str(hosts.data("zookeeper_marathon_path")))
        backups = backup_dirs(root)
        before = kept_state(hosts)
        mesos_leader, marathon_leader = leaders(hosts)
        zk_leader = zookeeper_leader(hosts)
        dpkg, _, images, _, zookeepers = observed(hosts)
        mesos_moves = any(not v.startswith(target.mesos_version) for v in dpkg.values())
        marathon_moves = any(image != target.marathon_image for image in images.values())
        zk_moves = target.zookeeper_version is not None and any(
            not v.startswith(target.zookeeper_version) for v in zookeepers.values())
        assert mesos_moves or marathon_moves or zk_moves, (
            f"{target.label}: the cluster already runs it")
        monitor = e2e.load_monitor(hosts)
    data = [arg for pair in [*base_data, *target.data] for arg in ("--data", pair)]
    command = [e2e.PYINFRA, "-y", str(run.inventory), "deploy.py", *data]
    try:
        result = e2e.run_logged(f"{step}-deploy", command, e2e.DEPLOY_TIMEOUT_S)
    finally:
        monitor.stop()
    run.timings[target.label] = result.seconds
    print(f"[e2e] during the {target.label}: {monitor.report()}", flush=True)
    e2e.require_success(target.label, result)
    backups = check_one_backup(run, target.label, result.output, root, backups, roots)

    with e2e.Hosts(run.inventory) as hosts:
        run.timings[f"{target.label}: settled"] = e2e.wait_until(
            lambda: "; ".join(settle_problems(hosts, target)) or None,
            UPGRADE_SETTLE_TIMEOUT_S, f"{target.label}: every host on the target")
        e2e.all_lbs_answer(hosts, 2, f"after the {target.label}")
        after = kept_state(hosts)
    failed = monitor.failures()
    assert not failed, (f"{target.label}: {len(failed)} request(s) failed through the load "
                        f"balancers ({monitor.report()}):\n  " + "\n  ".join(failed[:20]))
    sequence = restart_sequence(result.output, (MASTER_RESTART, AGENT_RESTART,
                                                MARATHON_RESTART, ZOOKEEPER_RESTART))
    problems = order_problems(sequence, [m.name for m in topo.masters],
                              [a.name for a in topo.agents], mesos_leader,
                              [m.name for m in topo.marathons], marathon_leader,
                              mesos_moves, marathon_moves, [m.name for m in topo.zookeepers],
                              zk_leader, zk_moves)
    assert not problems, (f"{target.label}: restart order (log: {result.log}):\n  "
                          + "\n  ".join(problems))
    print(f"[e2e] {target.label}: restarted in this order: "
          + ", ".join(f"{host} ({prefix})" for prefix, _, host in sequence), flush=True)
    changed = [f"{what}: before {before[what]}, after {after[what]}" for what in before
               if before[what] != after[what]]
    assert not changed, f"{target.label} lost state:\n  " + "\n  ".join(changed)
    noop = e2e.run_logged(f"{step}-noop", command, e2e.DEPLOY_TIMEOUT_S)
    e2e.require_no_changes(f"the run after the {target.label}", noop)
    assert backup_dirs(root) == backups and not backup_lines(noop.output), (
        f"the run after the {target.label} changed nothing, so it must take no backup; new: "
        f"{sorted(str(p) for p in backup_dirs(root) - backups)} (log: {noop.log})")


def phase_upgrade(run: Any, base_data: Sequence[str] = ()) -> None:
    """12. The upgrade, then the downgrade back, each under load. `base_data`: `key=value`
    pairs the cluster was deployed with by earlier phases (e.g. phase 11's INTERRUPT_DATA), so
    the runs here change only the versions."""
    e2e = _e2e()
    with e2e.Hosts(run.inventory) as hosts:
        up, down = targets(run, hosts)
    move(run, up, base_data, "12-upgrade")
    move(run, down, base_data, "12-downgrade")
    e2e.cluster_checks("12-cluster-checks-downgraded", run, "cluster checks (after the downgrade)")
