"""What dates an installed package: a service started before it was installed restarts.

A leaf (no package imports), read by every component's inputs (zookeeper, mesos_package,
docker).
"""

from __future__ import annotations

DPKG_INFO = "/var/lib/dpkg/info"


def package_stamp(package: str) -> str:
    """dpkg rewrites <package>.list on every install or upgrade: its mtime dates the package."""
    return f"{DPKG_INFO}/{package}.list"
