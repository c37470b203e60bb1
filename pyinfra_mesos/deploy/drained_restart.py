"""A rolling restart of a service whose restart stops the Mesos tasks of its agent: Docker.

A Docker restart stops every container of that host (no `live-restore` in daemon.json: the
Mesos docker executor follows its `docker run` and ends the task when that ends, apache/mesos
1.11.0 src/docker/executor.cpp), and Debian's docker.io moves its package without restarting
the daemon (its postinst only `start`s the units, its prerm stops them only on `remove`:
docker.io 20.10.24+dfsg1-1+deb12u1+b6 maintainer scripts), so the restart that follows a
daemon.json change or a package move is this deploy's own. On an agent whose Docker runs Mesos
containers (named `mesos-...`), the restart is wrapped in `drain.move_tasks_off` (Marathon asked
first, then the machine scheduled for maintenance, DRAINING: Marathon declines its offers; each
Marathon task killed, launched again elsewhere and waited for until it runs healthy behind every
load balancer) and, once Docker answers again, `drain.back_in_service` (the machine out of the
schedule, UP). The agent itself keeps running and registered throughout: its unit only Wants=
Docker. A `docker ps` that fails counts as containers running: the tasks are moved first.

An agent with no Mesos container restarts at once (nothing to move: a first deploy, or a
cluster whose Marathon never ran). So does the only agent of the inventory, whose tasks would
have nowhere to go: with a warning that its tasks stop for the restart.

Hosts go one at a time (`_serial=True`), as for rolling_restart. Before it schedules the
machine, the agent gets a marker file (DRAIN_MARKER); the machine goes back in service, and the
marker goes, once Docker answers again. A drain that cannot be done (Mesos or Marathon not
answering, a replacement not healthy within `drain_wait_s`, no other agent out of maintenance)
fails the operation with one line, Docker untouched: the machine is taken out of the schedule
again (when Mesos answers) and the run stops after this operation (pyinfra's FAIL_PERCENT 0);
no other agent of the run is drained after it. A run stopped between the marker and its removal
leaves the marker: the next run restarts Docker if it is still stale (draining again: a machine
already scheduled is kept as it is) and, once that went well or Docker needed nothing, takes
the machine out of the schedule. The marker is read with the host's other reads.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

from pyinfra import host, logger
from pyinfra.api import FactBase, FunctionCommand, operation
from pyinfra.api.host import Host
from pyinfra.api.operation import OperationMeta
from pyinfra.api.state import State
from pyinfra.facts.files import File

from pyinfra_mesos import drain
from pyinfra_mesos.deploy.planning_facts import defer_fact, fact_until_change, reading_ahead
from pyinfra_mesos.deploy.rolling import freshness_read, restart_reasons
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.remote import RemoteError
from pyinfra_mesos.restarts import restart_and_wait_command
from pyinfra_mesos.topology import Member, Topology

# On the agent while its machine is (or may be) scheduled by this deploy: a run stopped before
# the machine went back in service leaves it, and the next run finishes the job.
DRAIN_MARKER = "/var/lib/pyinfra-mesos/docker-drain-pending"
# One number: how many Mesos containers run (the Mesos docker containerizer names its containers
# "mesos-<id>": apache/mesos 1.11.0 src/slave/containerizer/docker.cpp DOCKER_NAME_PREFIX);
# "failed" when docker cannot say.
MESOS_CONTAINERS = ("ids=$(docker ps -q --filter name=mesos- 2>/dev/null) || "
                    "{ echo failed; exit 0; }; "
                    '[ -z "$ids" ] && echo 0 || echo "$ids" | wc -l')
# State -> the agent whose drain failed in this run: no later agent is drained after it.
_FAILED: WeakKeyDictionary[State, str] = WeakKeyDictionary()


def _agent(state: State, host: Host) -> tuple[Topology, Member]:
    topo = run_topology(state)
    return topo, next(m for m in topo.agents if m.name == host.name)


def _fail(host: Host, message: str) -> bool:
    host.log_styled(f"error: {host.name}: {message}", fg="red", log_func=logger.error)
    return False


def _on_agent(topo: Topology, agent: Member, command: str) -> str:
    """`command`'s output on the agent, over a connection to that host alone."""
    cluster, hosts = drain.open_cluster(topo, [agent])
    try:
        return cluster.sh(agent.name, command)
    finally:
        hosts.close()


def mesos_containers(output: str) -> int | None:
    """MESOS_CONTAINERS' answer: how many run, None when docker could not say."""
    text = output.strip()
    return int(text) if text.isdigit() else None


def tasks_off(state: State, host: Host, wait_s: float) -> bool:
    """FunctionCommand: move the Marathon tasks off this agent before its Docker restarts
    (drain.move_tasks_off, each replacement waited for `wait_s` seconds at most). True when
    Docker may restart now; False, with one line logged, when it may not (the run then stops
    after this operation, module docstring)."""
    topo, agent = _agent(state, host)
    if state in _FAILED:
        return _fail(host, f"Docker not restarted: the drain of {_FAILED[state]} failed "
                           "earlier in this run")
    try:
        running = mesos_containers(_on_agent(topo, agent, MESOS_CONTAINERS))
    except (drain.Failed, RemoteError) as exc:
        return _stop(state, host, f"Docker not restarted: {exc}")
    if running == 0:
        host.log("no Mesos container runs here: Docker restarts undrained")
        return True
    if len(topo.agents) < 2:
        logger.warning(f"{host.print_prefix}the only agent: its Mesos containers stop while "
                       "Docker restarts (nowhere to move them)")
        return True
    try:
        cluster, hosts = drain.open_cluster(topo)
    except (drain.Failed, RemoteError) as exc:
        return _stop(state, host, f"Docker not restarted: {exc}")
    marker = shlex.quote(DRAIN_MARKER)
    try:
        cluster.sh(agent.name, f"mkdir -p $(dirname {marker}) && touch {marker}")
        drain.move_tasks_off(cluster, topo, agent, wait_s, time.monotonic())
        return True
    except (drain.Failed, RemoteError) as exc:
        undone = _end_window(cluster, agent)
        return _stop(state, host, f"Docker not restarted: its tasks could not be moved: {exc}"
                                  f"{undone}")
    finally:
        hosts.close()


def _window_closed(cluster: drain.Cluster, agent: Member) -> bool:
    """The agent's machine out of the maintenance schedule (drain.back_in_service: True when it
    was in), then DRAIN_MARKER gone. Raises drain.Failed or RemoteError, the marker kept."""
    was_in = drain.back_in_service(cluster, agent)
    cluster.sh(agent.name, f"rm -f {shlex.quote(DRAIN_MARKER)}")
    return was_in


def _end_window(cluster: drain.Cluster, agent: Member) -> str:
    """After a failed drain (Docker untouched): _window_closed; "" when done, else what is
    left (the marker stays for the next run)."""
    try:
        _window_closed(cluster, agent)
        return ""
    except (drain.Failed, RemoteError) as exc:
        return f"; the machine may still be scheduled for maintenance ({exc}): the next run ends it"


def _stop(state: State, host: Host, message: str) -> bool:
    """A failed drain: this host's operation fails with `message`, no later agent is drained
    in this run, and the run stops after this operation."""
    _FAILED.setdefault(state, host.name)
    state.config.FAIL_PERCENT = 0
    return _fail(host, message)


def back_in(state: State, host: Host) -> bool:
    """FunctionCommand: when this agent has DRAIN_MARKER, take its machine out of the
    maintenance schedule (drain.back_in_service), then remove the marker. True when done or
    nothing to do; False, with one line logged, when Mesos did not take it."""
    topo, agent = _agent(state, host)
    marker = shlex.quote(DRAIN_MARKER)
    try:
        if not _on_agent(topo, agent, f"[ -e {marker} ] && echo pending; true").strip():
            return True
        cluster, hosts = drain.open_cluster(topo)
    except (drain.Failed, RemoteError) as exc:
        return _fail(host, f"still scheduled for maintenance: {exc}")
    try:
        if _window_closed(cluster, agent):
            host.log("out of the maintenance schedule (UP): Marathon may place tasks here again")
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
