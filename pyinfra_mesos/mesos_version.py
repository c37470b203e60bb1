"""Which aventer-mesos versions the deploy may pin.

The pin is an apt preference `Pin: version <mesos_version>*` (templates/aventer-mesos.pref.j2),
so `mesos_version` is a prefix: `1.11.0` admits every build of 1.11.0. Builds of aventer-mesos
up to 1.11.0-0.6.0 declare no `Depends`, and Debian 11/12 builds before 0.7.1 were built with a
wrong install prefix (m3scluster/clusterd commit 26bf5e4d): a pin must not admit them.
"""

from __future__ import annotations

import re

from debian.debian_support import Version

from pyinfra_mesos.problems import Problem

FIRST_GOOD_BUILD = "1.11.0-0.7.1"
# deb-version(7): digits first, then alphanumerics and . + ~ - (and : after an epoch). A whole
# match, so no newline slips into the apt preference file.
DEBIAN_VERSION = re.compile(r"(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*")


def mesos_version_problems(version: object, where: str) -> list[Problem]:
    """Problems with a `mesos_version` value (one line each); [] when the pin is safe.

    Shape: a Debian version string, `<upstream>-<revision>`. Errors: not a string; not a
    Debian version; a prefix that admits a build older than FIRST_GOOD_BUILD.
    """
    field = "mesos_version"
    if not isinstance(version, str) or not version:
        return [Problem("error", where, field, "must be a non-empty string such as "
                        f"{FIRST_GOOD_BUILD!r}")]
    if not DEBIAN_VERSION.fullmatch(version):
        return [Problem("error", where, field, f"{version!r} is not a Debian version "
                        "(deb-version(7): digits first, then letters, digits and . + ~ -)")]
    parsed = Version(version)
    if parsed.debian_revision is None and Version(version + "-0") < Version(FIRST_GOOD_BUILD):
        return [Problem("error", where, field,
                        f"pins {version}*, which admits aventer-mesos builds before "
                        f"{FIRST_GOOD_BUILD} (no Depends, or a wrong install prefix on Debian "
                        f"11/12); pin a full build such as {FIRST_GOOD_BUILD!r}")]
    if parsed < Version(FIRST_GOOD_BUILD):
        return [Problem("error", where, field,
                        f"{version} is older than {FIRST_GOOD_BUILD}, the first aventer-mesos "
                        "build that declares its Depends and installs where Debian 11/12 "
                        "expect it")]
    return []
