"""deploy/packages.py: an install is planned only for a package the dpkg list lacks."""

from __future__ import annotations

from test_tasks_harness import fake_host, plan

from pyinfra_mesos.deploy.packages import missing_packages

DPKG_HAPROXY = {"dpkg -l": ["ii  haproxy  2.6.12-1+deb12u1  amd64  fast and reliable"]}


def test_missing_packages_keeps_the_order_and_reads_none_as_nothing_installed() -> None:
    installed = {"curl": ["7.88.1"], "gnupg": ["2.2.40"]}
    assert missing_packages(installed, ["curl", "python3", "gnupg", "ca-certificates"]) == [
        "python3", "ca-certificates"]
    assert missing_packages(None, ["curl"]) == ["curl"]
    assert missing_packages(installed, []) == []


def test_an_installed_package_plans_no_install_and_a_missing_one_plans_apt_get() -> None:
    hosts = {"agents": [fake_host("a1", DPKG_HAPROXY, ip="10.0.0.21"),
                        fake_host("a2", {}, ip="10.0.0.22")],
             "masters": [fake_host("m1", {}, ip="10.0.0.11", zookeeper_id=1)]}
    planned = plan(hosts, ["tasks/haproxy.py"])
    assert not [op for op in planned["a1"] if op.name == "Install HAProxy"]
    install = [op for op in planned["a2"] if op.name == "Install HAProxy"]
    assert len(install) == 1 and any("apt-get" in c and "haproxy" in c
                                     for c in install[0].commands), install
