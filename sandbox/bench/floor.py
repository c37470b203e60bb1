"""The floor: what the deploy must at least do on fresh hosts, done as directly as possible.

Per host, over one SSH connection and one shell script: write the files a package must find
when it first starts (daemon.json before docker.io starts, the aventer-mesos key, sources line
and pin before the one ``apt-get update``), one ``apt-get update``, ONE ``apt-get install`` of
the host's whole package set (pyinfra_mesos/floor.py ``packages_for``, the deploy's own list),
then ``docker pull`` of the images it runs (``images_for``). The apt commands are pyinfra's own
(pyinfra/facts/apt.py ``noninteractive_apt``, pyinfra 3.10), so recommends and dpkg options
are the deploy's. All hosts start together; the floor is the slowest host's wall time.

The golden root has curl (sandbox/golden.py INCLUDE), which fetches the key before apt has
run. Bounds: connect 10 s (pyinfra_mesos/remote.py), each script ``timeout_s``.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyinfra.facts.apt import noninteractive_apt
from pyinfra.facts.server import LinuxDistribution

from pyinfra_mesos import floor
from pyinfra_mesos.docker import DOCKER_DAEMON_JSON, docker_daemon_config
from pyinfra_mesos.remote import (
    Connection,
    RemoteError,
    SshSpec,
    connect,
    parallel,
    ssh_spec,
)
from pyinfra_mesos.topology import Member, Topology

FLOOR_TIMEOUT_S = 1800.0
FACT_TIMEOUT_S = 30.0
KEY_TIMEOUT_S = 60
DOCKER_READY_S = 60
STAGE_LINE = re.compile(r"^bench-stage (?P<name>[a-z-]+) (?P<epoch>\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class HostPlan:
    """What one host installs and pulls. ``files``: ``{path: content}`` written first."""

    name: str
    roles: tuple[str, ...]
    packages: tuple[str, ...]
    images: tuple[str, ...]
    files: Mapping[str, str] = field(default_factory=dict)
    key_url: str | None = None  # downloaded to pyinfra_mesos.floor.MESOS_KEYRING


@dataclass
class FloorResult:
    """``seconds``: the slowest host's wall time (None when a host failed).
    ``hosts``: ``{name: {"seconds": s, "stages": {stage: s}, "packages": [...], "images": [...]}}``.
    ``errors``: ``{name: one line}``."""

    seconds: float | None
    hosts: dict[str, dict[str, Any]]
    errors: dict[str, str]


def host_plan(member: Member, roles: Iterable[str], topo: Topology, app_images: Sequence[str],
              distro: str, codename: str) -> HostPlan:
    """The floor of one host, from the same functions the deploy's tasks use."""
    roles = set(roles)
    data = member.data
    files: dict[str, str] = {}
    if floor.runs_docker(roles):
        config = docker_daemon_config(data, topo)
        files[DOCKER_DAEMON_JSON] = json.dumps(config, indent=2) + "\n"
    key_url = None
    if floor.needs_mesos_repo(roles):
        files.update(floor.mesos_repo_files(data, distro, codename))
        key_url = str(data["mesos_apt_key_url"])
    return HostPlan(member.name, tuple(sorted(roles)), tuple(floor.packages_for(roles, data)),
                    tuple(floor.images_for(roles, data, app_images)), files, key_url)


def floor_script(plan: HostPlan) -> str:
    """The shell script that does a host's floor, printing ``bench-stage NAME EPOCH`` lines
    (start, files, update, install, pull) as each part ends."""
    q = shlex.quote
    lines = ["set -eu", 'stage() { echo "bench-stage $1 $(date +%s.%N)"; }', "stage start"]
    for path, content in plan.files.items():
        lines.append(f"mkdir -p {q(path.rsplit('/', 1)[0] or '/')}")
        lines.append(f"printf %s {q(content)} > {q(path)}")
    if plan.key_url:
        lines.append(f"mkdir -p {q(floor.MESOS_KEYRING.rsplit('/', 1)[0])}")
        lines.append(f"curl -fsSL --max-time {KEY_TIMEOUT_S} -o {q(floor.MESOS_KEYRING)} "
                     f"{q(plan.key_url)}")
    lines.append("stage files")
    if plan.packages:
        lines.append(noninteractive_apt("update") + " >/dev/null")
        lines.append("stage update")
        lines.append(noninteractive_apt("install") + " "
                     + " ".join(q(p) for p in plan.packages) + " >/dev/null")
        lines.append("stage install")
    if plan.images:
        # The package's own start may still be under way: wait (bounded) for the daemon.
        lines.append(f"timeout {DOCKER_READY_S} sh -c "
                     "'until docker info >/dev/null 2>&1; do sleep 0.2; done'")
        for image in plan.images:
            lines.append(f"docker pull -q {q(image)} >/dev/null")
        lines.append("stage pull")
    return "\n".join(lines) + "\n"


def parse_stages(output: str) -> dict[str, float]:
    """``{stage: seconds since the stage before}`` from a script's ``bench-stage`` lines."""
    marks = [(m["name"], float(m["epoch"])) for m in
             (STAGE_LINE.match(line.strip()) for line in output.splitlines()) if m]
    return {name: round(when - marks[i][1], 3)
            for i, (name, when) in enumerate(marks[1:])}


def slowest_host(hosts: Mapping[str, Mapping[str, Any]]) -> float | None:
    """The largest per-host ``seconds`` (None without hosts)."""
    values = [float(h["seconds"]) for h in hosts.values()]
    return max(values) if values else None


def distribution(conn: Connection) -> tuple[str, str]:
    """(pyinfra's distribution name, codename), read with pyinfra's own LinuxDistribution fact."""
    fact = LinuxDistribution()
    status, out, err = conn.run(fact.command(), FACT_TIMEOUT_S)
    if status != 0:
        raise RemoteError(f"{conn.spec.name}: cannot read /etc/*-release: {err.strip()[:200]}")
    info = fact.process(out.splitlines())
    return str(info["name"]), str(info["release_meta"].get("VERSION_CODENAME", ""))


def measure_floor(topo: Topology, names: Sequence[str], app_images: Sequence[str],
                  timeout_s: float = FLOOR_TIMEOUT_S,
                  connector: Callable[[SshSpec], Connection] = connect) -> FloorResult:
    """Run the floor on ``names`` (fresh hosts) all at once; bounded by ``timeout_s`` overall.
    ``connector`` opens one host's connection (pyinfra_mesos/remote.py ``connect``)."""
    members = {m.name: m for m in topo.all_members if m.name in names}
    missing = sorted(set(names) - set(members))
    if missing:
        raise ValueError(f"not in the inventory's groups: {', '.join(missing)}")
    deadline = time.monotonic() + timeout_s
    conns = parallel(members.values(), lambda m: connector(ssh_spec(m.name, m.data)), deadline,
                     key=lambda m: m.name)
    errors = {n: str(c) for n, c in conns.items() if not isinstance(c, Connection)}
    live: dict[str, Connection] = {n: c for n, c in conns.items() if isinstance(c, Connection)}
    try:
        plans: dict[str, HostPlan] = {}
        for name, conn in live.items():
            try:
                distro, codename = distribution(conn)
                plans[name] = host_plan(members[name], topo.roles_of(name), topo, app_images,
                                        distro, codename)
            except Exception as exc:  # noqa: BLE001 - one line per host, the others go on
                errors[name] = f"{type(exc).__name__}: {exc}"

        def one(plan: HostPlan) -> dict[str, Any]:
            started = time.monotonic()
            left = max(1.0, deadline - started)
            status, out, err = live[plan.name].run(floor_script(plan), left)
            seconds = round(time.monotonic() - started, 3)
            if status != 0:
                last = (err.strip().splitlines() or out.strip().splitlines() or [""])[-1]
                raise RemoteError(f"{plan.name}: floor script exit {status}: {last[:300]}")
            return {"seconds": seconds, "stages": parse_stages(out),
                    "packages": list(plan.packages), "images": list(plan.images)}

        print(f"[bench] floor on {', '.join(plans)} (all at once)", flush=True)
        done = parallel(plans.values(), one, deadline, key=lambda p: p.name)
    finally:
        for conn in live.values():
            conn.close()
    hosts = {n: r for n, r in done.items() if isinstance(r, dict)}
    errors.update({n: str(r) if isinstance(r, RemoteError) else f"{type(r).__name__}: {r}"
                   for n, r in done.items() if not isinstance(r, dict)})
    for name, rec in sorted(hosts.items()):
        print(f"[bench]   {name}: {rec['seconds']:.1f} s {rec['stages']}", flush=True)
    for name, error in sorted(errors.items()):
        print(f"[bench]   {name}: FAILED: {error}", flush=True)
    return FloorResult(None if errors else slowest_host(hosts), hosts, errors)
