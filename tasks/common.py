"""Every cluster host: apt waits for its lock, names of all members in /etc/hosts, on masters
and agents the aventer-mesos key and repository, the apt lists refreshed once, then every
package its roles need in one transaction (a host without the key's tools gets those first).

The host's own hostname is left alone; the cluster uses addresses (`ip`) everywhere it matters.
"""

from pyinfra import host, state
from pyinfra.operations import files, server

from pyinfra_mesos.common import APT_LOCK_CONF, apt_lock_timeout_conf, hosts_entries
from pyinfra_mesos.deploy import planning_reads
from pyinfra_mesos.deploy.apt_key import apt_key
from pyinfra_mesos.deploy.dpkg_recovery import dpkg_configure_pending
from pyinfra_mesos.deploy.file_set import file_set
from pyinfra_mesos.deploy.packages import install_holding, lists_refreshed, missing_packages
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import HOSTS_FILE, HOSTS_MARKER, hosts_block, packages
from pyinfra_mesos.deploy.private_files import claim_private_directory
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.docker import DOCKER_PIN_FILE, docker_pin_text
from pyinfra_mesos.floor import mesos_repo_files, needs_mesos_repo, packages_for
from pyinfra_mesos.mesos_package import (
    MESOS_KEY_TOOLS,
    MESOS_KEYRING,
    key_check_command,
    normalise_fingerprint,
)
from pyinfra_mesos.templates import render_template
from pyinfra_mesos.topology import DOCKER_ROLES
from pyinfra_mesos.zookeeper_package import (
    ZOOKEEPER_PIN_FILE,
    zookeeper_packages,
    zookeeper_pin_text,
)

topo = run_topology(state)
roles = topo.roles_of(host.name)
cache_time_s = int(host.data.apt_cache_time_s)

# A run killed during an apt operation leaves apt-get or dpkg running on the host; the next run
# then waits for the dpkg lock (bounded) instead of failing at once (apt >= 1.9.11, apt.conf(5)).
# One fact on a converged host instead of files.put's three (deploy/file_set.py). The same set
# makes, once per host and early, the 0700 home of every private file (deploy/private_files.py):
# the task files that write private files claim it too (so each runs alone), and after this
# one their claims plan nothing on this host.
# A ZooKeeper member's and a Docker host's apt pins (zookeeper_package.py, docker.py) are apt
# configuration too, in the same set: written before the first install reads them, and no second
# fact on a converged host. An empty version writes a pin file that pins nothing.
apt_files = {APT_LOCK_CONF: apt_lock_timeout_conf(int(host.data.apt_lock_timeout_s)).encode()}
pin_name = ""
if "zookeeper" in roles:
    zookeeper_version = str(host.data.get("zookeeper_version") or "")
    apt_files[ZOOKEEPER_PIN_FILE] = zookeeper_pin_text(
        zookeeper_packages(host.data.zookeeper_package), zookeeper_version).encode()
    pin_name = (f", ZooKeeper pinned to {zookeeper_version}" if zookeeper_version
                else ", no ZooKeeper pin")
# docker_version's likewise, on every host tasks/docker.py installs Docker on (not named: pyinfra
# shows one name per operation, the first host's).
if DOCKER_ROLES & set(roles):
    apt_files[DOCKER_PIN_FILE] = docker_pin_text(host.data.dict()).encode()
file_set(
    name=f"apt waits for the dpkg lock (bounded){pin_name}; the private files' directory (0700)",
    files=apt_files,
    directories=claim_private_directory(),
)

# A run killed during apt can also leave packages unpacked but not configured: apt then refuses
# every install until `dpkg --configure -a` (pyinfra_mesos/deploy/dpkg_recovery.py).
dpkg_configure_pending(
    name="Finish what an interrupted dpkg left (dpkg --configure -a)",
    timeout_s=int(host.data.apt_lock_timeout_s),
)

# The managed block is read once, here (in the host's first command: deploy/planning_reads.py):
# files.block reads it twice more (pyinfra 3.10
# operations/files.py `block`), so it is planned only when the block differs, with pyinfra's
# own test (the lines between the markers equal the content's lines).
hosts_content = render_template("hosts-block.j2", entries=hosts_entries(topo)).rstrip("\n")
if read_kept(host, hosts_block()) != hosts_content.split("\n"):
    files.block(
        name="List every cluster member in /etc/hosts",
        path=HOSTS_FILE,
        content=hosts_content,
        marker=HOSTS_MARKER,
    )

# Masters and agents: AVENTER's aventer-mesos from its signed apt repository, set up before the
# one refresh below so that it joins the host's one install. The key, the sources line and the
# pin are files: a converged host downloads nothing. A key that has expired, or whose
# fingerprint differs from mesos_apt_key_fingerprint, is downloaded again and then refused with
# one line (and removed, so the next run downloads it again) before apt ever reads it.
key_tools: list[str] = []
if needs_mesos_repo(roles):
    # The download (curl) and the check (gpg, ca-certificates for https) need these; a host
    # without them gets them first, in a transaction of their own (a second refresh follows).
    key_tools = missing_packages(read_kept(host, packages()), MESOS_KEY_TOOLS)
    if key_tools:
        lists_refreshed(
            name="Refresh apt lists (for the tools the aventer-mesos key needs)",
            roles=sorted(roles), cache_time_s=cache_time_s,
        )
        install_holding(
            name=f"Install what the aventer-mesos key needs ({', '.join(MESOS_KEY_TOOLS)})",
            packages=key_tools, roles=roles,
        )
    distribution = read_kept(host, planning_reads.distribution())
    key_url = host.data.mesos_apt_key_url
    expected_fingerprint = normalise_fingerprint(host.data.mesos_apt_key_fingerprint)
    # One fact on a converged host (deploy/apt_key.py): fingerprint and expiry read together.
    key = apt_key(
        name="Download the aventer-mesos apt key",
        src=key_url,
        dest=MESOS_KEYRING,
        expected_fingerprint=expected_fingerprint,
    )
    server.shell(
        name="Check the aventer-mesos apt key (expiry, fingerprint)",
        commands=[key_check_command(key_url, expected_fingerprint)],
        _if=key.did_change,
    )
    # The sources line and the pin are one set of files read by one fact (deploy/file_set.py).
    file_set(
        name=f"Add the aventer-mesos apt repository, pinned to {host.data.mesos_version}",
        files={path: content.encode() for path, content in mesos_repo_files(
            host.data.dict(), distribution["name"],
            distribution["release_meta"].get("VERSION_CODENAME", "")).items()},
    )

# Once per host, after every apt input above (the pins, the key, the sources line): refreshed
# when the lists are older than apt_cache_time_s, never refreshed, or older than one of those
# inputs, a killed run's too (pyinfra_mesos/apt_lists.py). Read with the host's planning reads,
# and again at execution only after an operation above wrote something: a converged host pays
# no round trip here, nor apt.update's own two reads.
lists_refreshed(
    name="Refresh apt lists (older than apt_cache_time_s or than this host's apt sources, key "
         "and pins)",
    roles=sorted(roles), cache_time_s=cache_time_s,
)

# Every package of this host's roles in ONE apt transaction (but the key's tools when they
# came first), aventer-mesos with the others:
# hosts then install side by side instead of each waiting for every other host's install of
# each component. The services they bring stay masked until their task files below have
# written their config and start them (first_install.py says why); planned only where a
# package is missing, from the dpkg list read once (deploy/packages.py).
install_holding(
    name="Install this host's packages, one apt transaction (their services held until configured)",
    packages=[name for name in packages_for(roles, host.data.dict()) if name not in key_tools],
    roles=roles,
)
