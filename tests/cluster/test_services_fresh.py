"""Every service a host runs is running what its files say: no process older than its inputs.

A deploy killed between writing a config file and its rolling restart leaves a service running
the old config while `systemctl is-active` says all is well. The deploy restarts such a service
on its next run (pyinfra_mesos/deploy/rolling.py); this check catches it when nobody re-ran it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyinfra_mesos.deploy.rolling import ServiceFreshness
from pyinfra_mesos.restarts import parse_freshness, service_inputs
from pyinfra_mesos.topology import Member, Topology

from .conftest import run_on


def test_running_services_are_newer_than_their_inputs(
        cluster_host: Member, cluster: Topology,
        testinfra_host_for: Callable[[str], Any]) -> None:
    host = testinfra_host_for(cluster_host.name)
    stale = []
    for unit, paths in service_inputs(cluster.roles_of(cluster_host.name),
                                      cluster_host.data).items():
        command = ServiceFreshness().command(unit, paths).get_raw_value()
        freshness = parse_freshness(run_on(host, command, f"{unit} start and inputs").splitlines())
        if not freshness.active:
            stale.append(f"{unit} is not active")
        elif freshness.stale and freshness.newest_input:
            path, _ = freshness.newest_input
            stale.append(f"{unit} started before {path} was last written: it runs an older "
                         "config or package (re-run the deploy to restart it)")
    assert not stale, f"{cluster_host.name}: " + "; ".join(stale)
