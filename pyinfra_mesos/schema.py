"""The type and range of every group_data key, in one table: key -> checker.

Adding a key to group_data/all.py means adding one line here (a test fails until you do). The
checkers come from `value_checks` (and `agent_data` for Mesos' resource syntax); each yields
`(field suffix, message)` and never raises, whatever the value. The same table serves `check`
and the deploy: both call `validation.validate`, which calls `check_member` for every host.

Keys checked elsewhere, because their rule needs the group or the other hosts: `ip` and
`zookeeper_id` (validation.py), the three flag dicts (validation.py: names against the Mesos and
Marathon lists, no override of computed flags), `apps_instances`' app names (apps.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pyinfra_mesos import flag_lists
from pyinfra_mesos.agent_data import check_attributes, check_resources, parse_ranges
from pyinfra_mesos.docker import docker_version_problems
from pyinfra_mesos.firewall import check_operator_network
from pyinfra_mesos.flags import zk_digest_problem
from pyinfra_mesos.mesos_package import mesos_version_problems
from pyinfra_mesos.problems import Problem, error
from pyinfra_mesos.value_checks import (
    Checker,
    absolute_path,
    all_of,
    boolean,
    debian_package,
    duration,
    http_url,
    image_reference,
    integer,
    is_int,
    is_number,
    list_of,
    mapping_of,
    one_line,
    port,
    predicate,
    text,
    word,
)
from pyinfra_mesos.zookeeper_package import zookeeper_version_problems


def zookeeper_pin(value: Any) -> Iterator[tuple[str, str]]:
    """"" or a Debian version (zookeeper_package.zookeeper_version_problems)."""
    for problem in zookeeper_version_problems(value, ""):
        yield "", problem.message


def docker_pin(value: Any) -> Iterator[tuple[str, str]]:
    """"" or a Debian version (docker.docker_version_problems)."""
    for problem in docker_version_problems(value, ""):
        yield "", problem.message


def aventer_mesos_pin(value: Any) -> Iterator[tuple[str, str]]:
    """A Debian version whose pin admits no broken aventer-mesos build
    (mesos_package.mesos_version_problems)."""
    for problem in mesos_version_problems(value, ""):
        yield "", problem.message


DAY_S = 86_400
DAY_MS = DAY_S * 1000

# ZooKeeper 3.8's four-letter words (zookeeper-server FourLetterCommands.java); `*` allows all.
_FOUR_LETTER_WORDS = frozenset({
    "conf", "cons", "crst", "dump", "envi", "ruok", "srst", "srvr", "stat", "wchs", "wchc",
    "wchp", "mntr", "isro", "hash", "gtmk", "stmk", "dirs", "*"})
# The deploy's restart probes send these (zookeeper.zookeeper_probe).
_PROBE_WORDS = ("ruok", "srvr")


def _four_letter_words(value: Any) -> Iterator[tuple[str, str]]:
    found = list(list_of(text(re.compile(r"[a-z]{4}|\*"), "a four-letter word"))(value))
    if found:
        yield from found
        return
    unknown = [w for w in value if w not in _FOUR_LETTER_WORDS]
    if unknown:
        yield "", f"{unknown} are not ZooKeeper four-letter words"
    elif "*" not in value and (missing := [w for w in _PROBE_WORDS if w not in value]):
        yield "", f"must allow {', '.join(missing)}: the deploy's restart probes use them"


def _port_range_text(value: Any) -> Iterator[tuple[str, str]]:
    if parse_ranges(value) is None:
        yield "", (f"{value!r} is not a Mesos port range list like \"[31000-32000]\" "
                   "(ports 1..65535, low-high)")


def _port_pair(value: Any) -> Iterator[tuple[str, str]]:
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(is_int(v) for v in value)):
        yield "", f"{value!r} is not a (low, high) pair of ports"
    elif not 1 <= value[0] <= value[1] <= 65535:
        yield "", f"({value[0]}, {value[1]}) is not a low <= high range of ports 1..65535"


def _containerizers(value: Any) -> Iterator[tuple[str, str]]:
    found = list(text(re.compile(r"(?:docker|mesos)(?:,(?:docker|mesos))*"),
                      "docker, mesos or docker,mesos")(value))
    if found:
        yield from found
    elif len(set(value.split(","))) != len(value.split(",")):
        yield "", f"{value!r} names a containerizer twice"


def _fingerprint(value: Any) -> Iterator[tuple[str, str]]:
    yield from text(re.compile(r"(?:[0-9A-Fa-f]{4} ?){10}|(?:[0-9A-Fa-f]{2} ?){20}"),
                    "an OpenPGP v4 fingerprint (40 hex digits, spaces allowed)",
                    empty_ok=True)(value)


def _apt_repo_url(value: Any) -> Iterator[tuple[str, str]]:
    found = list(http_url(value))
    if found:
        yield from found
        return
    try:
        value.format(codename="bookworm")
    except (KeyError, IndexError, ValueError):
        yield "", f"{value!r}: the only placeholder filled in is {{codename}}"


# `user:password` for Marathon's HTTP basic auth: the user has no `:`; the password may.
_CREDENTIALS = re.compile(r"[^:\s]+:\S(?:.*\S)?")
# A ZooKeeper znode path: /name[/name...] (zookeeper's PathUtils.validatePath, restricted to the
# characters that are safe in a zk:// URL).
_ZNODE = re.compile(r"(?:/[A-Za-z0-9_.-]+)+")
# A Unix user name (Debian's adduser NAME_REGEX).
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# `host[:port]` as daemon.json's insecure-registries take it (or a CIDR).
_REGISTRY = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[0-9]{1,2})?")
# A Marathon label value for HAPROXY_GROUP, or `*` for every app.
_GROUP = re.compile(r"\*|[A-Za-z0-9_.-]+")
# Mesos --cluster: shown in the UI and written to an env file; a plain name.
_CLUSTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
# An app id as apps_instances names it (Marathon's PathId characters, slashes optional).
_APP_ID = re.compile(r"/?[a-z0-9][a-z0-9.-]*(?:/[a-z0-9][a-z0-9.-]*)*")

# Variables the deploy sets in Marathon's container itself (flags.marathon_env), and the prefix
# Marathon turns into command-line flags (flags belong in marathon_flags, checked by name).
_MARATHON_OWN_ENV = ("LIBPROCESS_IP", "JAVA_OPTS", "MESOSPHERE_HTTP_CREDENTIALS")


def _marathon_env_name(value: Any) -> Iterator[tuple[str, str]]:
    found = list(text(re.compile(r"[A-Za-z_][A-Za-z0-9_]*"), "an environment variable name")(
        value))
    if found:
        yield from found
    elif value.upper().startswith("MARATHON_"):
        yield "", f"{value} is a Marathon flag; give it in marathon_flags (name checked there)"
    elif value in _MARATHON_OWN_ENV:
        yield "", (f"{value} is set by the deploy (marathon_java_opts, "
                   "marathon_http_credentials, ip)")


def _zookeeper_credentials(value: Any) -> Iterator[tuple[str, str]]:
    """"" (generated) or `user:password` both zk:// URL grammars read alike (flags.py)."""
    if not isinstance(value, str):
        yield "", f"must be a string \"user:password\", not {type(value).__name__}"
    elif value and (problem := zk_digest_problem(value)):
        yield "", problem


def _env_value(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, bool) or is_number(value):
        return
    yield from one_line(value)


SCHEMA: dict[str, Checker] = {
    "cluster_name": text(_CLUSTER, "a name of letters, digits and _ . - (at most 63)"),
    "backup_before_upgrade": boolean,
    "base_packages": list_of(debian_package),
    "apt_cache_time_s": integer(0, 30 * DAY_S, "s"),
    "apt_lock_timeout_s": integer(0, DAY_S, "s"),
    # pyinfra's connection port (host data): the firewall opens it, so it must be a port.
    "ssh_port": port,
    "firewall_enabled": boolean,
    "firewall_operator_networks": list_of(check_operator_network),
    "firewall_extra_open_tcp_ports": list_of(port),
    "zookeeper_package": debian_package,
    "zookeeper_version": zookeeper_pin,
    "zookeeper_service": word,
    "zookeeper_conf_dir": absolute_path,
    "zookeeper_data_dir": absolute_path,
    "zookeeper_client_port": port,
    "zookeeper_peer_port": port,
    "zookeeper_election_port": port,
    "zookeeper_tick_time_ms": integer(1, 60_000, "ms"),
    "zookeeper_init_limit": integer(1, 1000, "ticks"),
    "zookeeper_sync_limit": integer(1, 1000, "ticks"),
    "zookeeper_4lw_whitelist": _four_letter_words,
    "zookeeper_restart_wait_s": integer(1, DAY_S, "s"),
    "zookeeper_mesos_path": text(_ZNODE, "a znode path such as /mesos"),
    "zookeeper_marathon_path": text(_ZNODE, "a znode path such as /marathon"),
    "zookeeper_admin_server": boolean,
    "zookeeper_acls": boolean,
    "zookeeper_mesos_credentials": _zookeeper_credentials,
    "zookeeper_marathon_credentials": _zookeeper_credentials,
    "zookeeper_admin_port": port,
    "docker_package": debian_package,
    "docker_version": docker_pin,
    "docker_insecure_registries": list_of(text(_REGISTRY, "host:port")),
    "docker_registry_mirrors": list_of(http_url),
    # Read by tasks/docker.py (default 60) though group_data/all.py does not list it.
    "docker_restart_wait_s": integer(1, DAY_S, "s"),
    "docker_drain_wait_s": integer(1, DAY_S, "s"),
    "mesos_package": debian_package,
    "mesos_version": aventer_mesos_pin,
    "mesos_apt_repo_urls": mapping_of(word, _apt_repo_url,
                                      '{"Debian": "http://host/Debian/"}', min_items=1),
    "mesos_apt_repo_component": text(re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*"),
                                     "an apt component such as main"),
    "mesos_apt_key_url": http_url,
    "mesos_apt_key_fingerprint": _fingerprint,
    "mesos_master_port": port,
    "mesos_agent_port": port,
    "mesos_master_work_dir": absolute_path,
    "mesos_agent_work_dir": absolute_path,
    "mesos_log_dir": absolute_path,
    "mesos_zk_session_timeout": duration,
    "mesos_master_restart_wait_s": integer(1, DAY_S, "s"),
    "mesos_agent_restart_wait_s": integer(1, DAY_S, "s"),
    "mesos_containerizers": _containerizers,
    "mesos_executor_registration_timeout": duration,
    "mesos_agent_ports": _port_range_text,
    "mesos_allow_replicated_log_reset": boolean,
    "mesos_allow_master_removal": boolean,
    "mesos_allow_agent_checkpoint_reset": boolean,
    "mesos_authentication": boolean,
    "mesos_resources": check_resources,
    "mesos_attributes": check_attributes,
    "marathon_image": image_reference,
    "marathon_container_name": text(re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]+"),
                                    "a Docker container name"),
    "marathon_http_port": port,
    "marathon_mesos_user": text(_USER, "a Unix user name"),
    "marathon_task_launch_timeout_ms": integer(1000, DAY_MS, "ms"),
    "marathon_service_port_range": _port_pair,
    "marathon_http_credentials": all_of(
        one_line, predicate(lambda v: v == "" or _CREDENTIALS.fullmatch(v) is not None,
                            "is not user:password (no spaces around; the user has no ':')")),
    "marathon_java_opts": one_line,
    "marathon_env": mapping_of(_marathon_env_name, _env_value, '{"TZ": "UTC"}'),
    "marathon_restart_wait_s": integer(1, DAY_S, "s"),
    # On the operator's machine: generated secrets are kept under <credentials_dir>/<cluster>.
    "credentials_dir": text(None, "a directory path"),
    "haproxy_package": debian_package,
    "haproxy_bridge_interval_s": integer(1, 3600, "s"),
    "haproxy_group": text(_GROUP, "* or a label value of letters, digits and _ . -"),
    "registry_port": port,
    "registry_push_port": port,
    "registry_data_dir": absolute_path,
    "apps_dir": text(None, "a directory path"),
    "apps_instances": mapping_of(text(_APP_ID, "an app id"), integer(0, 10_000, "instances"),
                                 '{"hello-sinatra": 3}'),
    "apps_deploy_timeout_s": integer(1, DAY_S, "s"),
}

# Keys whose value the deploy treats as a dict of flags (each program's table names its own,
# flag_tables.Table.user_key); validation.py checks those.
FLAG_DICT_KEYS: tuple[str, ...] = tuple(flag_lists.DATA_KEYS.values())


def check_value(key: str, value: Any) -> list[tuple[str, str]]:
    """`[(field, message)]` for one key's value; [] when it is good or the key has no rule."""
    checker = SCHEMA.get(key)
    if checker is None:
        return []
    return [(f"{key}{suffix}", message) for suffix, message in checker(value)]


def check_member(where: str, data: Mapping[str, Any]) -> list[Problem]:
    """Every schema problem in one host's data (keys it does not have are not checked)."""
    problems = []
    for key in SCHEMA:
        if key in data:
            problems += [error(where, field, message)
                         for field, message in check_value(key, data[key])]
    return problems
