"""Every default of the deploy, in one place.

pyinfra gives data this precedence: ``--data`` > host data in the inventory > group_data/<group>.py
> group_data/all.py. Override a key per host in the inventory (``("m1", {"ip": ...})``), for a
whole run with ``--data key=value``, or by editing this file. Data given to a group inside the
inventory file (``agents = ([...], {...})``) is outranked by group_data files of that group;
``python -m pyinfra_mesos check`` warns when that happens.
"""

# -- Cluster ------------------------------------------------------------------------------------
cluster_name = "pyinfra-mesos"
# Before a run moves the Mesos package or changes the Marathon image, copy ZooKeeper (the Mesos
# and Marathon state) to backups/<cluster_name>/<UTC time>/ on this machine; a failed backup
# stops the run before anything is upgraded (pyinfra_mesos/deploy/backup_op.py).
backup_before_upgrade = True

# -- Base packages every cluster host gets -----------------------------------------------------
base_packages = ["ca-certificates", "curl", "gnupg", "python3"]
# `apt update` runs at most this often (seconds), and after this deploy changed an apt source, key
# or pin (pyinfra_mesos/apt_lists.py); a re-run within it changes nothing.
apt_cache_time_s = 3600
# How long apt waits for the dpkg lock another apt-get holds (a killed run's leftover) (seconds).
apt_lock_timeout_s = 300

# -- Host firewall: one nftables table of our own (tasks/firewall.py) ------------------------------
# Closed by default: cluster ports (ZooKeeper, Mesos, Marathon, the registry, the agents' task
# ports) answer only cluster members and firewall_operator_networks; SSH and the load balancers'
# service ports answer anyone. False: the deploy leaves this host's firewall alone (and removes
# nothing it loaded before).
firewall_enabled = True
# IPv4 networks (CIDR, or one address) that may reach the cluster ports: your office or VPN,
# for the Mesos and Marathon UIs, e.g. ["203.0.113.0/24"].
firewall_operator_networks: list[str] = []
# More TCP ports open to anyone on every host (a site's own daemons), e.g. [9100].
firewall_extra_open_tcp_ports: list[int] = []

# -- ZooKeeper: Debian's zookeeperd (Debian 12: 3.8.0) -----------------------------------------
zookeeper_package = "zookeeperd"
# "" installs the distribution's version and leaves it there. A Debian version (or its prefix, as
# in `Pin: version <this>*`) pins zookeeperd, zookeeper and libzookeeper-java: changing it moves
# them up or down, the members restarting one at a time, followers first, after a backup.
zookeeper_version = ""
zookeeper_service = "zookeeper"
zookeeper_conf_dir = "/etc/zookeeper/conf"
zookeeper_data_dir = "/var/lib/zookeeper"
zookeeper_client_port = 2181
zookeeper_peer_port = 2888
zookeeper_election_port = 3888
zookeeper_tick_time_ms = 2000
zookeeper_init_limit = 10
zookeeper_sync_limit = 5
# ZooKeeper 3.5+ allows only `srvr` by default; health checks need the others.
zookeeper_4lw_whitelist = ["srvr", "ruok", "mntr", "stat"]
# ZooKeeper's AdminServer (HTTP commands) is off: its own default port, 8080, is Marathon's.
# True turns it on at zookeeper_admin_port (`check` refuses a port another service binds there).
zookeeper_admin_server = False
zookeeper_admin_port = 8080
# A restarted member must be back (leader/follower) within this before the next one restarts.
zookeeper_restart_wait_s = 120
zookeeper_mesos_path = "/mesos"
zookeeper_marathon_path = "/marathon"
# ZooKeeper digest ACLs: the masters reach ZooKeeper as "mesos" and Marathon as "marathon"
# (zk://user:password@... in the masters' 0600 /etc/mesos/zk and in MARATHON_ZK in Marathon's
# 0600 env file; agents read /mesos without credentials). Mesos then creates its znodes readable
# by anyone and writable only by itself, Marathon its znodes for itself alone. False: no
# credentials anywhere and open znodes (a site whose ZooKeeper is otherwise fenced off).
zookeeper_acls = True
# "user:password" for each; empty: generated once into <credentials_dir>/<cluster_name>/
# (zookeeper_mesos_secret, zookeeper_marathon_secret; 0600). Given here, the user has no '/'
# or ':', the password no '/' or '@', and the two users differ.
zookeeper_mesos_credentials = ""
zookeeper_marathon_credentials = ""

# -- Docker: the distribution's docker.io --------------------------------------------------------
docker_package = "docker.io"
# "": the distribution's docker.io, left where it is. A Debian version (or its prefix) pins it
# with an apt preference; a change moves it on each host, then Docker restarts one host at a
# time, each agent's Marathon tasks moved to the other agents first (deploy/drained_restart.py).
docker_version = ""
# The bound on each of those moves: a task killed, launched elsewhere, healthy, behind every
# load balancer.
docker_drain_wait_s = 300
# Registries the daemons trust over plain HTTP, and pull-through mirrors for Docker Hub names.
# The optional `registry` group adds its own host to both.
docker_insecure_registries: list[str] = []
docker_registry_mirrors: list[str] = []

# -- Mesos 1.11: AVENTER's aventer-mesos package (Apache Mesos is in the Attic since 2025) -------
mesos_package = "aventer-mesos"
# Pinned through /etc/apt/preferences.d (`Pin: version <this>*`), so a plain install stays
# idempotent. A full build: builds before 1.11.0-0.7.1 are broken (pyinfra_mesos/mesos_package.py).
mesos_version = "1.11.0-0.7.1"
# Keyed by the distribution's ID; {codename} is filled from the host (bookworm, jammy, noble).
mesos_apt_repo_urls = {
    "Debian": "http://rpm.aventer.biz/Debian/",
    "Ubuntu": "http://rpm.aventer.biz/Ubuntu/{codename}",
}
mesos_apt_repo_component = "main"
# The key is public; override the URL for a mirror. When a fingerprint is set, the deploy
# refuses a key that does not match it (one public build of the key expires 2026-09-28).
mesos_apt_key_url = "https://www.aventer.biz/assets/support_aventer.asc"
mesos_apt_key_fingerprint = ""

mesos_master_port = 5050
mesos_agent_port = 5051
# The replicated log lives here; never /tmp (apache/mesos docs/configuration/master.md).
mesos_master_work_dir = "/var/lib/mesos/master"
mesos_agent_work_dir = "/var/lib/mesos/agent"
mesos_log_dir = "/var/log/mesos"
mesos_zk_session_timeout = "10secs"
# A master restarted by the deploy must answer /health within this many seconds before the
# next one is restarted (one at a time, so a quorum of masters stays up).
mesos_master_restart_wait_s = 60
# A restarted agent must answer /health within this before the next agent restarts.
mesos_agent_restart_wait_s = 60
mesos_containerizers = "docker,mesos"
# Docker pulls take longer than Mesos' 1mins default; Marathon's task_launch_timeout matches.
mesos_executor_registration_timeout = "10mins"
mesos_agent_ports = "[31000-32000]"
# Consent switches for the two destructive steps Mesos can need (use with --data KEY=true):
# a master count change from 1 that needs the replicated log wiped, and an agent whose
# resources or attributes changed ("Incompatible agent info": its checkpoint must go).
mesos_allow_replicated_log_reset = False
mesos_allow_agent_checkpoint_reset = False
# Consent to lower the remaining masters' quorum after `python -m pyinfra_mesos remove` stopped
# departed masters (5 -> 3; the replicated log is kept, never reset).
mesos_allow_master_removal = False
# Mesos authentication: agents and Marathon authenticate to the masters (CRAM-MD5), and the
# masters' write endpoints need HTTP credentials. Secrets are generated like Marathon's
# (credentials_dir) and written to 0600 files under /etc/pyinfra-mesos on the hosts.
mesos_authentication = True
# Extra flags, merged over the computed ones; every name is checked against the 1.11 lists.
mesos_master_flags: dict[str, str] = {}
mesos_agent_flags: dict[str, str] = {}

# -- Marathon 1.10: its Docker image under a systemd unit ---------------------------------------
marathon_image = "mesosphere/marathon:v1.10.26"
marathon_container_name = "marathon"
marathon_http_port = 8080
marathon_mesos_user = "root"
marathon_task_launch_timeout_ms = 600000  # = mesos_executor_registration_timeout (10mins)
# Service ports Marathon hands out (--local_port_min/max); keep them clear of mesos_agent_ports.
marathon_service_port_range = (10000, 20000)
# "user:password" for the HTTP API. Empty: the deploy generates "marathon:<token>" on its first
# run into <credentials_dir>/<cluster_name>/ (0600, outside git) and every run reuses it.
# Written on hosts only to 0600 files (Marathon reads it from MESOSPHERE_HTTP_CREDENTIALS, never
# its command line), never printed.
marathon_http_credentials = ""
# Where generated secrets live on the operator's machine (relative: next to deploy.py).
credentials_dir = "credentials"
# JVM options for the image's start script; without them the heap is a quarter of the host's
# memory, on hosts that also run ZooKeeper and a Mesos master.
marathon_java_opts = "-Xms256m -Xmx1g"
# Other variables for Marathon's container (not MARATHON_*: flags go in marathon_flags), e.g.
# {"LIBPROCESS_ADVERTISE_IP": "203.0.113.5"} behind NAT.
marathon_env: dict[str, str] = {}
# A restarted Marathon must answer /ping within this before the next one restarts.
marathon_restart_wait_s = 300
# Extra flags (name without --, value as a string; "" for a toggle), checked against 1.10.
marathon_flags: dict[str, str] = {}

# -- HAProxy, fed from Marathon by a small bridge on each load balancer ------------------------
haproxy_package = "haproxy"
haproxy_bridge_interval_s = 5
# Expose only apps whose HAPROXY_GROUP label matches; "*" exposes every app.
haproxy_group = "*"

# -- Optional private registry (the `registry` group): Debian's docker-registry ----------------
registry_port = 5000
# The writable instance: 127.0.0.1 on the registry host only (push through an SSH tunnel).
registry_push_port = 5001
registry_data_dir = "/var/lib/docker-registry"

# -- Apps: Marathon app definitions deployed after the cluster converges -------------------------
apps_dir = "apps"
# Per-app instance overrides without editing files:
#     --data 'apps_instances={"hello-sinatra": 3}'
apps_instances: dict[str, int] = {}
apps_deploy_timeout_s = 300
