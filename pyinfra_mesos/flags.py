"""Computed flags for mesos-master, mesos-agent and Marathon, and the env files that carry them.

Pure functions: each takes a topology `Member` (whose `data` is the host's full pyinfra data,
group_data included) and the `Topology`, and returns `{flag name: value}` with the computed
defaults first and the user's `*_flags` dict merged over them. Name checking against the
Mesos 1.11 / Marathon 1.10 lists lives in the sibling module `flag_lists`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from pyinfra_mesos.agent_data import ports_keys
from pyinfra_mesos.topology import Member, Topology, quorum, zk_url

# The flags that carry the ZooKeeper URL. The URL itself lives in /etc/mesos/zk; the env files
# point at it with `file://` (both flags accept it: apache/mesos 1.11.0 src/master/flags.cpp,
# src/slave/flags.cpp). aventer-mesos' init wrapper does NOT read /etc/mesos/zk itself
# (m3scluster/clusterd support/packaging/common/mesos-init-wrapper), so without these lines a
# master would start standalone and elect itself, and an agent would exit.
MASTER_ZK_FLAG = "zk"
AGENT_ZK_FLAG = "master"

# The agent's SlaveInfo fields Mesos compares on recovery with the default
# --reconfiguration_policy=equal (apache/mesos 1.11.0 src/slave/compatibility.cpp): changing any
# makes the agent refuse to start ("Incompatible agent info") until
# <work_dir>/meta/slaves/latest is removed. `hostname` follows the agent's `ip` here.
AGENT_INFO_FLAGS = ("hostname", "port", "domain", "resources", "attributes")

# The v1 cgroup hierarchy systemd uses. Mesos agents with --systemd_enable_support (the default)
# exit without it ("Failed to locate systemd cgroups hierarchy", m3scluster/clusterd
# src/linux/systemd.cpp); Debian 11+ and Ubuntu 22.04+ boot with the unified (v2) hierarchy only.
SYSTEMD_CGROUP_HIERARCHY = "/sys/fs/cgroup/systemd"

# Mesos authentication (on unless mesos_authentication is False): the masters' credentials file
# (every principal, JSON), the agent's credential, and Marathon's secret, mounted read-only into
# its container (it runs as nobody) at MARATHON_MESOS_SECRET. All under the deploy's 0700
# /etc/pyinfra-mesos (apache/mesos 1.11.0 src/master/flags.cpp `credentials`,
# src/slave/flags.cpp `credential`; marathon `mesos_authentication_secret_file`).
MESOS_CREDENTIALS_FILE = "/etc/pyinfra-mesos/mesos-credentials.json"
MESOS_AGENT_CREDENTIAL_FILE = "/etc/pyinfra-mesos/mesos-agent-credential.json"
MARATHON_MESOS_SECRET_FILE = "/etc/pyinfra-mesos/marathon-mesos-secret"
MARATHON_MESOS_SECRET = "/etc/marathon/mesos-secret"
MESOS_AGENT_PRINCIPAL = "agent"
MARATHON_PRINCIPAL = "marathon"


def flag_value(value: Any) -> str:
    """Mesos and Marathon spell booleans in lower case; everything else is its string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _merged(computed: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, str]:
    flags = {name: flag_value(value) for name, value in computed.items()}
    for name, value in (extra or {}).items():
        flags[str(name)] = flag_value(value)
    return flags


def mesos_zk_url(data: Mapping[str, Any], topo: Topology) -> str:
    return zk_url(topo.zookeepers, data["zookeeper_mesos_path"], int(data["zookeeper_client_port"]))


def marathon_zk_url(data: Mapping[str, Any], topo: Topology) -> str:
    return zk_url(topo.zookeepers, data["zookeeper_marathon_path"],
                  int(data["zookeeper_client_port"]))


# -- ZooKeeper digest credentials in a zk:// URL ----------------------------------------------
#
# Both products take `zk://user:password@host:port,.../path` and authenticate with the digest
# scheme. Mesos (apache/mesos 1.11.0 include/mesos/zookeeper/url.hpp URL::parse) trims the URL,
# takes everything from the first '/' after `zk://` as the path and everything before the LAST
# '@' as the credentials; Marathon (d2iq-archive/marathon v1.10.26 ZookeeperConf.scala
# ZkUrlPattern) takes user `[^/:]+` and password `[^@]+`; ZooKeeper's digest provider splits
# `user:password` at the first ':'. What all three read the same way: a user of printable ASCII
# without '/' or ':', a password of printable ASCII without '/' or '@' (no spaces: Mesos trims,
# and the files that carry the URL are one line each).
_PRINTABLE = re.compile(r"[!-~]+")
_ZK_DIGEST = re.compile(r"(?P<user>[^/:]+):(?P<password>[^/@]+)")


def zk_digest_problem(credentials: str) -> str | None:
    """Why `user:password` cannot go into the zk:// URLs of both Mesos and Marathon, or None."""
    if not isinstance(credentials, str) or not credentials:
        return "is not user:password"
    if not _PRINTABLE.fullmatch(credentials):
        return ("holds a space, a newline or a non-ASCII character (Mesos trims its zk URL; "
                "each file that carries it is one line)")
    if not _ZK_DIGEST.fullmatch(credentials):
        return ("is not user:password as both zk:// URL parsers read it: the user without "
                "'/' or ':', the password without '/' or '@' (Mesos url.hpp, Marathon "
                "ZkUrlPattern)")
    return None


def zk_digest_user(credentials: str) -> str:
    """The digest user of `user:password` (ZooKeeper splits at the first ':')."""
    return credentials.partition(":")[0]


def with_zk_digest(url: str, credentials: str) -> str:
    """`zk://hosts/path` with `user:password@` inserted; the URL as given without credentials.

    Raises ValueError when the credentials do not fit (zk_digest_problem): a URL the two
    parsers would split differently must never be written.
    """
    if not credentials:
        return url
    problem = zk_digest_problem(credentials)
    if problem:
        raise ValueError(f"ZooKeeper credentials {problem}")  # the value itself is not shown
    scheme = "zk://"
    if not url.startswith(scheme):
        raise ValueError(f"not a zk:// URL: {url!r}")
    return f"{scheme}{credentials}@{url[len(scheme):]}"


def format_resources(resources: Mapping[str, Any] | None, default_ports: str) -> str:
    """`cpus:2;mem:1024;ports:[31000-32000]`: the user's resources, ports defaulted.

    `ports(*)` or `ports(<role>)` is the agent's ports too: no second ports entry then.
    """
    items = {str(k): flag_value(v) for k, v in (resources or {}).items()}
    if not ports_keys(items):
        items["ports"] = default_ports
    return ";".join(f"{name}:{value}" for name, value in items.items())


def format_attributes(attributes: Mapping[str, Any] | None) -> str:
    """`rack:r1;zone:a` (Mesos' attribute syntax)."""
    return ";".join(f"{k}:{flag_value(v)}" for k, v in (attributes or {}).items())


def master_flags(member: Member, topo: Topology) -> dict[str, str]:
    data = member.data
    computed = {
        "ip": member.ip,
        # Advertise the address, not a name: Debian resolves its own hostname to 127.0.1.1.
        "hostname": member.ip,
        "port": data["mesos_master_port"],
        MASTER_ZK_FLAG: mesos_zk_url(data, topo),
        "quorum": quorum(len(topo.masters)),
        "work_dir": data["mesos_master_work_dir"],
        "log_dir": data["mesos_log_dir"],
        "cluster": data["cluster_name"],
        "zk_session_timeout": data["mesos_zk_session_timeout"],
    }
    if data.get("mesos_authentication", True):
        computed.update({
            "authenticate_frameworks": True,
            "authenticate_agents": True,
            "authenticate_http_readwrite": True,
            "credentials": MESOS_CREDENTIALS_FILE,
        })
    return _merged(computed, data.get("mesos_master_flags"))


def agent_flags(member: Member, topo: Topology, *,
                systemd_cgroup_hierarchy: bool = True) -> dict[str, str]:
    """The agent's flags. `systemd_cgroup_hierarchy`: whether the host has
    SYSTEMD_CGROUP_HIERARCHY (a host fact); without it systemd support is turned off, as
    AVENTER's own deploy does for cgroup v2, unless the operator set systemd_enable_support."""
    data = member.data
    computed: dict[str, Any] = {
        AGENT_ZK_FLAG: mesos_zk_url(data, topo),
        "ip": member.ip,
        "hostname": member.ip,
        "port": data["mesos_agent_port"],
        "work_dir": data["mesos_agent_work_dir"],
        "log_dir": data["mesos_log_dir"],
        "containerizers": data["mesos_containerizers"],
        # Docker pulls outlast Mesos' 1mins default (facts.md, "Defaults").
        "executor_registration_timeout": data["mesos_executor_registration_timeout"],
        "resources": format_resources(data.get("mesos_resources"), data["mesos_agent_ports"]),
    }
    attributes = format_attributes(data.get("mesos_attributes"))
    if attributes:
        computed["attributes"] = attributes
    if not systemd_cgroup_hierarchy:
        computed["systemd_enable_support"] = False
    if data.get("mesos_authentication", True):
        computed["credential"] = MESOS_AGENT_CREDENTIAL_FILE
    return _merged(computed, data.get("mesos_agent_flags"))


def marathon_flags(member: Member, topo: Topology) -> dict[str, str]:
    data = member.data
    port_min, port_max = data["marathon_service_port_range"]
    computed = {
        "master": mesos_zk_url(data, topo),
        "zk": marathon_zk_url(data, topo),
        # Used in leader redirects: must be an address the other instances and clients reach.
        "hostname": member.ip,
        "http_port": data["marathon_http_port"],
        "mesos_user": data["marathon_mesos_user"],
        "task_launch_timeout": data["marathon_task_launch_timeout_ms"],
        "local_port_min": port_min,
        "local_port_max": port_max,
    }
    if data.get("mesos_authentication", True):
        # A toggle: MARATHON_MESOS_AUTHENTICATION= becomes a bare --mesos_authentication.
        computed.update({"mesos_authentication": "",
                         "mesos_authentication_principal": MARATHON_PRINCIPAL,
                         "mesos_authentication_secret_file": MARATHON_MESOS_SECRET})
    extra = {k: v for k, v in (data.get("marathon_flags") or {}).items() if k != "http_credentials"}
    return _merged(computed, extra)


# Marathon reads its HTTP credentials flag's default from this variable (d2iq-archive/marathon
# v1.10.26, the flag's default; marathon-1.10-flags.tsv). Main.envToArgs turns MARATHON_* into
# command-line arguments, so MARATHON_HTTP_CREDENTIALS would be readable by any user in `ps`.
MARATHON_CREDENTIALS_ENV = "MESOSPHERE_HTTP_CREDENTIALS"


def marathon_env(member: Member, topo: Topology, credentials: str = "",
                 zk_credentials: str = "") -> dict[str, str]:
    """Every variable of Marathon's container (docker --env-file): `MARATHON_<FLAG>` from the
    flags, then the process environment.

    - LIBPROCESS_IP: libprocess (Marathon's libmesos driver) otherwise advertises the first
      address the host name resolves to, 127.0.1.1 on Debian, and the Mesos master cannot
      send offers back (apache/mesos 1.11.0 3rdparty/libprocess/src/process.cpp).
    - JAVA_OPTS: read by the image's start script; without it the JVM takes a quarter of the
      host's memory (tools/packager/docker/Dockerfile, v1.10.26).
    - marathon_env: anything else the operator passes (names checked by validation).
    - `credentials` (credentials.marathon_credentials), through MARATHON_CREDENTIALS_ENV,
      never as a flag.
    - `zk_credentials` (credentials.zookeeper_credentials, "marathon"): Marathon's ZooKeeper
      digest, in MARATHON_ZK's URL only (Main.envToArgs turns it into `--zk` inside the JVM,
      not on the container's command line; v1.10.26 Main.scala). MARATHON_MASTER, the URL
      that finds Mesos, stays without: Marathon only reads /mesos.
    """
    data = member.data
    env = {f"MARATHON_{name.upper()}": value
           for name, value in marathon_flags(member, topo).items()}
    if zk_credentials:
        env["MARATHON_ZK"] = with_zk_digest(env["MARATHON_ZK"], zk_credentials)
    env["LIBPROCESS_IP"] = member.ip
    if data.get("marathon_java_opts"):
        env["JAVA_OPTS"] = str(data["marathon_java_opts"])
    env.update({str(k): flag_value(v) for k, v in (data.get("marathon_env") or {}).items()})
    if credentials:
        env[MARATHON_CREDENTIALS_ENV] = credentials
    return env


def docker_env_file_lines(env: Mapping[str, str]) -> list[str]:
    """`NAME=value` lines for `docker run --env-file`, which takes values literally (no quoting,
    no line continuation): a newline cannot be carried and is refused."""
    lines = []
    for name, value in env.items():
        if "\n" in value or "\r" in value:
            raise ValueError(f"{name}: a docker env-file value cannot hold a newline")
        lines.append(f"{name}={value}")
    return lines


def mesos_credentials_json(secrets: Mapping[str, str]) -> str:
    """The masters' --credentials file: every principal with its secret (the JSON form of
    apache/mesos 1.11.0 src/master/flags.cpp `credentials`)."""
    return json.dumps({"credentials": [{"principal": principal, "secret": secret}
                                       for principal, secret in sorted(secrets.items())]},
                      indent=2) + "\n"


def mesos_agent_credential_json(secret: str) -> str:
    """The agent's --credential file (src/slave/flags.cpp `credential`, JSON form)."""
    return json.dumps({"principal": MESOS_AGENT_PRINCIPAL, "secret": secret}, indent=2) + "\n"


# -- env files --------------------------------------------------------------------------------

def env_lines(prefix: str, flags: Mapping[str, str], *, shell_quoted: bool = True,
              omit: Iterable[str] = ()) -> list[str]:
    """`PREFIX_FLAG=value` lines.

    The Mesos init wrapper *sources* its env files, so values are shell-quoted (a resources
    value holds `;` and `[`). `docker run --env-file` (Marathon) takes values literally, so
    those lines must not be quoted.
    """
    skipped = set(omit)
    lines = []
    for name, value in flags.items():
        if name in skipped:
            continue
        if not shell_quoted and "\n" in value:
            raise ValueError(f"{prefix}_{name.upper()}: a docker env-file value cannot hold a "
                             "newline")
        rendered = shlex.quote(value) if shell_quoted and value else value
        lines.append(f"{prefix}_{name.upper()}={rendered}")
    return lines


def parse_env_lines(lines: Iterable[str] | None, prefix: str) -> dict[str, str]:
    """Read back `PREFIX_FLAG=value` lines (shell-quoted or not) as `{flag: value}`."""
    flags: dict[str, str] = {}
    for raw in lines or ():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name = name.removeprefix("export ").strip()
        if not name.startswith(prefix + "_"):
            continue
        try:
            parts = shlex.split(value)
        except ValueError:
            parts = [value]
        flags[name[len(prefix) + 1:].lower()] = " ".join(parts)
    return flags
