"""The templates render what Mesos, Marathon, ZooKeeper, Docker and apt expect."""

from __future__ import annotations

import json

from test_tasks_harness import group_defaults

from pyinfra_mesos.docker import docker_daemon_config
from pyinfra_mesos.flags import MASTER_ZK_FLAG, env_lines, marathon_flags, master_flags
from pyinfra_mesos.mesos_package import mesos_apt_line, mesos_pin_text
from pyinfra_mesos.templates import render_template
from pyinfra_mesos.topology import build_topology
from pyinfra_mesos.zookeeper import zookeeper_servers, zookeeper_settings

DEFAULTS = group_defaults()


def topology(masters: int = 3, registry: bool = False, **extra):
    groups = {
        "masters": [(f"m{i}", {**DEFAULTS, **extra, "ip": f"10.0.0.{10 + i}",
                               "zookeeper_id": i}) for i in range(1, masters + 1)],
        "agents": [("a1", {**DEFAULTS, **extra, "ip": "10.0.1.11"})],
    }
    if registry:
        groups["registry"] = [("r1", {**DEFAULTS, "ip": "10.0.2.5"})]
    return build_topology(groups)


def test_zoo_cfg_lists_every_member_and_turns_the_admin_server_off():
    topo = topology(3)
    text = render_template("zoo.cfg.j2", settings=zookeeper_settings(DEFAULTS),
                           servers=zookeeper_servers(DEFAULTS, topo))
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("server.")] == [
        "server.1=10.0.0.11:2888:3888",
        "server.2=10.0.0.12:2888:3888",
        "server.3=10.0.0.13:2888:3888",
    ]
    assert "4lw.commands.whitelist=srvr,ruok,mntr,stat" in lines
    assert "admin.enableServer=false" in lines
    for setting in ("dataDir=/var/lib/zookeeper", "clientPort=2181", "tickTime=2000",
                    "initLimit=10", "syncLimit=5"):
        assert setting in lines
    assert text.endswith("\n") and "\n\n" not in text


def test_master_env_file_has_quorum_and_no_zk_flag():
    topo = topology(5)
    flags = master_flags(topo.masters[0], topo)
    text = render_template("mesos-env.j2", source="test",
                           lines=env_lines("MESOS", flags, omit=[MASTER_ZK_FLAG]))
    assert "MESOS_QUORUM=3" in text.splitlines()
    assert "MESOS_ZK=" not in text
    assert "MESOS_WORK_DIR=/var/lib/mesos/master" in text


def test_marathon_unit_runs_the_image_the_way_that_behaved():
    text = render_template("marathon.service.j2", container="marathon",
                           image="example/marathon:1.10", env_file="/etc/default/marathon",
                           stop_timeout_s=60, secret_mount="")
    assert "Requires=docker.service" in text and "After=docker.service" in text
    assert "ExecStartPre=-/usr/bin/docker rm -f marathon" in text
    # The deploy pulls the image (tasks/marathon.py); a start never depends on the registry.
    assert "docker pull" not in text
    assert ("ExecStart=/usr/bin/docker run --rm --init --name marathon --net=host "
            "--env-file /etc/default/marathon example/marathon:1.10") in text
    # Marathon's graceful shutdown takes up to 45 s: the stop and systemd both wait longer.
    assert "ExecStop=/usr/bin/docker stop -t 60 marathon" in text
    assert "TimeoutStopSec=90" in text
    # A stop's exit codes count as success, so only Restart=always brings back a Marathon
    # killed outside a stop (OOM killer, docker kill: 137).
    assert "SuccessExitStatus=130 137 143" in text and "Restart=always" in text


def test_marathon_unit_mounts_its_mesos_secret_read_only():
    text = render_template("marathon.service.j2", container="marathon", image="m:1",
                           env_file="/etc/default/marathon", stop_timeout_s=60,
                           secret_mount="/etc/pyinfra-mesos/s:/etc/marathon/mesos-secret:ro")
    assert ("--env-file /etc/default/marathon -v /etc/pyinfra-mesos/s:/etc/marathon/mesos-secret"
            ":ro m:1") in text


def test_marathon_env_file_is_literal_for_docker():
    topo = topology(3)
    text = render_template("mesos-env.j2", source="test",
                           lines=env_lines("MARATHON", marathon_flags(topo.masters[0], topo),
                                           shell_quoted=False))
    assert "MARATHON_TASK_LAUNCH_TIMEOUT=600000" in text
    assert "MARATHON_ZK=zk://10.0.0.11:2181,10.0.0.12:2181,10.0.0.13:2181/marathon" in text
    assert "'" not in text


def test_docker_daemon_json_trusts_the_registry_group():
    topo = topology(1, registry=True)
    data = {**DEFAULTS, "docker_registry_mirrors": ["http://mirror.example:5000"]}
    parsed = json.loads(render_template("docker-daemon.json.j2",
                                        daemon_config=docker_daemon_config(data, topo)))
    assert parsed["insecure-registries"] == ["10.0.2.5:5000"]
    assert parsed["registry-mirrors"] == ["http://mirror.example:5000", "http://10.0.2.5:5000"]
    assert json.loads(render_template("docker-daemon.json.j2",
                                      daemon_config=docker_daemon_config(DEFAULTS,
                                                                         topology(1)))) == {}


def test_apt_source_and_pin():
    debian = mesos_apt_line(DEFAULTS, "Debian", "bookworm")
    assert debian.startswith("deb [signed-by=/etc/apt/keyrings/aventer-mesos.asc] ")
    assert debian.endswith("/Debian/ bookworm main")
    assert mesos_apt_line(DEFAULTS, "Ubuntu", "noble").endswith("/Ubuntu/noble noble main")
    pin = mesos_pin_text({"mesos_package": "aventer-mesos", "mesos_version": "1.11.0"})
    assert pin == ("# Managed by pyinfra-mesos (tasks/common.py): keep aventer-mesos at "
                   "1.11.0.\nPackage: aventer-mesos\nPin: version 1.11.0*\nPin-Priority: 1001\n")


def test_hosts_block():
    assert render_template("hosts-block.j2", entries=[("10.0.0.11", "m1")]) == "10.0.0.11 m1\n"
