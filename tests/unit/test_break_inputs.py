"""A new user's bad inputs against `python -m pyinfra_mesos check`: each one is refused with one
clear line naming the host or file and the field, exit 1, never a traceback (issue 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos.cli import main

REPO = Path(__file__).resolve().parents[2]

# (host data key, bad value, field the first error line names); set on master m1 unless the
# key is an agent's.
HOST_CASES: list[tuple[str, Any, str]] = [
    ("cluster_name", "a b", "cluster_name"), ("cluster_name", "x\n", "cluster_name"),
    ("cluster_name", 5, "cluster_name"), ("cluster_name", "a;rm -rf /", "cluster_name"),
    ("ssh_port", 0, "ssh_port"), ("ssh_port", "22", "ssh_port"), ("ssh_port", True, "ssh_port"),
    ("apt_cache_time_s", -1, "apt_cache_time_s"), ("apt_cache_time_s", 1.5, "apt_cache_time_s"),
    ("zookeeper_client_port", 70000, "zookeeper_client_port"),
    ("zookeeper_4lw_whitelist", ["ruok\n"], "zookeeper_4lw_whitelist"),
    ("zookeeper_4lw_whitelist", [], "zookeeper_4lw_whitelist"),
    ("zookeeper_mesos_path", "/mesos\n", "zookeeper_mesos_path"),
    ("zookeeper_mesos_path", "/a b", "zookeeper_mesos_path"),
    ("docker_insecure_registries", ["[::1]:5000"], "docker_insecure_registries"),
    ("docker_registry_mirrors", ["http://x\n"], "docker_registry_mirrors"),
    ("mesos_version", "1.11\n", "mesos_version"),
    ("mesos_apt_repo_urls", {"Debian": "http://x/{foo}"}, "mesos_apt_repo_urls"),
    ("mesos_apt_key_fingerprint", "zz", "mesos_apt_key_fingerprint"),
    ("mesos_master_work_dir", "relative", "mesos_master_work_dir"),
    ("mesos_master_work_dir", "/var/lib/mesos\n", "mesos_master_work_dir"),
    ("mesos_master_work_dir", "/tmp/x", "mesos_master_work_dir"),
    ("mesos_zk_session_timeout", "10secs\n", "mesos_zk_session_timeout"),
    ("mesos_containerizers", "docker,docker", "mesos_containerizers"),
    ("mesos_agent_ports", "[31000-32000]\n", "mesos_agent_ports"),
    ("mesos_attributes", {"rack": "r1\n"}, "mesos_attributes"),
    ("mesos_attributes", {"a;b": "x"}, "mesos_attributes"),
    ("mesos_resources", {"cpus": -1}, "mesos_resources"),
    ("marathon_image", "img\n", "marathon_image"),
    ("marathon_http_credentials", "u:p\n", "marathon_http_credentials"),
    ("marathon_http_credentials", "nocolon", "marathon_http_credentials"),
    ("marathon_java_opts", "-Xmx1g\n-Xms1g", "marathon_java_opts"),
    ("marathon_env", {"A": "x\ny"}, "marathon_env"),
    ("marathon_env", {"MARATHON_X": "1"}, "marathon_env"),
    ("marathon_service_port_range", (20000, 10000), "marathon_service_port_range"),
    ("haproxy_group", "a b", "haproxy_group"),
    ("apps_instances", {"hello-sinatra": -1}, "apps_instances"),
    ("mesos_master_flags", {"ip": "1.2.3.4"}, "mesos_master_flags.ip"),
    ("mesos_master_flags", {"hostname": "x;y"}, "mesos_master_flags.hostname"),
    ("mesos_master_flags", {"quorum": 1}, "mesos_master_flags.quorum"),
    ("mesos_master_flags", {"work_dir": "/x\n"}, "mesos_master_flags.work_dir"),
    ("mesos_master_flags", "x", "mesos_master_flags"),
    ("mesos_agent_flags", {"attributes": "a:b"}, "mesos_agent_flags.attributes"),
    ("mesos_agent_flags", {"master": "zk://x"}, "mesos_agent_flags.master"),
    ("marathon_flags", {"http_port": 1}, "marathon_flags.http_port"),
    ("marathon_flags", {"master": "x"}, "marathon_flags.master"),
    ("firewall_operator_networks", ["10.0.0.0/33"], "firewall_operator_networks"),
    ("firewall_enabled", "yes", "firewall_enabled"),
    ("ip", "::1", "ip"), ("ip", "fe80::1", "ip"), ("ip", "10.0.0.11\n", "ip"), ("ip", 10, "ip"),
    ("zookeeper_id", 0, "zookeeper_id"), ("zookeeper_id", "1", "zookeeper_id"),
    ("mesos_master_prot", 5050, "mesos_master_prot"),
]
AGENT_KEYS = ("mesos_agent_flags", "mesos_attributes", "mesos_resources", "mesos_agent_ports")


def run_check(tmp_path: Path, inventory: str, apps: Path,
              capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    path = tmp_path / "inv.py"
    path.write_text(inventory)
    code = main(["check", str(path), "--apps", str(apps)])  # a traceback fails the test
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(("key", "value", "field"), HOST_CASES,
                         ids=[f"{k}={v!r}" for k, v, _ in HOST_CASES])
def test_bad_host_data_is_one_line_naming_the_field(tmp_path: Path, key: str, value: Any,
                                                    field: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    master: dict[str, Any] = {"ip": "10.0.0.11", "zookeeper_id": 1}
    agent: dict[str, Any] = {"ip": "10.0.0.21"}
    (agent if key in AGENT_KEYS else master)[key] = value
    host = "a1" if key in AGENT_KEYS else "m1"
    code, out = run_check(tmp_path, f"masters = [('m1', {master!r})]\n"
                                    f"agents = [('a1', {agent!r})]\n", REPO / "apps", capsys)
    errors = [line for line in out if line.startswith("error: ")]
    assert code == 1, out
    assert errors and errors[0].startswith(f"error: {host}: {field}"), out


APP_CASES: list[tuple[str, str]] = [
    ("", "(json)"), ("[1]", "(root)"), ('{"id": "bad id", "cmd": "sleep 1"}', "id"),
    ('{"id": "/x\\n", "cmd": "sleep 1"}', "id"),
    ('{"id": "/x", "cmd": "sleep 1", "instances": "3"}', "instances"),
    ('{"id": "/x", "cmd": "sleep 1", "env": {"A": 1}}', "env.A"),
    ('{"id": "/x", "cmd": "sleep 1", "cpus": NaN}', "(json)"),
    ('{"id": "/x", "id": "/y", "cmd": "sleep 1"}', "(json)"),
    ('{"id": "/x", "cmd": "sleep 1", "fetch": [{"uri": 5}]}', "fetch[0].uri"),
    ('{"id": "/x", "cmd": "sleep 1", "labels": {"A": 1}}', "labels.A"),
    ('{"id": "/x", "cmd": "sleep 1", "mem": -1}', "mem"),
]


@pytest.mark.parametrize(("text", "field"), APP_CASES, ids=[c[0][:40] for c in APP_CASES])
def test_bad_app_file_is_one_line_naming_file_and_field(tmp_path: Path, text: str, field: str,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "app.json").write_text(text)
    code, out = run_check(tmp_path, "masters = [('m1', {'ip': '10.0.0.11', 'zookeeper_id': 1})]\n"
                                    "agents = [('a1', {'ip': '10.0.0.21'})]\n", apps, capsys)
    assert code == 1, out
    assert out[0].startswith(f"error: {apps / 'app.json'}: {field}: "), out
