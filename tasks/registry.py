"""The optional `registry` group: Debian's docker-registry as two instances over one storage.

- docker-registry.service (Debian's unit, /etc/docker/registry/config.yml): READ-ONLY, on the
  host's cluster address and `registry_port`, anonymous. Docker daemons trust it through
  tasks/docker.py (insecure-registries + registry-mirrors built from this group's `ip` and
  `registry_port`), so apps name images as users would (`pyinfra-mesos/hello-sinatra:1.0`) and
  the mirror serves them. A daemon cannot send credentials to a mirror, hence no auth here; the
  registry itself refuses every push and delete (405, templates/registry-config.yml.j2).
- docker-registry-push.service (this deploy's unit, /etc/docker/registry/push.yml): WRITABLE, on
  127.0.0.1:`registry_push_port` only. Pushing takes an SSH login to the registry host (a tunnel
  to that port): SSH is the authentication.
"""

from pyinfra import host
from pyinfra.operations import server

from pyinfra_mesos.deploy.file_set import Dir, file_set
from pyinfra_mesos.deploy.units import units_running_enabled
from pyinfra_mesos.floor import REGISTRY_PUSH_SERVICE, REGISTRY_SERVICE
from pyinfra_mesos.templates import render_template
from pyinfra_mesos.topology import advertised_address

CONFIG = "/etc/docker/registry/config.yml"  # the path Debian's unit serves
SERVICE = REGISTRY_SERVICE
PUSH_CONFIG = "/etc/docker/registry/push.yml"
PUSH_SERVICE = REGISTRY_PUSH_SERVICE
PUSH_UNIT = f"/etc/systemd/system/{PUSH_SERVICE}"
# The writable instance is reachable from this host only.
PUSH_ADDRESS = "127.0.0.1"

data_dir = str(host.data.registry_data_dir)

# tasks/common.py installed docker-registry with its unit masked, before the host firewall was
# loaded: it first starts below, on the cluster address only (first_install.py).

# Each instance's files are one set (one fact, deploy/file_set.py), so each restarts after its own
# inputs only; the push unit's set reloads systemd itself when the unit changes. The storage
# both serve is made (and kept docker-registry's, 0750) by the first set, before either starts.
config = file_set(
    name=f"Registry storage {data_dir} and docker-registry's config, read-only ({CONFIG})",
    directories={data_dir: Dir("0750", "docker-registry", "docker-registry")},
    files={CONFIG: render_template(
        "registry-config.yml.j2",
        read_only=True,
        # The cluster address only, never 0.0.0.0: anonymous, so only cluster members (the host
        # firewall) should reach it, and they can only pull.
        address=advertised_address(host.name, host.data.dict()),
        port=int(host.data.registry_port),
        data_dir=data_dir,
    ).encode()},
)

push_files = file_set(
    name=f"Configure docker-registry-push, writable on {PUSH_ADDRESS} ({PUSH_CONFIG}) "
         f"and install {PUSH_SERVICE}",
    files={
        PUSH_CONFIG: render_template(
            "registry-config.yml.j2", read_only=False, address=PUSH_ADDRESS,
            port=int(host.data.registry_push_port), data_dir=data_dir,
        ).encode(),
        PUSH_UNIT: render_template(
            "docker-registry-push.service.j2", config=PUSH_CONFIG, data_dir=data_dir,
        ).encode(),
    },
)

# Both instances in one operation, one fact for their states (deploy/units.py); each restart below
# still follows its own files only.
units_running_enabled(
    name=f"docker-registry and {PUSH_SERVICE} enabled and running",
    units=[SERVICE, PUSH_SERVICE],
)

# Plain shell with `_if`: pyinfra's systemd.service reads the unit's state while planning even
# when its condition is false (a round trip for nothing); `restart` starts a stopped unit too.
server.shell(
    name="Restart docker-registry (config or storage changed)",
    commands=[f"systemctl restart {SERVICE}"],
    _if=config.did_change,
)

server.shell(
    name=f"Restart {PUSH_SERVICE} (config or unit changed)",
    commands=[f"systemctl restart {PUSH_SERVICE}"],
    _if=push_files.did_change,
)
