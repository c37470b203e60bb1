"""deploy/packages.py: an install is planned only for a package the dpkg list lacks."""

from __future__ import annotations

from test_tasks_harness import fake_host, group_defaults, plan

from pyinfra_mesos.deploy.packages import missing_packages
from pyinfra_mesos.first_install import held_units, units_to_hold
from pyinfra_mesos.floor import packages_for

INSTALL = "Install this host's packages, one apt transaction"
DATA = {"base_packages": ["curl"], "firewall_enabled": True, "docker_package": "docker.io",
        "zookeeper_package": "zookeeperd", "zookeeper_service": "zk-custom",
        "mesos_package": "aventer-mesos", "haproxy_package": "haproxy"}
DPKG_HAPROXY = {"dpkg -l": ["ii  haproxy  2.6.12-1+deb12u1  amd64  fast and reliable"]}


def test_missing_packages_keeps_the_order_and_reads_none_as_nothing_installed() -> None:
    installed = {"curl": ["7.88.1"], "gnupg": ["2.2.40"]}
    assert missing_packages(installed, ["curl", "python3", "gnupg", "ca-certificates"]) == [
        "python3", "ca-certificates"]
    assert missing_packages(None, ["curl"]) == ["curl"]
    assert missing_packages(installed, []) == []


def test_an_installed_package_plans_no_install_and_a_missing_one_plans_apt_get() -> None:
    """tasks/common.py: one install for what the dpkg list lacks, only that, its units masked
    first; a host with everything plans none."""
    everything = {"dpkg -l": [f"ii  {name}  1.0  amd64  x" for name in (
        "ca-certificates", "curl", "gnupg", "python3", "nftables", "docker.io", "haproxy",
        "aventer-mesos")]}
    hosts = {"agents": [fake_host("a1", everything, ip="10.0.0.21"),
                        fake_host("a2", DPKG_HAPROXY, ip="10.0.0.22")],
             "masters": [fake_host("m1", {}, ip="10.0.0.11", zookeeper_id=1)]}
    planned = plan(hosts, ["tasks/common.py"])
    assert not [op for op in planned["a1"] if op.name.startswith(INSTALL)]
    install = [op for op in planned["a2"] if op.name.startswith(INSTALL)]
    assert len(install) == 1, install
    commands = install[0].commands
    # haproxy is there: neither installed again nor masked (a running HAProxy stays up).
    assert commands[:2] == ["systemctl mask docker.socket", "systemctl mask docker.service"]
    assert len(commands) == 3 and "apt-get" in commands[2], commands
    # a2 lacks the aventer-mesos key's tools: they came first, in their own transaction.
    assert " docker.io" in commands[2] and " curl" not in commands[2]
    tools = [op for op in planned["a2"] if op.name.startswith("Install what the aventer-mesos")]
    assert len(tools) == 1 and tools[0].commands[-1].endswith(
        " ca-certificates curl gnupg"), tools
    # aventer-mesos joins the one transaction: its repository is set up before the refresh.
    assert " haproxy" not in commands[2] and commands[2].endswith(" aventer-mesos"), commands


def test_the_one_transaction_is_the_floor_aventer_mesos_last() -> None:
    """A fresh master installs exactly floor.packages_for its roles (the benchmark's floor),
    aventer-mesos with the others in one apt-get; on a host without the aventer-mesos key's
    tools (this fake host has no dpkg list) those come first, and only there."""
    wanted = packages_for({"master", "zookeeper", "marathon"}, group_defaults())
    assert wanted[-1] == "aventer-mesos"
    tools = {"dpkg -l": [f"ii  {name}  1.0  amd64  x"
                         for name in ("ca-certificates", "curl", "gnupg")]}
    for answers, transactions in (({}, [wanted[:3], wanted[3:]]),
                                  (tools, [wanted[3:]])):
        hosts = {"masters": [fake_host("m1", answers, ip="10.0.0.11", zookeeper_id=1)]}
        ops = plan(hosts, ["tasks/common.py"])["m1"]
        apt_get = [c for op in ops for c in op.commands if "apt-get" in c and " install " in c]
        assert [c.split(" install ", 1)[1].split() for c in apt_get] == transactions, apt_get


def test_each_service_a_package_brings_is_held_and_nothing_else() -> None:
    every_role = {"master", "zookeeper", "marathon", "registry", "agent", "load_balancer"}
    assert units_to_hold(["curl", "zookeeperd", "docker.io", "docker-registry", "haproxy"],
                         DATA, every_role) == ["zk-custom.service", "docker.socket",
                                               "docker.service", "docker-registry.service",
                                               "haproxy.service"]
    assert units_to_hold(["curl", "nftables", "python3"], DATA, every_role) == []
    # A package the host's roles do not configure (named in base_packages, say) is installed
    # as Debian starts it: no task file of this host would unmask it.
    assert units_to_hold(["docker.io", "haproxy", "zookeeperd"], DATA, {"load_balancer"}) == [
        "haproxy.service"]
    assert units_to_hold(["docker.io"], DATA, {"marathon"}) == ["docker.socket",
                                                               "docker.service"]
    # Every package the first transaction can hold names a unit the task files start.
    assert set(held_units(DATA)) <= set(packages_for(every_role, DATA))


def test_a_role_package_in_base_packages_is_not_held_on_a_host_without_the_role() -> None:
    hosts = {"agents": [fake_host("a1", {}, ip="10.0.0.21",
                                  base_packages=["curl", "zookeeperd"])],
             "masters": [fake_host("m1", {}, ip="10.0.0.11", zookeeper_id=1)]}
    install = [op for op in plan(hosts, ["tasks/common.py"])["a1"]
               if op.name.startswith(INSTALL)]
    assert len(install) == 1 and " zookeeperd" in install[0].commands[-1]
    assert "systemctl mask zookeeper.service" not in install[0].commands
