"""A rolling restart of a service whose restart stops the Mesos tasks of its agent: Docker.

A Docker restart stops every container of that host (no `live-restore` in daemon.json: the
Mesos docker executor follows its `docker run` and ends the task when that ends, apache/mesos
1.11.0 src/docker/executor.cpp), and Debian's docker.io moves its package without restarting
the daemon (its postinst only `start`s the units, its prerm stops them only on `remove`:
docker.io 20.10.24+dfsg1-1+deb12u1+b6 maintainer scripts), so the restart that follows a
daemon.json change or a package move is this deploy's own. On an agent whose Docker runs
containers, the restart is wrapped in `drain.move_tasks_off` (the machine scheduled for
maintenance, DRAINING: Marathon declines its offers; each Marathon task killed, launched again
elsewhere and waited for until it runs healthy behind every load balancer) and, once Docker
answers again, `drain.back_in_service` (the machine out of the schedule, UP). The agent itself
keeps running and registered throughout: its unit only Wants= Docker.

An agent with no container running restarts at once (nothing to move: a first deploy, or a
cluster whose Marathon never ran). So does the only agent of the inventory, whose tasks would
have nowhere to go: with a warning that its tasks stop for the restart.

Hosts go one at a time (`_serial=True`), as for rolling_restart. Before it schedules the
machine, the agent gets a marker file (DRAIN_MARKER); the machine goes back in service, and the
marker goes, once Docker answers again. A drain that cannot be done (Mesos or Marathon not
answering, a replacement not healthy within `drain_wait_s`) fails the operation with one line
before Docker is touched, the machine staying scheduled so no task lands there. A run stopped
anywhere between the marker and its removal leaves the marker: the next run restarts Docker if
it is still stale (draining again: a machine already scheduled is kept as it is) and in any case
takes the machine out of the schedule. The marker is read with the host's other reads.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from typing import Any

from pyinfra import host, logger
from pyinfra.api import FactBase, FunctionCommand, operation
from pyinfra.api.host import Host
from pyinfra.api.operation import OperationMeta
from pyinfra.api.state import State
from pyinfra.facts.files import File

from pyinfra_mesos import drain
from pyinfra_mesos.deploy.planning_facts import defer_fact, fact_until_change, reading_ahead
from pyinfra_mesos.deploy.rolling import freshness_read, restart_reasons
from pyinfra_mesos.remote import RemoteError
from pyinfra_mesos.restarts import restart_and_wait_command
from pyinfra_mesos.topology import Member, Topology, topology_from_inventory

# On the agent while its machine is (or may be) scheduled by this deploy: a run stopped before
# the machine went back in service leaves it, and the next run finishes the job.
DRAIN_MARKER = "/var/lib/pyinfra-mesos/docker-drain-pending"
# One number: how many containers run (the agent's tasks are containers).
RUNNING_CONTAINERS = "docker ps -q 2>/dev/null | wc -l"


def _agent(state: State, host: Host) -> tuple[Topology, Member]:
    topo = topology_from_inventory(state.inventory)
    return topo, next(m for m in topo.agents if m.name == host.name)


def _fail(host: Host, message: str) -> bool:
    host.log_styled(f"error: {host.name}: {message}", fg="red", log_func=logger.error)
    return False


def tasks_off(state: State, host: Host, wait_s: float) -> bool:
    """FunctionCommand: move the Marathon tasks off this agent before its Docker restarts
    (drain.move_tasks_off, each replacement waited for `wait_s` seconds at most). True when
    Docker may restart now; False, with one line logged, when it may not."""
    topo, agent = _agent(state, host)
    try:
        cluster, hosts = drain.open_cluster(topo)
    except (drain.Failed, RemoteError) as exc:
        return _fail(host, f"Docker not restarted: {exc}")
    try:
        running = int(cluster.sh(agent.name, RUNNING_CONTAINERS).strip() or 0)
        if running == 0:
            host.log("no container runs here: Docker restarts undrained")
            return True
        if len(topo.agents) < 2:
            logger.warning(f"{host.print_prefix}the only agent: its {running} container(s) "
                           "stop while Docker restarts (nowhere to move them)")
            return True
        marker = shlex.quote(DRAIN_MARKER)
        cluster.sh(agent.name, f"mkdir -p $(dirname {marker}) && touch {marker}")
        drain.move_tasks_off(cluster, topo, agent, wait_s, time.monotonic())
        return True
    except (drain.Failed, RemoteError) as exc:
        return _fail(host, f"Docker not restarted: its tasks could not be moved: {exc}")
    finally:
        hosts.close()


def back_in(state: State, host: Host) -> bool:
    """FunctionCommand: when this agent has DRAIN_MARKER, take its machine out of the
    maintenance schedule (drain.back_in_service), then remove the marker. True when done or
    nothing to do; False, with one line logged, when Mesos did not take it."""
    topo, agent = _agent(state, host)
    try:
        cluster, hosts = drain.open_cluster(topo)
    except (drain.Failed, RemoteError) as exc:
        return _fail(host, f"still scheduled for maintenance: {exc}")
    marker = shlex.quote(DRAIN_MARKER)
    try:
        if cluster.sh(agent.name, f"[ -e {marker} ] && echo pending; true").strip():
            if drain.back_in_service(cluster, agent):
                host.log("out of the maintenance schedule (UP): Marathon "
                         "may place tasks here again")
            cluster.sh(agent.name, f"rm -f {marker}")
        return True
    except (drain.Failed, RemoteError) as exc:
        return _fail(host, f"still scheduled for maintenance: {exc}")
    finally:
        hosts.close()


def marker_read() -> tuple[type[File], dict[str, str]]:
    """The marker read an agent's drained restart makes: (File, its arguments)."""
    return File, {"path": DRAIN_MARKER}


@operation(is_idempotent=True)
def _drained_restart(service: str, inputs: Sequence[str], probe: str, timeout_s: int,
                     drain_wait_s: float, changes: Sequence[OperationMeta] = ()):
    """rolling_restart's rule and restart (deploy/rolling.py), with the agent's Marathon tasks
    moved off first and its machine back in service after (module docstring); only the latter
    when a stopped run left DRAIN_MARKER. `host.noop` otherwise. Pass `_serial=True`."""
    fact, where = marker_read()
    pending = fact_until_change(host, fact, **where)
    if not restart_reasons(service, inputs, changes, force=False):
        if not pending:
            host.noop(f"{service} runs with its current inputs")
            return
        yield FunctionCommand(back_in, (), {})
        return
    yield FunctionCommand(tasks_off, (float(drain_wait_s),), {})
    yield restart_and_wait_command(service, probe, timeout_s)
    yield FunctionCommand(back_in, (), {})


def _reads(*args: Any, **kwargs: Any) -> tuple[type[FactBase[Any]], dict[str, Any]]:
    """Both reads of a drained restart: the marker's named here, the freshness one returned
    for reading_ahead to name."""
    fact, where = marker_read()
    defer_fact(host, fact, **where)  # the second read, named ahead too (planning_facts)
    return freshness_read(*args, **kwargs)


# Named ahead while pyinfra loads the deploy, read in one command per host (planning_facts).
drained_restart = reading_ahead(_drained_restart, _reads)
