"""Marathon: its Docker image under marathon.service, configured by an env file.

The env file (0600) carries MARATHON_* flags, LIBPROCESS_IP (so Mesos can send offers back),
JAVA_OPTS, the HTTP credentials through MESOSPHERE_HTTP_CREDENTIALS, which Marathon reads as
the flag's default, and Marathon's ZooKeeper digest inside MARATHON_ZK's URL: never on a command
line (pyinfra_mesos/flags.py marathon_env). The image is pulled here, once, with a clear error;
the unit never pulls, so a restart does not depend on the registry. Operations are named, so
their content is never printed.
"""

from pyinfra import host, state
from pyinfra.operations import server

from pyinfra_mesos.common import member_named
from pyinfra_mesos.credentials import (
    marathon_credentials,
    mesos_secrets,
    zookeeper_credentials,
)
from pyinfra_mesos.deploy.backup_op import marathon_image_changes, plan_backup_before_upgrade
from pyinfra_mesos.deploy.file_set import file_set
from pyinfra_mesos.deploy.marathon_files import marathon_credential_texts, marathon_leader_query
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import marathon_image
from pyinfra_mesos.deploy.private_files import claim_private_directory
from pyinfra_mesos.deploy.rolling import leader_last_restart
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.deploy.units import unit_states, units_running_enabled
from pyinfra_mesos.docker import docker_pull_command
from pyinfra_mesos.flags import (
    MARATHON_MESOS_SECRET,
    MARATHON_MESOS_SECRET_FILE,
    MARATHON_PRINCIPAL,
    docker_env_file_lines,
    marathon_env,
)
from pyinfra_mesos.marathon import (
    MARATHON_CURL_CONFIG,
    MARATHON_ENV,
    MARATHON_UNIT,
    marathon_inputs,
)
from pyinfra_mesos.restarts import http_probe
from pyinfra_mesos.templates import render_template

SERVICE = "marathon.service"
# Marathon's own graceful_shutdown_timeout is 45 s (v1.10.26); docker stop must outwait it.
STOP_TIMEOUT_S = 60

topo = run_topology(state)
member = member_named(topo, host.name)
image = str(host.data.marathon_image)
credentials = marathon_credentials(host.data.dict(), state.cwd)
# Marathon's ZooKeeper digest ("" with zookeeper_acls off): only in MARATHON_ZK, in the env file.
zk_credentials = zookeeper_credentials(host.data.dict(), state.cwd, "marathon", create=True)
was_running = unit_states([SERVICE])[SERVICE].active

image_id = read_kept(host, marathon_image(host.data.dict()))
if image_id is None:
    server.shell(name=f"Pull the Marathon image {image}",
                 commands=[docker_pull_command(image, "marathon_image")])

# Before the unit that names another image: ZooKeeper copied to the operator's machine, once per
# run (deploy/backup_op.py; a host whose Mesos package moves planned it earlier).
plan_backup_before_upgrade(
    [f"Marathon -> {image}"] if marathon_image_changes(was_running, image_id) else [])

mesos_authentication = bool(host.data.get("mesos_authentication", True))
private: dict[str, str] = {
    **marathon_credential_texts(credentials),
    # Holds the credentials: never readable by other users.
    MARATHON_ENV: render_template("mesos-env.j2", source="tasks/marathon.py",
                                  lines=docker_env_file_lines(
                                      marathon_env(member, topo, credentials, zk_credentials))),
}
owners: dict[str, tuple[str, str]] = {}
if mesos_authentication:
    # Marathon runs as nobody inside its container: the secret is nobody's, read-only.
    private[MARATHON_MESOS_SECRET_FILE] = mesos_secrets(
        host.data.dict(), state.cwd, create=True)[MARATHON_PRINCIPAL]
    owners[MARATHON_MESOS_SECRET_FILE] = ("nobody", "nogroup")
unit_text = render_template(
    "marathon.service.j2",
    container=host.data.marathon_container_name,
    image=image,
    env_file=MARATHON_ENV,
    stop_timeout_s=STOP_TIMEOUT_S,
    secret_mount=(f"{MARATHON_MESOS_SECRET_FILE}:{MARATHON_MESOS_SECRET}:ro"
                  if mesos_authentication else ""),
)

# One operation, one fact on a converged host (deploy/file_set.py): the API credentials and
# their curl config (0600), the Mesos secret (0400, nobody's), the env file (0600) and the unit,
# whose new content reloads systemd. Private files are compared by sha256, never printed; the
# private files' directory comes with them when no earlier set made it.
config = file_set(
    name=f"Install marathon.service ({image}) with its env file and credentials (0600) and "
         "Mesos secret (0400, the container's nobody)",
    files={**{dest: text.encode() for dest, text in private.items()},
           MARATHON_UNIT: unit_text.encode()},
    modes={**{dest: "0600" for dest in private},
           **({MARATHON_MESOS_SECRET_FILE: "0400"} if mesos_authentication else {})},
    owners=owners,
    directories=claim_private_directory(),
)

units_running_enabled(name="Marathon enabled and running", units=[SERVICE])

# A unit that was not running has just been started with the current files (not stale). One
# instance at a time, each answering /ping before the next goes, so a Marathon leader stays up;
# non-leaders first, the leader last (one election): one operation per instance in inventory
# order (pyinfra_mesos/deploy/rolling.py says why).
port = int(host.data.marathon_http_port)
curl_config = MARATHON_CURL_CONFIG if credentials else ""
leader_last_restart(
    name="Restart Marathon (unit, image or env newer than the container)",
    members=[m.name for m in topo.marathons],
    leader=marathon_leader_query(f"{member.ip}:{port}", credentials),
    service=SERVICE,
    inputs=marathon_inputs(host.data.dict()),
    probe=http_probe(f"http://{member.ip}:{port}/ping", curl_config),
    timeout_s=int(host.data.marathon_restart_wait_s),
    changes=[config] if was_running else [],
)
