"""HAProxy on the load balancers, fed from Marathon by haproxy_bridge.py on a systemd timer.

After the first run the bridge owns /etc/haproxy/haproxy.cfg: the deploy writes a base config
only while the file is not one the bridge generated, so a re-run never fights the bridge (and
reports no change). Reloads, not restarts: Debian's unit runs haproxy -Ws (master-worker) and
reloads with SIGUSR2, which keeps open connections.
"""

import os
from io import StringIO
from pathlib import Path

from pyinfra import host, state
from pyinfra.operations import files, server

from pyinfra_mesos import haproxy_bridge
from pyinfra_mesos.credentials import marathon_credentials
from pyinfra_mesos.deploy.file_set import file_set
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import bridge_config
from pyinfra_mesos.deploy.private_files import claim_private_directory
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.deploy.units import units_running_enabled
from pyinfra_mesos.firewall import reserved_service_ports
from pyinfra_mesos.marathon import MARATHON_CREDENTIALS_FILE
from pyinfra_mesos.templates import render_template
from pyinfra_mesos.topology import marathon_urls

# The bridge is a small stdlib-only package here, run as `python3 -m pyinfra_mesos.haproxy_bridge`
# from this directory (haproxy-bridge.service.j2).
BRIDGE_DIR = "/usr/local/lib/pyinfra-mesos"
ENV_FILE = "/etc/default/pyinfra-mesos-haproxy-bridge"
UNIT = haproxy_bridge.BRIDGE_UNIT
CONFIG = haproxy_bridge.HAPROXY_CONFIG

topo = run_topology(state)
bridge_urls = marathon_urls(topo.marathons)
credentials = marathon_credentials(host.data.dict(), state.cwd)

# tasks/common.py installed HAProxy with its unit masked: it first starts below, with this
# deploy's config (first_install.py).
# Planning-time read: a file the bridge wrote carries its marker; anything else (Debian's
# default, nothing yet) gets the base config, which is what the bridge renders for no apps.
bridge_owns_config = bool(read_kept(host, bridge_config()))
base_config = None
if not bridge_owns_config:
    base_config = files.put(
        name="Base haproxy.cfg (the bridge manages it from now on)",
        src=StringIO(haproxy_bridge.render_config({"apps": []}, host.data.haproxy_group)),
        dest=CONFIG,
        mode="0644",
    )

# Everything the bridge runs from is one set, one fact on a converged host (deploy/file_set.py): its
# stdlib-only modules, its Marathon credentials (0600, private: compared by sha256, never
# printed, created with their mode before they are filled) and its settings and units. Its
# change is the one input of the bridge's next run (new code, credentials or settings apply
# now, not at the next tick); the set reloads systemd itself when a unit's content changes.
bridge_files = {f"{BRIDGE_DIR}/pyinfra_mesos/{os.path.basename(path)}": Path(path).read_bytes()
                for path in haproxy_bridge.BRIDGE_FILES}
if credentials:
    bridge_files[MARATHON_CREDENTIALS_FILE] = (credentials + "\n").encode()
bridge_files.update({
    ENV_FILE: render_template(
        "haproxy-bridge.env.j2",
        marathon_urls=bridge_urls,
        haproxy_group=host.data.haproxy_group,
        config_path=CONFIG,
        timeout_s=5,
        credentials_file=MARATHON_CREDENTIALS_FILE if credentials else "",
        # An app given a servicePort that is one of the cluster's own (ZooKeeper, Mesos,
        # Marathon, the registry, the agents' task ports) or SSH is never bound by HAProxy here.
        reserved_ports=reserved_service_ports(topo),
    ).encode(),
    f"/etc/systemd/system/{haproxy_bridge.BRIDGE_SERVICE}": render_template(
        "haproxy-bridge.service.j2", bridge_dir=BRIDGE_DIR, env_file=ENV_FILE,
    ).encode(),
    f"/etc/systemd/system/{haproxy_bridge.BRIDGE_TIMER}": render_template(
        "haproxy-bridge.timer.j2", interval_s=int(host.data.haproxy_bridge_interval_s),
    ).encode(),
})
bridge_set = file_set(
    name=f"Install the Marathon -> HAProxy bridge ({len(haproxy_bridge.BRIDGE_FILES)} modules"
         + (", Marathon API credentials (0600, content not shown)" if credentials else "")
         + f"), its settings (Marathon URLs, HAPROXY_GROUP), {UNIT}.service and {UNIT}.timer "
         f"(every {host.data.haproxy_bridge_interval_s}s)",
    files=bridge_files,
    modes={MARATHON_CREDENTIALS_FILE: "0600"} if credentials else None,
    directories=claim_private_directory() if credentials else None,
)

# Both units in one operation, one fact for their running, enabled and masked states
# (deploy/units.py): a host that `remove` took out and the inventory lists again is unmasked
# here (the bridge's own unit files, masked as links to /dev/null, were replaced by the set).
units_running_enabled(
    name=f"HAProxy and {haproxy_bridge.BRIDGE_TIMER} enabled and running",
    units=[haproxy_bridge.HAPROXY_SERVICE, haproxy_bridge.BRIDGE_TIMER],
)

# The two conditional commands are plain shell with `_if`: pyinfra's systemd.service reads the
# unit's state while planning even when its condition is false (a round trip for nothing).
if base_config is not None:
    # A reload, not a restart (the module's docstring), also when haproxy was not running at
    # planning time, which is exactly the first run (it runs from the operation above).
    server.shell(
        name="Reload HAProxy (base config written)",
        commands=[f"systemctl reload {haproxy_bridge.HAPROXY_SERVICE}"],
        _if=base_config.did_change,
    )

# Apply new files now rather than at the next tick (a oneshot: bounded by TimeoutStartSec;
# `start`, never "running": a oneshot is inactive between runs).
server.shell(
    name="Run the bridge once (its files changed)",
    commands=[f"systemctl start {haproxy_bridge.BRIDGE_SERVICE}"],
    _if=bridge_set.did_change,
)
