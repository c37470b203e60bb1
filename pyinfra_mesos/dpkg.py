"""Debian packages: what dates an installed one, and whether one is off its pinned version.

Read by every component's inputs (zookeeper, mesos_package, docker) and pins
(mesos_package, zookeeper_package, docker).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence

DPKG_INFO = "/var/lib/dpkg/info"


def package_stamp(package: str) -> str:
    """dpkg rewrites <package>.list on every install or upgrade: its mtime dates the package."""
    return f"{DPKG_INFO}/{package}.list"


# deb-version(7): [epoch:]upstream[-revision], the upstream part starting with a digit. Matched
# whole, so no newline slips into an apt preference file.
DEBIAN_VERSION = re.compile(r"(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*")

# apt_preferences(5): a priority above 1000 installs the pinned version even when that is a
# downgrade, so one pin serves both directions.
PIN_PRIORITY = 1001


def pin_admits(installed_version: str, version: str) -> bool:
    """Whether `Pin: version <version>*` admits `installed_version`: a prefix compared without
    regard to case, as apt does (Debian/apt apt-pkg/versionmatch.cc MatchVer, stringcasecmp)."""
    return installed_version.casefold().startswith(version.casefold())


def off_pin(installed: Mapping[str, Iterable[str]], package: str, version: str) -> bool:
    """True when `package` is installed (`installed`: pyinfra's DebPackages fact, {name:
    versions}) but at no version the pin `Pin: version <version>*` admits (pin_admits).

    A plain install leaves an installed package alone, so a changed pin needs its own step.
    """
    versions = list(installed.get(package) or [])
    return bool(versions) and not any(pin_admits(str(v), version) for v in versions)


def pinned_install_command(packages: Sequence[str]) -> str:
    """Shell: apt-get install `packages` at the versions their pins select, up or down
    (PIN_PRIORITY above 1000 and --allow-downgrades), keeping a changed conffile as it is."""
    names = " ".join(shlex.quote(p) for p in packages)
    return ("DEBIAN_FRONTEND=noninteractive apt-get install -y --allow-downgrades "
            f"-o Dpkg::Options::=--force-confold {names}")


def pin_reached_check(package: str, version: str) -> str:
    """Shell, run after `apt-get install`: exit 0 when `package` is now at a version the pin
    `Pin: version <version>*` admits (pin_admits), else one line on stderr and exit 1.

    apt-get installs nothing and exits 0 when its sources offer no version the pin admits (a
    typo, or a build the archive has dropped: a suite keeps only its newest), so without this a
    move would report success, and every later run would try it again.
    """
    missed = (f"{package} is not at {version}* after apt-get: its apt sources offer no such "
              f"version (apt-cache policy {package})")
    return (f"case \"$(dpkg-query -W -f '${{Version}}' {shlex.quote(package)} | "
            f"tr '[:upper:]' '[:lower:]')\" in {shlex.quote(version.lower())}*) exit 0;; esac; "
            f"echo {shlex.quote(missed)} >&2; exit 1")


def pinned_move_command(package: str, version: str) -> str:
    """Shell: apt-get install `package` at the pinned `version`, up or down
    (pinned_install_command), then fail with one line unless it got there (pin_reached_check)."""
    return f"{pinned_install_command([package])} && {{ {pin_reached_check(package, version)}; }}"


def optional_pin_problem(version: object, example: str) -> str | None:
    """What is wrong with an optional version pin's value (`zookeeper_version`,
    `docker_version`); None when usable. "" means no pin (the distribution's own version, as
    installed); otherwise a Debian version or its prefix (deb-version(7)), as in
    `Pin: version <value>*`. `example` is a real version for the message."""
    if version == "":
        return None
    if not isinstance(version, str) or not DEBIAN_VERSION.fullmatch(version):
        return (f"{version!r} is not a Debian version such as {example!r} (deb-version(7)), "
                "nor '' for the distribution's own")
    return None


def optional_pin_text(packages: Sequence[str], version: str, key: str, task: str) -> str:
    """An apt preferences file holding `packages` at `version`* (templates/apt-pin.pref.j2),
    or for "" a comment alone naming `key` (apt reads a file without a stanza as no pin)."""
    from pyinfra_mesos.templates import render_template

    if not version:
        return (f"# Managed by pyinfra-mesos ({task}): {key} is empty, so "
                f"{' '.join(packages)} is not pinned.\n")
    return render_template("apt-pin.pref.j2", task=task, packages=packages, version=version,
                           priority=PIN_PRIORITY)
