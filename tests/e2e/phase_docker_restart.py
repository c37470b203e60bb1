"""e2e phase: Docker moved to another package version and back under load, every Docker host
restarted, each agent's Marathon tasks moved off first (issue 12, "Upgrades":
deploy/drained_restart.py, tasks/docker.py's `docker_version`).

    with phase(e2e_run, "Docker moved and restarted under load"):
        phase_docker_restart(e2e_run, base_data=(INTERRUPT_DATA,))

The sandbox's apt repository holds a second docker.io beside the mirror's: the same .deb under a
lower version (sandbox/docker_repack.py). The phase spreads the app over every agent, then, while
it is requested through every load balancer once a second (the e2e AvailabilityMonitor),
re-runs deploy.py with `docker_version` pinned to that second build and one more
`docker_insecure_registries` entry (an address of TEST-NET-1, where nothing answers: daemon.json
changes too), and afterwards with `docker_version` pinned to the mirror's build and the
inventory's registries again: the operator's way back. Each run must:
- exit 0 with 0 failed requests;
- leave docker.io at the pinned version on every Docker host;
- restart Docker on each (its ActiveEnterTimestamp moved), once (its journal): the package
  move itself must not, as Debian's postinst only starts the unit;
- leave no agent's machine in the Mesos maintenance schedule and no drain marker on any agent;
- leave the app running all its instances, healthy, behind every load balancer;
- have drained every agent that ran a task of the app (pyinfra's output names it), and left no
  task of before.
The way back run again changes nothing. The app goes back to one instance. Timings: each run
and the settle after it.

Imports from test_sandbox_e2e happen inside the function: that module imports this one.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Sequence
from typing import Any

from pyinfra_mesos.deploy.drained_restart import DRAIN_MARKER
from pyinfra_mesos.docker import DOCKER_SERVICE
from pyinfra_mesos.topology import DOCKER_ROLES
from sandbox.docker_repack import STANDIN_MARK

EXTRA_REGISTRY = "192.0.2.10:5000"  # TEST-NET-1 (RFC 5737): daemon.json changes, nothing else
# drain.move_tasks_off's line for each agent it drains: "[   0.4s] agent1: scheduled for ..."
SCHEDULED = re.compile(r"^\[[ 0-9.]+s\] (\S+): scheduled for maintenance", re.M)


def docker_started(hosts: Any) -> dict[str, str]:
    """{host: docker.service's ActiveEnterTimestamp} for every Docker host."""
    out = {}
    topo = hosts.topology
    for member in topo.all_members:
        if not DOCKER_ROLES & topo.roles_of(member.name):
            continue
        out[member.name] = hosts.run(
            member.name, f"systemctl show -p ActiveEnterTimestamp --value {DOCKER_SERVICE}",
            "docker start time").strip()
    return out


def docker_stops(hosts: Any, since: float) -> dict[str, int]:
    """{host: how often systemd stopped docker.service since `since` (seconds since the epoch:
    the hosts share this machine's clock)} for every Docker host, from the host's journal."""
    topo = hosts.topology
    command = (f"journalctl -u {DOCKER_SERVICE} --since @{int(since)} -o cat --no-pager "
               "| grep -c '^Stopping docker'; true")
    return {member.name: int(hosts.run(member.name, command, "docker stops").strip() or 0)
            for member in topo.all_members if DOCKER_ROLES & topo.roles_of(member.name)}


def docker_package_versions(hosts: Any) -> dict[str, str]:
    """{host: the installed version of its `docker_package`} for every Docker host."""
    topo = hosts.topology
    return {member.name: hosts.run(
                member.name, "dpkg-query -W -f '${Version}' "
                + shlex.quote(str(hosts.data("docker_package", member))), "Docker version").strip()
            for member in topo.all_members if DOCKER_ROLES & topo.roles_of(member.name)}


def offered_versions(hosts: Any, member: Any) -> list[str]:
    """The versions of its `docker_package` that `member`'s apt sources offer (apt-cache
    madison)."""
    package = str(hosts.data("docker_package", member))
    out = hosts.run(member.name, "apt-cache madison " + shlex.quote(package), "apt-cache")
    return sorted({line.split("|")[1].strip() for line in out.splitlines() if "|" in line})


def leftovers(hosts: Any, mesos_get: Any) -> list[str]:
    """What a drained restart must not leave: a scheduled machine, an agent's marker."""
    problems = []
    # /maintenance/status lists every scheduled machine (DRAINING) and every DOWN one.
    status = mesos_get(hosts, "/master/maintenance/status")
    if status.get("draining_machines") or status.get("down_machines"):
        problems.append(f"machines left in maintenance: {json.dumps(status)}")
    for agent in hosts.topology.agents:
        marker = hosts.run(agent.name, f"[ -e {shlex.quote(DRAIN_MARKER)} ] && echo left; true",
                           "drain marker").strip()
        if marker:
            problems.append(f"{agent.name}: {DRAIN_MARKER} left")
    return problems


def tasks_by_agent(app: dict[str, Any], agents: Sequence[Any]) -> dict[str, set[str]]:
    """{agent name: the app's task ids on it}, agents without a task left out."""
    out: dict[str, set[str]] = {}
    for agent in agents:
        ids = {str(t["id"]) for t in app.get("tasks") or []
               if str(t.get("host")) in (agent.ip, agent.name)}
        if ids:
            out[agent.name] = ids
    return out


def phase_docker_restart(run: Any, base_data: Sequence[str] = ()) -> None:
    from tests.e2e.helpers import app_scale_problem
    from tests.e2e.phase_drain import _mesos_get
    from tests.e2e.test_sandbox_e2e import (
        APP_ID,
        DEPLOY_TIMEOUT_S,
        PYINFRA,
        SETTLE_TIMEOUT_S,
        Hosts,
        all_lbs_answer,
        load_monitor,
        marathon_app,
        require_no_changes,
        require_success,
        run_logged,
        scale_app,
        wait_until,
    )

    with Hosts(run.inventory) as hosts:
        agents = hosts.topology.agents
        assert len(agents) >= 2, "moving an agent's tasks needs at least two agents"
        registries = list(hosts.data("docker_insecure_registries") or [])
        installed = set(docker_package_versions(hosts).values())
        assert len(installed) == 1, f"the Docker hosts run different docker.io: {installed}"
        [mirror_build] = installed
        offered = offered_versions(hosts, agents[0])
        # The sandbox's build by its mark: the mirror's other suites may offer more.
        seconds = [version for version in offered if STANDIN_MARK in version]
        assert len(seconds) == 1, (
            f"the sandbox's apt repository must offer one docker.io marked {STANDIN_MARK} "
            f"(sandbox/docker_repack.py; not built with upstream sources); apt offers {offered}")
        [second_build] = seconds
        lower = hosts.run(agents[0].name, "dpkg --compare-versions "
                          f"{shlex.quote(second_build)} lt {shlex.quote(mirror_build)} "
                          "&& echo lower; true", "dpkg --compare-versions").strip()
        assert lower == "lower", (f"{second_build} must sort below the installed "
                                  f"{mirror_build}: a host without a pin would take it")
        scale_app("docker-apps-spread", run, hosts, len(agents))
    for label, value, version in (
            ("Docker moved to a second build under load (daemon.json changed too)",
             [*registries, EXTRA_REGISTRY], second_build),
            ("Docker moved back under load (daemon.json back)", registries, mirror_build)):
        with Hosts(run.inventory) as hosts:
            before = docker_started(hosts)
            tasks_before = tasks_by_agent(marathon_app(hosts), agents)
            monitor = load_monitor(hosts)
        # The app stays spread: deploy.py's apps step would scale it back to its file's count.
        data = [*base_data, "docker_insecure_registries=" + json.dumps(value),
                "docker_version=" + json.dumps(version),
                "apps_instances=" + json.dumps({APP_ID: len(agents)})]
        command = [PYINFRA, "-y", str(run.inventory), "deploy.py",
                   *[arg for pair in data for arg in ("--data", pair)]]
        started = time.time()
        try:
            result = run_logged(label, command, DEPLOY_TIMEOUT_S)
        finally:
            monitor.stop()
        run.timings[label] = result.seconds
        print(f"[e2e] {label}: {result.seconds:.1f} s; {monitor.report()}", flush=True)
        require_success(label, result)
        with Hosts(run.inventory) as hosts:
            run.timings[f"{label}: settled"] = wait_until(
                lambda: app_scale_problem(marathon_app(hosts), len(agents)),
                SETTLE_TIMEOUT_S, f"{label}: every instance running and healthy")
            all_lbs_answer(hosts, 2, f"after {label}")
            after = docker_started(hosts)
            moved = docker_package_versions(hosts)
            stops = docker_stops(hosts, started)
            left = leftovers(hosts, _mesos_get)
            tasks_after = tasks_by_agent(marathon_app(hosts), agents)
        failed = monitor.failures()
        assert not failed, (f"{label}: {len(failed)} request(s) failed through the load "
                            f"balancers ({monitor.report()}):\n  " + "\n  ".join(failed[:20]))
        off = {name: v for name, v in moved.items() if v != version}
        assert not off, f"{label}: docker.io is not at {version} on {off} (log: {result.log})"
        same = sorted(name for name in before if before[name] == after.get(name))
        assert not same, f"{label}: Docker did not restart on {same} (log: {result.log})"
        # Once: the deploy's own restart. Debian's docker.io postinst only starts the unit
        # (a no-op for a running daemon), so a move must not stop it before the drain.
        again = {name: count for name, count in stops.items() if count != 1}
        assert not again, (f"{label}: docker.service stopped other than once on {again} "
                           f"(log: {result.log})")
        assert not left, f"{label}: " + "; ".join(left)
        drained = SCHEDULED.findall(result.output)
        print(f"[e2e] {label}: drained {drained}; the app's tasks by agent "
              f"{ {k: sorted(v) for k, v in tasks_before.items()} } -> "
              f"{ {k: sorted(v) for k, v in tasks_after.items()} }", flush=True)
        # A task leaves its agent only by that agent's drain: every agent that ran one was
        # drained, and no task id of before is left anywhere.
        undrained = sorted(set(tasks_before) - set(drained))
        assert not undrained, (f"{label}: {undrained} ran tasks but were not drained before "
                               f"their Docker restart (log: {result.log})")
        before_ids = set().union(*tasks_before.values())
        outlived = sorted(before_ids & set().union(*tasks_after.values()))
        assert not outlived, (f"{label}: tasks {outlived} outlived their agent's Docker "
                              "restart: they were not moved")
        last = command
    # The way back converged: the same run again changes nothing (no move, no restart).
    label = "Docker moved back: re-run"
    result = run_logged(label, last, DEPLOY_TIMEOUT_S)
    run.timings[label] = result.seconds
    require_success(label, result)
    require_no_changes(label, result)
    with Hosts(run.inventory) as hosts:
        scale_app("docker-apps-scale-1", run, hosts, 1)
