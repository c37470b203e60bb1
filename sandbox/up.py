"""``up``: make (or complete) the sandbox an inventory names. Every step is idempotent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox import config, hosts, images, limits, network, packages, services, sources
from sandbox.addressing import allocate
from sandbox.golden import ensure_golden
from sandbox.invfile import SandboxInventory
from sandbox.mirror import find_mirror, mirror_host, point_release_lines, read_sources
from sandbox.proc import alive, phase, run, say
from sandbox.reach import reachability_problem
from sandbox.state import StateFile

STANDIN_BANNER = """
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  STAND-INS: Mesos and Marathon in this sandbox are STAND-INS from tests/standins/, NOT the
!!  real products. The real sources (AVENTER's apt repository, the Marathon image on Docker Hub)
!!  are unreachable from this machine. ZooKeeper, Docker, HAProxy, systemd, SSH, apt are real.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
"""


def ensure_ssh_key(st: StateFile) -> bool:
    key = config.state_dir(st.data["sandbox"]) / "ssh" / "id_ed25519"
    st.data["ssh_key"] = str(key)
    if key.is_file() and key.with_suffix(".pub").is_file():
        return False
    key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"sandbox-{st.data['sandbox']}",
         "-f", str(key)])
    st.save()
    return True


def choose_sources(st: StateFile, mode: str,
                   upstream_data: Mapping[str, Any] | None = None) -> str:
    """Record ``mode`` for this sandbox, after checking the upstream sources can be reached.

    ``upstream_data``: the source keys to check (default: group_data/all.py's). Raises
    SourcesError (one line) when they are out of reach from this machine (bounded:
    reach.BUDGET_S) or the sandbox is up with the other mode; nothing is recorded then.
    Returns the line to print.
    """
    sources.record_mode(dict(st.data), mode)  # a refused switch changes nothing
    line = sources.describe(mode, upstream_data)
    if mode == sources.UPSTREAM:
        data = sources.upstream_data() if upstream_data is None else upstream_data
        problem = reachability_problem(data)
        if problem:
            raise sources.SourcesError(problem)
    sources.record_mode(st.data, mode)
    st.save()
    return line


def up(inv: SandboxInventory, st: StateFile, mode: str = sources.STANDINS) -> int:
    timings: dict[str, float] = {}
    changes: list[str] = []
    line = choose_sources(st, mode)
    say(line)
    upstream = mode == sources.UPSTREAM

    with phase("machine packages", timings):
        installed = packages.ensure_packages()
        changes += [f"installed {p}" for p in installed]
    with phase("golden root", timings):
        mirror = find_mirror(config.SUITE)
        golden, built = ensure_golden(mirror)
        say(f"   {golden} ({'built now' if built else 'cached'})")
        if built:
            changes.append("golden root")
        if ensure_ssh_key(st):
            changes.append("ssh key")
    with phase("bridge and services", timings):
        # Runtime dirs nspawn and dockerd make on the machine: removed by `down` if we made them.
        for path in ("/run/docker", "/run/systemd/nspawn", "/run/netns"):
            created = st.data.setdefault("created_dirs", [])
            if not Path(path).exists() and path not in created:
                created.append(path)
                st.save()
        if network.ensure_bridge(st):
            changes.append(f"bridge {config.BRIDGE}")
        started = services.ensure_services(st, mirror_host(mirror))
        changes += [f"started {s}" for s in started]
        for name in ("tinyproxy", "http", "registry", "dockerd"):
            say(f"   {name:<10} pid {st.services[name]['pid']}"
                f"{' (started)' if name in started else ' (running)'}")
    with phase("hosts", timings):
        # Shared per-user kernel limits (inotify) that cap how many hosts boot: sandbox/limits.py.
        raised, limit_problems = limits.raise_limits(st)
        changes += raised
        for problem in limit_problems:
            say(f"   NOTE: {problem}")
        apt_lines = point_release_lines(read_sources(), config.SUITE, mirror)
        failed = _hosts(inv, st, golden, changes, upstream, apt_lines)
    with phase("artifacts", timings):
        results = images.ensure_artifacts(st, golden, upstream)
        for what, result in results.items():
            say(f"   {what:<20} {result}")
            if result == "built":
                changes.append(what)
        for what, source in images.SOURCES.items():
            if results.get(what) == "missing":
                say(f"   NOTE: {what} NOT BUILT: {source} is not in the tree yet; hosts work, "
                    "the deploy cannot install what it provides until it exists")
    if not upstream:
        say(STANDIN_BANNER)
    say(line)
    say("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    if failed:
        say(f"error: hosts not reachable over ssh: {', '.join(failed)} "
            f"(clean up with: python -m sandbox down {inv.path})")
        return 1
    summary = f"{len(changes)} changes: {', '.join(changes)}" if changes else "nothing changed"
    say(f"up: {summary}")
    return 0


def _hosts(inv: SandboxInventory, st: StateFile, golden: Path, changes: list[str],
           upstream: bool, apt_lines: Sequence[str] = ()) -> list[str]:
    recorded = {n: r["ip"] for n, r in st.hosts.items() if r.get("ip")}
    addresses = allocate(inv.hosts, recorded)
    everyone = {**recorded, **addresses}
    extra = sorted(set(recorded) - set(inv.hosts))
    if extra:
        say(f"   recorded but not in the inventory (left as they are; `down` removes them): "
            f"{', '.join(extra)}")
    pubkey = Path(st.data["ssh_key"] + ".pub").read_text()
    booted: dict[str, dict] = {}
    for name in inv.hosts:
        rec = hosts.host_record(st, name, addresses[name], golden)
        made = network.ensure_host_net(st, name, rec)
        made += hosts.ensure_root(rec)
        if hosts.seed(rec, name, everyone, pubkey, upstream, apt_lines):
            made.append("seeded root")
        if hosts.start(st, name, rec):
            made.append(f"nspawn pid {rec['proc']['pid']}")
            booted[name] = rec
        elif not alive(rec.get("proc")):
            made.append("not running")
        say(f"   {name:<12} {rec['ip']:<15} {'created: ' + ', '.join(made) if made else 'running'}")
        if made:
            changes.append(f"{name} ({', '.join(m.split(' pid')[0] for m in made)})")
    if not booted:
        return []
    failed = hosts.wait_ssh(booted)
    for name in booted:
        if name not in failed:
            say(f"   {name:<12} sshd answers")
    return failed
