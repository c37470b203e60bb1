"""Every cluster host resolves every other host by its inventory name, to the address others use.

Masters advertising 127.0.1.1, or names only some hosts can resolve, are the most reported
failure of older Mesos deploys.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from pyinfra_mesos.topology import Member, Topology


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def test_resolves_every_cluster_host(cluster_host: Member, cluster: Topology,
                                     testinfra_host_for: Callable[[str], Any]) -> None:
    host = testinfra_host_for(cluster_host.name)
    problems = []
    for other in cluster.all_members:
        if other.name == cluster_host.name:
            continue
        result = host.run(f"getent hosts {other.name}")
        addresses = {line.split()[0] for line in result.stdout.splitlines() if line.split()}
        if result.rc != 0 or not addresses:
            problems.append(f"{other.name}: does not resolve")
        elif is_ip(other.ip) and other.ip not in addresses:
            problems.append(f"{other.name}: resolves to {sorted(addresses)}, expected {other.ip}")
        elif any(ipaddress.ip_address(a).is_loopback for a in addresses if is_ip(a)):
            problems.append(f"{other.name}: resolves to a loopback address {sorted(addresses)}")
    assert not problems, f"{cluster_host.name} cannot reach peers by name: " + "; ".join(problems)
