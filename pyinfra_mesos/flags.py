"""Mesos master/agent and Marathon flags for one host, and the files and env lines that carry them.

`master_flags`, `agent_flags` and `marathon_flags` take a topology `Member` (whose `data` is the
host's full pyinfra data, group_data included) and the `Topology`, and return `{flag name:
value}`: the rows of the program's table in pyinfra_mesos/flag_tables.py (where each flag comes
from: a group_data key or a named computed value), then the user's `*_flags` dict merged over
them. Name checking against the Mesos 1.11 / Marathon 1.10 lists lives in `flag_lists`.
Also here: ZooKeeper digests in zk:// URLs, Marathon's container environment, the credential
files' JSON and env-file lines. Pure: no pyinfra (tests/unit/test_pure_modules.py).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping

from pyinfra_mesos.flag_tables import (
    AGENT_ZK_FLAG,
    FACT_SYSTEMD_CGROUP_HIERARCHY,
    MARATHON_MESOS_SECRET,
    MARATHON_PRINCIPAL,
    MASTER_ZK_FLAG,
    MESOS_AGENT_CREDENTIAL_FILE,
    MESOS_CREDENTIALS_FILE,
    SYSTEMD_CGROUP_HIERARCHY,
    flag_value,
    format_attributes,
    format_resources,
    marathon_zk_url,
    mesos_zk_url,
    program_flags,
)
from pyinfra_mesos.topology import Member, Topology

# Kept importable from here: callers and tests name them as flags.<name>.
__all__ = [
    "AGENT_INFO_FLAGS", "AGENT_ZK_FLAG", "MARATHON_CREDENTIALS_ENV", "MARATHON_MESOS_SECRET",
    "MARATHON_MESOS_SECRET_FILE", "MARATHON_PRINCIPAL", "MASTER_ZK_FLAG",
    "MESOS_AGENT_CREDENTIAL_FILE", "MESOS_AGENT_PRINCIPAL", "MESOS_CREDENTIALS_FILE",
    "SYSTEMD_CGROUP_HIERARCHY", "agent_flags", "docker_env_file_lines", "env_lines",
    "flag_value", "format_attributes", "format_resources", "marathon_env", "marathon_flags",
    "marathon_zk_url", "master_flags", "mesos_agent_credential_json", "mesos_credentials_json",
    "mesos_zk_url", "parse_env_lines", "with_zk_digest", "zk_digest_problem", "zk_digest_user",
]

# The agent's SlaveInfo fields Mesos compares on recovery with the default
# --reconfiguration_policy=equal (apache/mesos 1.11.0 src/slave/compatibility.cpp): changing any
# makes the agent refuse to start ("Incompatible agent info") until
# <work_dir>/meta/slaves/latest is removed. `hostname` follows the agent's `ip` here.
AGENT_INFO_FLAGS = ("hostname", "port", "domain", "resources", "attributes")

# Marathon's secret on the host (0600, under the deploy's 0700 /etc/pyinfra-mesos), mounted
# read-only into its container at flag_tables.MARATHON_MESOS_SECRET; the agent's principal
# in its --credential file.
MARATHON_MESOS_SECRET_FILE = "/etc/pyinfra-mesos/marathon-mesos-secret"
MESOS_AGENT_PRINCIPAL = "agent"


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


def master_flags(member: Member, topo: Topology) -> dict[str, str]:
    """mesos-master's flags (flag_tables.MASTER)."""
    return program_flags("master", member, topo)


def agent_flags(member: Member, topo: Topology, *,
                systemd_cgroup_hierarchy: bool = True) -> dict[str, str]:
    """mesos-agent's flags (flag_tables.AGENT). `systemd_cgroup_hierarchy`: whether the host has
    SYSTEMD_CGROUP_HIERARCHY (a host fact); without it systemd support is turned off, as
    AVENTER's own deploy does for cgroup v2, unless the operator set systemd_enable_support."""
    return program_flags("agent", member, topo,
                         {FACT_SYSTEMD_CGROUP_HIERARCHY: systemd_cgroup_hierarchy})


def marathon_flags(member: Member, topo: Topology) -> dict[str, str]:
    """Marathon's flags (flag_tables.MARATHON); never http_credentials (marathon_env)."""
    return program_flags("marathon", member, topo)


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
