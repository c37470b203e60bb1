"""Computed Mesos/Marathon flags, env files and the safety decisions, without hosts."""

from __future__ import annotations

import pytest
from test_tasks_harness import group_defaults

from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.flags import (
    agent_flags,
    docker_env_file_lines,
    env_lines,
    format_resources,
    marathon_env,
    marathon_flags,
    master_flags,
    parse_env_lines,
)
from pyinfra_mesos.mesos_agent import agent_info_changes, check_agent_checkpoint
from pyinfra_mesos.mesos_master import plan_quorum_change
from pyinfra_mesos.topology import build_topology

DEFAULTS = group_defaults()


def topo_with(masters: int, agents: int = 1, **extra):
    def host(name, ip, **data):
        return (name, {**DEFAULTS, "ip": ip, **extra, **data})
    return build_topology({
        "masters": [host(f"m{i}", f"10.0.0.{10 + i}", zookeeper_id=i)
                    for i in range(1, masters + 1)],
        "agents": [host(f"a{i}", f"10.0.1.{10 + i}") for i in range(1, agents + 1)],
    })


@pytest.mark.parametrize(("count", "expected_quorum"), [(1, "1"), (3, "2"), (5, "3")])
def test_master_quorum_and_zk_url_follow_master_count(count, expected_quorum):
    topo = topo_with(count)
    flags = master_flags(topo.masters[0], topo)
    assert flags["quorum"] == expected_quorum
    hosts = ",".join(f"10.0.0.{10 + i}:2181" for i in range(1, count + 1))
    assert flags["zk"] == f"zk://{hosts}/mesos"


def test_master_advertises_its_address_and_keeps_state_out_of_tmp():
    topo = topo_with(3)
    flags = master_flags(topo.masters[1], topo)
    assert flags["ip"] == flags["hostname"] == "10.0.0.12"
    assert flags["port"] == "5050"
    assert flags["work_dir"] == "/var/lib/mesos/master"
    assert flags["cluster"] == "pyinfra-mesos"
    assert flags["zk_session_timeout"] == "10secs"


def test_user_master_flags_are_merged_over_computed_ones():
    topo = topo_with(3, mesos_master_flags={"quorum": 3, "authenticate_agents": True})
    flags = master_flags(topo.masters[0], topo)
    assert flags["quorum"] == "3"
    assert flags["authenticate_agents"] == "true"


def test_agent_flags():
    topo = topo_with(3, agents=1, mesos_resources={"cpus": 2, "mem": 1024},
                     mesos_attributes={"rack": "r1", "zone": "a"})
    flags = agent_flags(topo.agents[0], topo)
    assert flags["master"] == "zk://10.0.0.11:2181,10.0.0.12:2181,10.0.0.13:2181/mesos"
    assert flags["resources"] == "cpus:2;mem:1024;ports:[31000-32000]"
    assert flags["attributes"] == "rack:r1;zone:a"
    assert flags["containerizers"] == "docker,mesos"
    assert flags["executor_registration_timeout"] == "10mins"
    assert flags["hostname"] == flags["ip"] == "10.0.1.11"


def test_agent_without_attributes_sets_no_empty_flag_and_user_ports_win():
    topo = topo_with(1, mesos_resources={"ports": "[20000-21000]"})
    flags = agent_flags(topo.agents[0], topo)
    assert "attributes" not in flags
    assert flags["resources"] == "ports:[20000-21000]"
    assert format_resources(None, "[31000-32000]") == "ports:[31000-32000]"


def test_marathon_flags():
    topo = topo_with(3)
    flags = marathon_flags(topo.masters[0], topo)
    assert flags["master"].endswith("/mesos") and flags["zk"].endswith("/marathon")
    assert flags["zk"].startswith("zk://10.0.0.11:2181,10.0.0.12:2181,10.0.0.13:2181/")
    assert flags["hostname"] == "10.0.0.11"
    assert flags["task_launch_timeout"] == "600000"
    assert (flags["local_port_min"], flags["local_port_max"]) == ("10000", "20000")
    assert "http_credentials" not in flags


def test_marathon_credentials_reach_marathon_only_through_mesosphere_http_credentials():
    topo = topo_with(1, marathon_flags={"http_credentials": "x:y", "disable_ha": ""},
                     marathon_http_credentials="admin:s3cret")
    flags = marathon_flags(topo.masters[0], topo)
    # Never a flag: envToArgs would put MARATHON_HTTP_CREDENTIALS on the JVM's command line.
    assert "http_credentials" not in flags and flags["disable_ha"] == ""
    env = marathon_env(topo.masters[0], topo, "admin:s3cret")
    assert env["MESOSPHERE_HTTP_CREDENTIALS"] == "admin:s3cret"
    assert not any("s3cret" in v for k, v in env.items() if k != "MESOSPHERE_HTTP_CREDENTIALS")


def test_marathon_env_advertises_the_hosts_address_and_passes_java_opts():
    topo = topo_with(3, marathon_java_opts="-Xmx2g", marathon_env={"TZ": "UTC"})
    env = marathon_env(topo.masters[1], topo)
    # libprocess would advertise 127.0.1.1 (Debian's /etc/hosts) and get no offers.
    assert env["LIBPROCESS_IP"] == "10.0.0.12"
    assert env["JAVA_OPTS"] == "-Xmx2g" and env["TZ"] == "UTC"
    assert env["MARATHON_HOSTNAME"] == "10.0.0.12"
    assert "MESOSPHERE_HTTP_CREDENTIALS" not in env


def test_docker_env_file_lines_are_literal_and_refuse_newlines():
    assert docker_env_file_lines({"JAVA_OPTS": "-Xmx1g -Dx='y'"}) == ["JAVA_OPTS=-Xmx1g -Dx='y'"]
    with pytest.raises(ValueError, match="JAVA_OPTS"):
        docker_env_file_lines({"JAVA_OPTS": "-Xmx1g\nMARATHON_X=y"})


def test_env_lines_quote_for_the_shell_but_not_for_docker_env_files():
    flags = {"resources": "cpus:2;mem:1024;ports:[31000-32000]", "port": "5051", "toggle": ""}
    shell = env_lines("MESOS", flags)
    assert "MESOS_RESOURCES='cpus:2;mem:1024;ports:[31000-32000]'" in shell
    assert "MESOS_PORT=5051" in shell and "MESOS_TOGGLE=" in shell
    docker = env_lines("MARATHON", {"disable_ha": "", "master": "zk://a:2181/mesos"},
                       shell_quoted=False)
    assert docker == ["MARATHON_DISABLE_HA=", "MARATHON_MASTER=zk://a:2181/mesos"]
    assert parse_env_lines(["# c", *shell, "OTHER=1"], "MESOS") == flags


def test_env_lines_can_leave_out_the_zk_flag():
    assert env_lines("MESOS", {"zk": "zk://x/mesos", "quorum": "2"}, omit=["zk"]) == [
        "MESOS_QUORUM=2"]


def test_quorum_plan_fresh_and_growing_3_to_5():
    assert not plan_quorum_change("m1", {}, 3, False, False).changes
    grow = plan_quorum_change("m1", {"quorum": "2"}, 5, True, False)
    assert grow.changes and grow.new == 3 and not grow.reset_replicated_log


def test_one_to_three_masters_with_a_log_is_refused_without_consent():
    with pytest.raises(DeployRefused) as refused:
        plan_quorum_change("m1", {"quorum": "1"}, 3, True, False)
    message = str(refused.value)
    assert "m1" in message and "mesos_allow_replicated_log_reset" in message
    assert "Nothing was changed" in message
    assert plan_quorum_change("m1", {"quorum": "1"}, 3, True, True).reset_replicated_log
    # No log yet (never started): nothing to lose.
    assert not plan_quorum_change("m1", {"quorum": "1"}, 3, False, False).reset_replicated_log


def test_shrinking_5_to_3_is_refused_without_consent_and_never_resets_the_log():
    with pytest.raises(DeployRefused) as refused:
        plan_quorum_change("m1", {"quorum": "3"}, 3, True, False)
    message = str(refused.value)
    assert message.startswith("error: m1: mesos_allow_master_removal: ")
    assert "Nothing was changed" in message and "\n" not in message
    # The reset consent alone does not allow it either.
    with pytest.raises(DeployRefused, match="mesos_allow_master_removal"):
        plan_quorum_change("m1", {"quorum": "3"}, 3, True, True)
    for reset in (False, True):
        shrink = plan_quorum_change("m1", {"quorum": "3"}, 3, True, reset, allow_removal=True)
        assert shrink.shrinks and shrink.changes and shrink.new == 2
        assert not shrink.reset_replicated_log
    grow = plan_quorum_change("m1", {"quorum": "2"}, 5, True, False)
    assert not grow.shrinks


def test_agent_info_change_needs_consent_only_with_a_checkpoint():
    old = {"resources": "cpus:2;ports:[31000-32000]", "attributes": "rack:r1"}
    new = {"resources": "cpus:4;ports:[31000-32000]", "attributes": "rack:r1"}
    assert agent_info_changes({}, new) == []
    changed = agent_info_changes(old, new)
    assert changed == ["resources"]
    assert check_agent_checkpoint("a1", changed, checkpoint_exists=False,
                                  allow_reset=False) is False
    with pytest.raises(DeployRefused, match="a1: mesos_resources"):
        check_agent_checkpoint("a1", changed, checkpoint_exists=True, allow_reset=False)
    assert check_agent_checkpoint("a1", changed, checkpoint_exists=True, allow_reset=True)


def test_mesos_upgrade_needed_only_for_an_installed_package_off_the_pin() -> None:
    from pyinfra_mesos.mesos_package import mesos_upgrade_needed

    assert not mesos_upgrade_needed({}, "aventer-mesos", "1.11.0")
    assert not mesos_upgrade_needed({"aventer-mesos": {"1.11.0-1"}}, "aventer-mesos", "1.11.0")
    assert mesos_upgrade_needed({"aventer-mesos": {"1.10.0-1"}}, "aventer-mesos", "1.11.0")


def test_mesos_authentication_is_on_by_default_for_masters_agents_and_marathon():
    topo = topo_with(3, agents=1)
    master = master_flags(topo.masters[0], topo)
    assert (master["authenticate_frameworks"], master["authenticate_agents"],
            master["authenticate_http_readwrite"]) == ("true", "true", "true")
    assert master["credentials"] == "/etc/pyinfra-mesos/mesos-credentials.json"
    assert agent_flags(topo.agents[0], topo)["credential"] == \
        "/etc/pyinfra-mesos/mesos-agent-credential.json"
    marathon = marathon_flags(topo.masters[0], topo)
    assert marathon["mesos_authentication"] == ""          # a toggle
    assert marathon["mesos_authentication_principal"] == "marathon"
    assert marathon["mesos_authentication_secret_file"] == "/etc/marathon/mesos-secret"


def test_mesos_authentication_off_sets_none_of_its_flags():
    topo = topo_with(3, agents=1, mesos_authentication=False)
    assert not {"authenticate_frameworks", "credentials"} & set(
        master_flags(topo.masters[0], topo))
    assert "credential" not in agent_flags(topo.agents[0], topo)
    assert "mesos_authentication" not in marathon_flags(topo.masters[0], topo)


def test_mesos_credentials_files_are_the_documented_json_forms():
    import json

    from pyinfra_mesos.flags import mesos_agent_credential_json, mesos_credentials_json

    master = json.loads(mesos_credentials_json({"marathon": "m", "agent": "a"}))
    assert master == {"credentials": [{"principal": "agent", "secret": "a"},
                                      {"principal": "marathon", "secret": "m"}]}
    assert json.loads(mesos_agent_credential_json("a")) == {"principal": "agent", "secret": "a"}
