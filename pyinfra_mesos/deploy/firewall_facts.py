"""The firewall's facts (tasks/firewall.py): the loaded marker, names as a host resolves them.

The ruleset, its marker and the apply commands are pure: firewall.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyinfra.api import FactBase, QuoteString, StringCommand

from pyinfra_mesos.firewall import TABLE, parse_loaded_marker


class LoadedMarker(FactBase[str]):
    """The marker of the loaded `table inet pyinfra_mesos`, "" when there is none.

    Needs root (CAP_NET_ADMIN), as the whole deploy does. Never fails: before the nftables
    package is installed there is no table either.
    """

    def command(self) -> str:
        return ('PATH="$PATH:/usr/sbin:/sbin"; if command -v nft >/dev/null 2>&1; then '
                f"nft list table inet {TABLE} 2>/dev/null; fi; true")

    def process(self, output: list[str]) -> str:
        return parse_loaded_marker(output)

    @staticmethod
    def default() -> str:
        return ""


class ResolvedIPv4(FactBase[dict[str, list[str]]]):
    """`{name: [IPv4 address, ...]}` as this host resolves each name (getent ahostsv4: the
    host's /etc/hosts and DNS, as every service on it resolves them); a name that does not
    resolve is absent."""

    def command(self, names: Iterable[str]) -> StringCommand:
        quoted: list[object] = []
        for name in names:
            quoted += [QuoteString(name), " "]
        return StringCommand(
            "for n in", *quoted, "; do getent ahostsv4 \"$n\" | "
            "awk -v n=\"$n\" '{print n, $1}'; done; true")

    def process(self, output: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for line in output:
            name, _, address = line.strip().partition(" ")
            if address and address not in found.setdefault(name, []):
                found[name].append(address)
        return found

    @staticmethod
    def default() -> dict[str, list[str]]:
        return {}
