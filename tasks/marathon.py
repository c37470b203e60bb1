"""Marathon: its Docker image under marathon.service, configured by an env file.

The env file (0600) carries MARATHON_* flags, LIBPROCESS_IP (so Mesos can send offers back),
JAVA_OPTS, the HTTP credentials through MESOSPHERE_HTTP_CREDENTIALS, which Marathon reads as
the flag's default, and Marathon's ZooKeeper digest inside MARATHON_ZK's URL: never on a command
line (pyinfra_mesos/flags.py marathon_env). The image is pulled here, once, with a clear error;
the unit never pulls, so a restart does not depend on the registry. Operations are named, so
their content is never printed.
"""

from pyinfra import host, inventory, state
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import files, server, systemd

from pyinfra_mesos.common import member_named
from pyinfra_mesos.credentials import (
    marathon_credentials,
    mesos_secrets,
    zookeeper_credentials,
)
from pyinfra_mesos.deploy.backup_op import marathon_image_changes, plan_backup_before_upgrade
from pyinfra_mesos.deploy.deploy_facts import DockerImageId
from pyinfra_mesos.deploy.leader_facts import MarathonLeadership
from pyinfra_mesos.deploy.marathon_files import marathon_credential_files
from pyinfra_mesos.deploy.private_files import private_directory, private_file
from pyinfra_mesos.deploy.rolling import LeaderQuery, leader_last_restart
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
from pyinfra_mesos.templates import render_template, template_path
from pyinfra_mesos.topology import topology_from_inventory

SERVICE = "marathon.service"
# Marathon's own graceful_shutdown_timeout is 45 s (v1.10.26); docker stop must outwait it.
STOP_TIMEOUT_S = 60

topo = topology_from_inventory(inventory)
member = member_named(topo, host.name)
image = str(host.data.marathon_image)
credentials = marathon_credentials(host.data.dict(), state.cwd)
# Marathon's ZooKeeper digest ("" with zookeeper_acls off): only in MARATHON_ZK, in the env file.
zk_credentials = zookeeper_credentials(host.data.dict(), state.cwd, "marathon", create=True)
was_running = host.get_fact(SystemdStatus, services=[SERVICE]).get(SERVICE, False)

marathon_credential_files(credentials)
mesos_authentication = bool(host.data.get("mesos_authentication", True))
if mesos_authentication:
    # Marathon runs as nobody inside its container: the secret is nobody's, read-only.
    private_directory()
    mesos_secret = private_file(
        name="Marathon's Mesos secret (0400, the container's nobody)",
        dest=MARATHON_MESOS_SECRET_FILE,
        content=mesos_secrets(host.data.dict(), state.cwd, create=True)[MARATHON_PRINCIPAL],
        mode="0400", user="nobody", group="nogroup",
    )

# Holds the credentials: written without a diff, never readable by other users.
env_file = private_file(
    name="Configure Marathon (/etc/default/marathon, mode 0600)",
    dest=MARATHON_ENV,
    content=render_template("mesos-env.j2", source="tasks/marathon.py",
                            lines=docker_env_file_lines(
                                marathon_env(member, topo, credentials, zk_credentials))),
)

if host.get_fact(DockerImageId, image=image) is None:
    server.shell(name=f"Pull the Marathon image {image}",
                 commands=[docker_pull_command(image, "marathon_image")])

# Before the unit that names another image: ZooKeeper copied to the operator's machine, once per
# run (deploy/backup_op.py; a host whose Mesos package moves planned it earlier).
plan_backup_before_upgrade([f"Marathon -> {image}"] if marathon_image_changes() else [])

unit = files.template(
    name=f"Install marathon.service ({image})",
    src=template_path("marathon.service.j2"),
    dest=MARATHON_UNIT,
    mode="0644",
    container=host.data.marathon_container_name,
    image=image,
    env_file=MARATHON_ENV,
    stop_timeout_s=STOP_TIMEOUT_S,
    secret_mount=(f"{MARATHON_MESOS_SECRET_FILE}:{MARATHON_MESOS_SECRET}:ro"
                  if mesos_authentication else ""),
)

systemd.daemon_reload(
    name="Reload systemd (marathon.service changed)",
    _if=unit.did_change,
)

systemd.service(
    name="Marathon enabled and running",
    service=SERVICE,
    running=True,
    enabled=True,
)

# A unit that was not running has just been started with the current files (not stale). One
# instance at a time, each answering /ping before the next goes, so a Marathon leader stays up;
# non-leaders first, the leader last (one election): one operation per instance in inventory
# order (pyinfra_mesos/deploy/rolling.py says why).
port = int(host.data.marathon_http_port)
curl_config = MARATHON_CURL_CONFIG if credentials else ""
leader_last_restart(
    name="Restart Marathon (unit, image or env newer than the container)",
    members=[m.name for m in topo.marathons],
    leader=LeaderQuery(MarathonLeadership,
                       {"address": f"{member.ip}:{port}", "curl_config": curl_config},
                       "Marathon leader"),
    service=SERVICE,
    inputs=marathon_inputs(host.data.dict()),
    probe=http_probe(f"http://{member.ip}:{port}/ping", curl_config),
    timeout_s=int(host.data.marathon_restart_wait_s),
    changes=([unit, env_file] + ([mesos_secret] if mesos_authentication else [])
             if was_running else []),
)
