"""The optional `registry` group: Debian's docker-registry, no auth, on the host's cluster address.

Docker daemons trust it through tasks/docker.py (insecure-registries + registry-mirrors built
from this group's `ip` and `registry_port`), so apps name images as users would
(`pyinfra-mesos/hello-sinatra:1.0`) and the mirror serves them.
"""

from pyinfra import host
from pyinfra.operations import apt, files, systemd

from pyinfra_mesos.deploy_config import template_path
from pyinfra_mesos.topology import advertised_address

CONFIG = "/etc/docker/registry/config.yml"
SERVICE = "docker-registry.service"

apt.packages(
    name="Install docker-registry",
    packages=["docker-registry"],
)

files.directory(
    name=f"Registry storage {host.data.registry_data_dir}",
    path=str(host.data.registry_data_dir),
    user="docker-registry",
    group="docker-registry",
    mode="0750",
)

config = files.template(
    name=f"Configure docker-registry ({CONFIG})",
    src=template_path("registry-config.yml.j2"),
    dest=CONFIG,
    mode="0644",
    # The cluster address only, never 0.0.0.0: the registry has no authentication.
    address=advertised_address(host.name, host.data.dict()),
    port=int(host.data.registry_port),
    data_dir=str(host.data.registry_data_dir),
)

systemd.service(
    name="docker-registry enabled and running",
    service=SERVICE,
    running=True,
    enabled=True,
)

systemd.service(
    name="Restart docker-registry (config changed)",
    service=SERVICE,
    command="restart",
    _if=config.did_change,
)
