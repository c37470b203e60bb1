"""The schema table: every group_data key has a checker, defaults pass, each kind of bad value is
refused by validate() with one error naming the host and the field."""

from __future__ import annotations

from typing import Any

import pytest

from pyinfra_mesos.inventory_data import default_data
from pyinfra_mesos.schema import FLAG_DICT_KEYS, SCHEMA, check_member, check_value
from pyinfra_mesos.validation import validate
from tests.unit.test_validation import SOURCE, agents, masters, only, topo


def test_every_group_data_key_has_a_checker() -> None:
    missing = [k for k in default_data() if k not in SCHEMA and k not in FLAG_DICT_KEYS]
    assert missing == [], "add a line to pyinfra_mesos/schema.py SCHEMA for each"


def test_defaults_pass_the_schema() -> None:
    assert check_member("all.py", default_data()) == []


# (key, bad value, a fragment of the message): one row per kind of bad input.
BAD = [
    ("apt_cache_time_s", True, "must be an integer"),                 # a bool is not an int
    ("apt_cache_time_s", "3600", "must be an integer"),               # a string is not an int
    ("zookeeper_tick_time_ms", 0, "outside 1..60000"),                # range
    ("mesos_master_restart_wait_s", 10**12, "outside 1..86400"),      # huge
    ("zookeeper_client_port", 70000, "not a port number"),
    ("zookeeper_client_port", 0, "not a port number"),
    ("mesos_agent_port", 5051.0, "not a port number"),                # float
    ("mesos_zk_session_timeout", "10", "Mesos duration"),             # no unit
    ("mesos_executor_registration_timeout", "10 mins", "Mesos duration"),
    ("mesos_executor_registration_timeout", "10mins\n", "newline"),   # trailing newline
    ("base_packages", "curl", "must be a list"),
    ("base_packages", ["curl", "Curl"], "Debian package name"),
    ("base_packages", ["curl; rm -rf /"], "Debian package name"),
    ("docker_package", "", "must not be empty"),
    ("mesos_version", "1.11.0*", "Debian version"),
    ("zookeeper_data_dir", "var/lib/zk", "absolute path"),
    ("mesos_log_dir", "/var/log/me sos", "absolute path"),
    ("mesos_log_dir", "/var/log/../../etc", "'..'"),
    ("mesos_log_dir", "/var/log/mesos\n", "newline"),
    ("registry_data_dir", "/", "must not be /"),
    ("mesos_apt_key_url", "ftp://example.org/key", "http:// or https://"),
    ("mesos_apt_key_url", "https://example.org/k$(id)", "http:// or https://"),
    ("mesos_apt_repo_urls", {"Debian": "http://h/{release}"}, "{codename}"),
    ("mesos_apt_repo_urls", ["http://h/"], "must be a dict"),
    ("mesos_apt_key_fingerprint", "ABCD", "fingerprint"),
    ("marathon_image", "Mesosphere/Marathon:latest", "Docker image reference"),
    ("marathon_image", "mesosphere/marathon:v1.10.26 --privileged", "Docker image reference"),
    ("marathon_container_name", "my marathon", "container name"),
    ("marathon_mesos_user", "root;id", "Unix user name"),
    ("marathon_service_port_range", (20000, 10000), "low <= high"),
    ("marathon_service_port_range", "10000-20000", "(low, high) pair"),
    ("marathon_http_credentials", "adminonly", "user:password"),
    ("marathon_http_credentials", "admin:pw\nMARATHON_X=1", "newline"),
    ("marathon_env", {"MARATHON_ZK": "zk://x/y"}, "marathon_flags"),
    ("marathon_env", {"BAD NAME": "1"}, "environment variable name"),
    ("marathon_env", {"TZ": ["UTC"]}, "must be a string"),
    ("marathon_java_opts", "-Xmx1g\n-Xms1g", "newline"),
    ("mesos_containerizers", "docker,docker", "twice"),
    ("mesos_containerizers", "lxc", "docker, mesos"),
    ("mesos_agent_ports", "31000-32000", "port range list"),
    ("zookeeper_4lw_whitelist", ["srvr", "mntr"], "ruok"),
    ("zookeeper_4lw_whitelist", ["ruok", "srvr", "boom"], "four-letter words"),
    ("zookeeper_mesos_path", "mesos", "znode path"),
    ("zookeeper_mesos_path", "/", "znode path"),
    ("mesos_allow_replicated_log_reset", "yes", "True or False"),
    ("cluster_name", "prod cluster", "letters, digits"),
    ("cluster_name", "prod\n", "newline"),
    ("haproxy_group", "ext;ernal", "label value"),
    ("docker_insecure_registries", ["10.0.0.5:5000\n"], "newline"),
    ("docker_registry_mirrors", ["10.0.0.5:5000"], "http:// or https://"),
    ("apps_instances", {"hello": -1}, "outside 0..10000"),
    ("apps_instances", {"hello": "3"}, "must be an integer"),
    ("apps_instances", [("hello", 3)], "must be a dict"),
    ("apps_deploy_timeout_s", None, "None"),
]


@pytest.mark.parametrize("key,value,fragment", BAD, ids=[f"{k}={v!r:.30}" for k, v, _ in BAD])
def test_bad_value_refused_naming_host_and_field(key: str, value: Any, fragment: str) -> None:
    problems = validate(topo(masters=masters(m2={key: value})), SOURCE)
    found = [p for p in problems if p.where == "m2" and p.field.startswith(key)]
    assert len(found) == 1, "\n".join(p.format() for p in problems)
    assert found[0].level == "error" and fragment in found[0].message, found[0].format()
    assert "\n" not in found[0].format()


@pytest.mark.parametrize("key,value", [
    ("mesos_zk_session_timeout", "1.5mins"), ("mesos_executor_registration_timeout", "2hrs"),
    ("marathon_image", "registry.example.org:5000/team/marathon:v1.10.26"),
    ("marathon_image", "mesosphere/marathon@sha256:" + "a" * 64),
    ("base_packages", ["libstdc++6", "python3.11"]), ("mesos_version", "1:1.11.0-0.1"),
    ("marathon_http_credentials", "admin:pa:ss word"), ("mesos_apt_key_fingerprint",
                                                         "0123 4567 89AB CDEF 0123 4567 89AB CDEF "
                                                         "0123 4567"),
    ("marathon_service_port_range", [10000, 20000]), ("zookeeper_4lw_whitelist", ["*"]),
    ("apps_instances", {"/team/hello": 0}), ("marathon_env", {"TZ": "UTC", "X": 3}),
])
def test_good_values_accepted(key: str, value: Any) -> None:
    assert check_value(key, value) == []


def test_unknown_keys_are_not_checked() -> None:
    assert check_value("ssh_user", ["whatever"]) == []


def test_a_bad_group_data_value_is_one_line_for_all_hosts() -> None:
    bad = {"mesos_log_dir": "relative"}
    problems = validate(topo(masters=masters(m1=bad, m2=bad, m3=bad),
                             agents=agents(a1=bad, a2=bad)), SOURCE)
    p = only(problems, "m1", "mesos_log_dir")
    assert "also on m2, m3, a1, a2" in p.message
