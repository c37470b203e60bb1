"""Pure naming and address allocation for sandbox hosts.

Addresses are sticky: a host keeps the address recorded in the state for as long as the state
knows it, and a new host takes the lowest free one, so adding an inventory line never moves the
hosts that are already running.
"""

from __future__ import annotations

import re

from sandbox import config

# A host name becomes a hostname, a machine name and part of a netns name: keep it to what all
# three accept.
HOST_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")


class AddressError(Exception):
    pass


def check_host_name(name: str) -> None:
    if not HOST_NAME_RE.match(name):
        raise AddressError(
            f"{name}: host name must be 1-32 lowercase letters, digits or '-', "
            "not starting or ending with '-'"
        )


def host_ip(octet: int) -> str:
    return f"{config.SUBNET_PREFIX}{octet}"


def octet_of(ip: str) -> int:
    if not ip.startswith(config.SUBNET_PREFIX):
        raise AddressError(f"{ip} is not in {config.SUBNET_PREFIX}0/{config.PREFIX_LEN}")
    return int(ip[len(config.SUBNET_PREFIX) :])


def allocate(hosts: list[str], existing: dict[str, str]) -> dict[str, str]:
    """Map every host to an address: recorded ones keep theirs, new ones get the lowest free.

    ``existing`` is host -> address from the state (it may name hosts no longer in ``hosts``;
    their addresses stay reserved until ``down`` forgets them).
    """
    for name in hosts:
        check_host_name(name)
    used = {octet_of(ip) for ip in existing.values()}
    result: dict[str, str] = {}
    candidates = iter(range(config.FIRST_HOST_OCTET, config.LAST_HOST_OCTET + 1))
    for name in hosts:
        if name in existing:
            result[name] = existing[name]
            continue
        octet = next((o for o in candidates if o not in used), None)
        if octet is None:
            raise AddressError(f"{name}: no free address left in the sandbox subnet")
        used.add(octet)
        result[name] = host_ip(octet)
    return result


def netns_name(host: str) -> str:
    return config.NETNS_PREFIX + host


def veth_name(ip: str) -> str:
    return f"{config.VETH_PREFIX}{octet_of(ip)}"


def hosts_file(addresses: dict[str, str]) -> str:
    """The /etc/hosts a host boots with (the deploy's tasks/common.py owns it afterwards)."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", ""]
    for name, ip in sorted(addresses.items(), key=lambda kv: octet_of(kv[1])):
        lines.append(f"{ip}\t{name}")
    return "\n".join(lines) + "\n"
