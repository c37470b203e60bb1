"""ZooKeeper's Debian packages: which move together, their pin (written by tasks/common.py), and
a move (tasks/zookeeper.py) that leaves every running member up until the rolling restart takes
them one at a time.

Upstream facts (Debian's zookeeper source, 3.8.0-11 in Debian 12, read from its .debs):
- zookeeperd (the init script) Depends on zookeeper (= its version), which Depends on
  libzookeeper-java (= its version), the jar the server runs. A version change moves all three in
  one transaction, so the pin names all three.
- zookeeperd's postinst, on upgrade (and on a downgrade: `configure` with the old version),
  runs `invoke-rc.d zookeeper restart` (dh_installinit); its prerm stops the server only on
  `remove`. apt runs that on every host the deploy moves at the same moment, which would take
  the whole ensemble down at once. invoke-rc.d exits 0 without acting for `start`/`restart` of a
  unit whose LoadState is masked (init-system-helpers, script/invoke-rc.d). So the move masks
  the unit around apt-get; the server keeps running the old version until the rolling restart
  (whose inputs include the packages' dpkg stamps) restarts the followers first, the leader last.
  A run killed while the unit is masked unmasks it on the next run (tasks/zookeeper.py).
- apt-get installs nothing and exits 0 when its sources offer no version the pin admits (a typo,
  or a version the archive has dropped: a suite keeps only its newest): the move then checks the
  installed version itself and fails with one line, rather than repeat the move and its backup
  on every run with ZooKeeper never at the pin.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence

from pyinfra_mesos.dpkg import (
    off_pin,
    optional_pin_problem,
    optional_pin_text,
    pin_reached_check,
    pinned_install_command,
)
from pyinfra_mesos.problems import Problem

ZOOKEEPER_PIN_FILE = "/etc/apt/preferences.d/pyinfra-mesos-zookeeper"
# What zookeeperd pulls in at the same version (see above); zookeeperd itself comes first.
LIBRARY_PACKAGES = ("zookeeper", "libzookeeper-java")


def zookeeper_packages(server_package: str) -> list[str]:
    """[server_package, "zookeeper", "libzookeeper-java"] without repeats: what one pin holds."""
    return list(dict.fromkeys([server_package, *LIBRARY_PACKAGES]))


def zookeeper_pin_text(packages: Sequence[str], version: str) -> str:
    """ZOOKEEPER_PIN_FILE's content: `packages` at `version`*, or for "" a comment alone
    (dpkg.optional_pin_text)."""
    return optional_pin_text(packages, version, "zookeeper_version", "tasks/common.py")


def zookeeper_version_problems(version: object, where: str) -> list[Problem]:
    """Problems with a `zookeeper_version` value (one line each); [] when usable
    (dpkg.optional_pin_problem: "" or a Debian version or its prefix)."""
    message = optional_pin_problem(version, "3.8.0-11+deb12u2")
    return [Problem("error", where, "zookeeper_version", message)] if message else []


def zookeeper_moves(installed: Mapping[str, Iterable[str]], server_package: str,
                    version: str) -> bool:
    """Whether this run moves an installed ZooKeeper to `version` (never when "" or when the
    package is not installed yet: the first install takes the pin as it is)."""
    return bool(version) and off_pin(installed, server_package, version)


def move_command(service: str, packages: Sequence[str], version: str) -> str:
    """One shell command: mask `service`, apt-get install `packages` at the pinned `version` (up
    or down), unmask; exit with apt-get's status when it failed, else 0 when `packages[0]` is now
    at a version the pin admits (dpkg.pin_admits: a prefix, any case), else 1 with one line on
    stderr. The running server is not touched."""
    unit = shlex.quote(service)
    return (f"systemctl mask {unit} && {{ {pinned_install_command(packages)}; rc=$?; "
            f"systemctl unmask {unit}; [ $rc -eq 0 ] || exit $rc; "
            f"{pin_reached_check(packages[0], version)}; }}")
