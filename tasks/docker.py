"""Docker on agents and Marathon hosts: the distribution's docker.io and its daemon.json."""

from pyinfra import host, state
from pyinfra.operations import server

from pyinfra_mesos.common import member_named
from pyinfra_mesos.credentials import marathon_credentials
from pyinfra_mesos.deploy.drained_restart import drained_restart
from pyinfra_mesos.deploy.file_set import file_set
from pyinfra_mesos.deploy.marathon_files import marathon_leader_query
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import packages
from pyinfra_mesos.deploy.rolling import leader_last_restart
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.deploy.units import unit_states, units_running_enabled
from pyinfra_mesos.docker import (
    DOCKER_DAEMON_JSON,
    DOCKER_SERVICE,
    DOCKER_SOCKET,
    docker_daemon_config,
    docker_inputs,
)
from pyinfra_mesos.dpkg import off_pin, pinned_move_command
from pyinfra_mesos.marathon import MARATHON_CURL_CONFIG
from pyinfra_mesos.restarts import http_probe
from pyinfra_mesos.templates import render_template

topo = run_topology(state)
roles = topo.roles_of(host.name)
member = member_named(topo, host.name)
was_running = unit_states([DOCKER_SERVICE])[DOCKER_SERVICE].active

# tasks/common.py installed the package with docker.socket and docker.service masked, so
# dockerd first starts below, with this file (no restart of a fresh Docker: what a package
# starts must already have its config). One fact on a converged host instead of
# files.template's three (deploy/file_set.py).
daemon_json = file_set(
    name="Configure Docker registries (daemon.json)",
    files={DOCKER_DAEMON_JSON: render_template(
        "docker-daemon.json.j2", daemon_config=docker_daemon_config(host.data.dict(), topo),
    ).encode()},
)

# docker_version's pin was written by tasks/common.py. A changed pin moves the package here;
# Debian's docker.io does not restart a running daemon on a move (deploy/drained_restart.py),
# so the restart below, which the package's new dpkg stamp calls for, is the only one.
docker_version = str(host.data.get("docker_version") or "")
move = None
installed = read_kept(host, packages()) or {}
if host.data.docker_package in installed and docker_version and off_pin(
        installed, host.data.docker_package, docker_version):
    move = server.shell(
        name=f"Move Docker to the pinned {docker_version} (the daemon restarts below)",
        commands=[pinned_move_command(host.data.docker_package, docker_version)],
    )

# The socket with the daemon (docker.service requires it), in the same fact: both are masked
# after a fresh install (tasks/common.py) or on a host that `remove` took out and the inventory
# lists again; they are unmasked here.
units_running_enabled(
    name="Docker enabled and running",
    units=[DOCKER_SOCKET, DOCKER_SERVICE],
)

# A later daemon.json change or a package move makes a running Docker stale. A Docker restart
# stops the containers on that host, so hosts go one at a time, each answering before the next.
# On an agent, its Marathon tasks move to the other agents first (deploy/drained_restart.py). On
# a Marathon host it restarts Marathon (marathon.service Requires= Docker), so the host answers
# when Marathon answers /ping again; a Marathon host that is no agent restarts in its turn, the
# Marathon leader's last, as for Marathon's own restart (deploy/rolling.py leader_last_restart).
probe = "docker info >/dev/null 2>&1"
timeout_s = int(host.data.get("docker_restart_wait_s", 60))
marathon_address = f"{member.ip}:{int(host.data.marathon_http_port)}"
marathon_secret = marathon_credentials(host.data.dict(), state.cwd)
if "marathon" in roles:
    probe += " && " + http_probe(f"http://{marathon_address}/ping",
                                 MARATHON_CURL_CONFIG if marathon_secret else "")
    timeout_s += int(host.data.marathon_restart_wait_s)
restart = {
    "service": DOCKER_SERVICE,
    "inputs": docker_inputs(host.data.dict()),
    "probe": probe,
    "timeout_s": timeout_s,
    # Counted only where Docker runs: a Docker that starts in this run reads the new file.
    "changes": [meta for meta in (daemon_json, move) if meta is not None] if was_running else [],
}
NAME = "Restart Docker (daemon.json or package newer than the daemon)"
if "agent" in roles:
    drained_restart(
        name=f"{NAME}, one host at a time, its tasks moved off first",
        drain_wait_s=int(host.data.docker_drain_wait_s),
        _serial=True,
        **restart,
    )
else:
    leader_last_restart(
        name=f"{NAME} on Marathon hosts",
        members=[m.name for m in topo.marathons if "agent" not in topo.roles_of(m.name)],
        leader=marathon_leader_query(marathon_address, marathon_secret),
        **restart,
    )
