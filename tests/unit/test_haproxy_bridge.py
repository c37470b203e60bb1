"""haproxy_bridge: config generation from Marathon's documented answers, and the run loop."""

from __future__ import annotations

import copy
import json
import logging
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_marathon_client_fakeserver import example

from pyinfra_mesos import haproxy_bridge as bridge

EMBED = "get-v2-apps-embed-tasks.json"
TOGGLE = "get-v2-apps-id-embed-tasks.json"
M15 = "other-repos/marathon-lb_tests_marathon15_apps.json"
ZDD = "other-repos/marathon-lb_tests_zdd_apps.json"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def toggle_apps() -> dict[str, Any]:
    return {"apps": [example(TOGGLE)["app"]]}


def body(config: str) -> str:
    """The part after the fixed global/defaults header."""
    assert config.startswith(bridge.GLOBAL_SECTION)
    return config[len(bridge.GLOBAL_SECTION):]


def servers(config: str, listener: str) -> list[str]:
    section = config.split(f"listen {listener}\n")[1].split("\nlisten ")[0]
    return [line.split()[2] for line in section.splitlines() if line.strip().startswith("server")]


def test_old_marathon_host_networking_staged_task_has_no_server() -> None:
    # The task has startedAt null (staged): the port listens, with no server behind it.
    assert body(bridge.render_config(example(EMBED))) == (
        "\nlisten ubuntu_10000\n"
        "    # Marathon app /ubuntu, port index 0\n"
        "    bind :10000\n"
        "    balance roundrobin\n")


def test_health_check_results_alive() -> None:
    config = bridge.render_config(toggle_apps())
    assert servers(config, "toggle_10000") == ["10.141.141.10:31045", "10.141.141.10:31234"]


def test_unhealthy_task_left_out() -> None:
    apps = toggle_apps()
    apps["apps"][0]["tasks"][0]["healthCheckResults"][0]["alive"] = False
    assert servers(bridge.render_config(apps), "toggle_10000") == ["10.141.141.10:31234"]


def test_task_without_results_left_out_when_app_has_checks() -> None:
    apps = toggle_apps()
    apps["apps"][0]["tasks"][1]["healthCheckResults"] = []
    assert servers(bridge.render_config(apps), "toggle_10000") == ["10.141.141.10:31045"]


def test_no_results_yet_for_any_task_keeps_the_running_ones() -> None:
    # Right after a Marathon leader change no task has health results yet: unknown, not
    # failed. Dropping them all would take the app off every load balancer.
    apps = toggle_apps()
    for task in apps["apps"][0]["tasks"]:
        task["healthCheckResults"] = []
    assert servers(bridge.render_config(apps), "toggle_10000") == [
        "10.141.141.10:31045", "10.141.141.10:31234"]


def test_marathon15_bridge_service_port() -> None:
    config = bridge.render_config(example(M15))
    assert servers(config, "pywebserver_10101") == ["10.0.2.148:1565"]


def test_state_other_than_running_left_out() -> None:
    apps = example(M15)
    apps["apps"][0]["tasks"][0]["state"] = "TASK_STAGING"
    assert servers(bridge.render_config(apps), "pywebserver_10101") == []


def test_legacy_bridge_uses_port_mappings_not_port_definitions() -> None:
    config = bridge.render_config(example(ZDD))
    assert "bind :10001" in config and "bind :10000" in config
    assert servers(config, "nginx-green_10000") == [
        "10.0.6.25:16916", "10.0.6.25:23336", "10.0.6.25:31184"]
    assert servers(config, "nginx-blue_10001") == ["10.0.1.147:25724"]


def test_host_networking_port_definitions() -> None:
    apps = toggle_apps()
    app = apps["apps"][0]
    del app["ports"]
    app["portDefinitions"] = [{"port": 10555, "protocol": "tcp"}]
    assert servers(bridge.render_config(apps), "toggle_10555") == [
        "10.141.141.10:31045", "10.141.141.10:31234"]


@pytest.mark.parametrize(("group", "exposed"), [("*", True), ("external", True),
                                                ("internal", False)])
def test_haproxy_group_label(group: str, exposed: bool) -> None:
    config = bridge.render_config(example(M15), group)
    assert ("listen pywebserver_10101" in config) is exposed


def test_app_without_group_label_only_for_star() -> None:
    assert "listen toggle_10000" in bridge.render_config(toggle_apps(), "*")
    assert "listen toggle_10000" not in bridge.render_config(toggle_apps(), "external")


@pytest.mark.parametrize("breakage", [
    lambda app: app.update(id=5),
    lambda app: app.update(container="not an object"),
    lambda app: app.update(tasks=["garbage"]),
    lambda app: app["container"].update(portMappings=[None]),
])
def test_malformed_app_skipped_others_kept(breakage: Any,
                                          caplog: pytest.LogCaptureFixture) -> None:
    apps = example(ZDD)
    breakage(apps["apps"][0])  # nginx-green
    with caplog.at_level(logging.WARNING):
        config = bridge.render_config(apps)
    assert servers(config, "nginx-blue_10001") == ["10.0.1.147:25724"]
    if "garbage" not in json.dumps(apps["apps"][0].get("tasks")):
        assert "/nginx-green" in caplog.text or "skipping app 5" in caplog.text


def test_non_object_entries_ignored() -> None:
    apps = example(M15)
    apps["apps"].append("junk")
    assert "listen pywebserver_10101" in bridge.render_config(apps)


def test_duplicate_service_port_first_app_by_id_wins(caplog: pytest.LogCaptureFixture) -> None:
    apps = example(ZDD)
    apps["apps"][1]["container"]["docker"]["portMappings"][0]["servicePort"] = 10000
    with caplog.at_level(logging.WARNING):
        config = bridge.render_config(apps)
    assert config.count("bind :10000") == 1
    assert "listen nginx-blue_10000" in config
    assert "skipping /nginx-green servicePort 10000: already used by /nginx-blue" in caplog.text


def test_udp_only_port_not_proxied() -> None:
    apps = example(M15)
    apps["apps"][0]["container"]["portMappings"][0]["protocol"] = "udp"
    assert "listen" not in body(bridge.render_config(apps))


def test_deterministic_output() -> None:
    apps = example(ZDD)
    shuffled = copy.deepcopy(apps)
    random.Random(4).shuffle(shuffled["apps"])
    for app in shuffled["apps"]:
        random.Random(5).shuffle(app["tasks"])
    assert bridge.render_config(apps) == bridge.render_config(shuffled)


def test_no_apps_list_is_an_error() -> None:
    with pytest.raises(ValueError):
        bridge.render_config({"message": "no leader"})


@pytest.mark.parametrize("fixture", [EMBED, M15, ZDD, "toggle"])
def test_generated_config_passes_haproxy_check(fixture: str, tmp_path: Path) -> None:
    apps = toggle_apps() if fixture == "toggle" else example(fixture)
    path = tmp_path / "haproxy.cfg"
    path.write_text(bridge.render_config(apps))
    done = subprocess.run([HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_empty_app_list_is_a_valid_config(tmp_path: Path) -> None:
    path = tmp_path / "haproxy.cfg"
    path.write_text(bridge.render_config({"apps": []}))
    assert subprocess.run([HAPROXY, "-c", "-q", "-f", str(path)], timeout=30).returncode == 0




def test_installed_layout_runs_on_the_standard_library_alone(tmp_path: Path) -> None:
    """What tasks/haproxy.py copies (BRIDGE_FILES into pyinfra_mesos/) runs as the unit runs
    it, `python3 -m pyinfra_mesos.haproxy_bridge` from that directory, with no site-packages
    (-S): an import outside the standard library would fail here, as it would on the hosts."""
    package = tmp_path / "pyinfra_mesos"
    package.mkdir()
    for src in bridge.BRIDGE_FILES:
        shutil.copy(src, package / Path(src).name)
    done = subprocess.run([sys.executable, "-S", "-E", "-s", "-m", "pyinfra_mesos.haproxy_bridge",
                           "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "--marathon" in done.stdout
