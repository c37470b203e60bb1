"""e2e phase: Docker restarted under load on every Docker host by a deploy, each agent's
Marathon tasks moved off first (issue 12, "Upgrades": deploy/drained_restart.py).

    with phase(e2e_run, "Docker restarted under load"):
        phase_docker_restart(e2e_run, base_data=(INTERRUPT_DATA,))

A change of daemon.json makes every running dockerd stale, as a docker.io package move does
(its new dpkg stamp: pyinfra_mesos/docker.py docker_inputs); the mirror these machines use offers
one docker.io version only, so the move itself cannot be run here. The phase spreads the app
over every agent, then, while it is requested through every load balancer once a second (the
e2e AvailabilityMonitor), re-runs deploy.py with one more `docker_insecure_registries` entry (an
address of TEST-NET-1, where nothing answers), and afterwards with the inventory's own value
again. Each run must: exit 0 with 0 failed requests; restart Docker once on every Docker host
(its ActiveEnterTimestamp moved); leave no agent's machine in the Mesos maintenance schedule and
no drain marker on any agent; and the app must run all its instances, healthy, behind every
load balancer. Every agent that ran a task of the app must have been drained (pyinfra's output
names it), and no task of before may be left. The app goes back to one instance.
Timings: each run and the settle after it.

Imports from test_sandbox_e2e happen inside the function: that module imports this one.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from typing import Any

from pyinfra_mesos.deploy.drained_restart import DRAIN_MARKER
from pyinfra_mesos.docker import DOCKER_SERVICE
from pyinfra_mesos.topology import DOCKER_ROLES

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
        deploy_apps,
        load_monitor,
        marathon_app,
        require_success,
        run_logged,
        wait_until,
    )

    with Hosts(run.inventory) as hosts:
        agents = hosts.topology.agents
        assert len(agents) >= 2, "moving an agent's tasks needs at least two agents"
        registries = list(hosts.data("docker_insecure_registries") or [])
        deploy_apps("docker-apps-spread", run, len(agents))
        wait_until(lambda: app_scale_problem(marathon_app(hosts), len(agents)),
                   SETTLE_TIMEOUT_S, f"scaling to {len(agents)} instances")
    for label, value in (("Docker restarted under load (daemon.json changed)",
                          [*registries, EXTRA_REGISTRY]),
                         ("Docker restarted under load (daemon.json back)", registries)):
        with Hosts(run.inventory) as hosts:
            before = docker_started(hosts)
            tasks_before = tasks_by_agent(marathon_app(hosts), agents)
            monitor = load_monitor(hosts)
        # The app stays spread: deploy.py's apps step would scale it back to its file's count.
        data = [*base_data, "docker_insecure_registries=" + json.dumps(value),
                "apps_instances=" + json.dumps({APP_ID: len(agents)})]
        command = [PYINFRA, "-y", str(run.inventory), "deploy.py",
                   *[arg for pair in data for arg in ("--data", pair)]]
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
            left = leftovers(hosts, _mesos_get)
            tasks_after = tasks_by_agent(marathon_app(hosts), agents)
        failed = monitor.failures()
        assert not failed, (f"{label}: {len(failed)} request(s) failed through the load "
                            f"balancers ({monitor.report()}):\n  " + "\n  ".join(failed[:20]))
        same = sorted(name for name in before if before[name] == after.get(name))
        assert not same, f"{label}: Docker did not restart on {same} (log: {result.log})"
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
    deploy_apps("docker-apps-scale-1", run, 1)
    with Hosts(run.inventory) as hosts:
        wait_until(lambda: app_scale_problem(marathon_app(hosts), 1), SETTLE_TIMEOUT_S,
                   "scaling back to 1 instance")
