"""Machine-side Debian packages the sandbox needs, installed only when missing."""

from __future__ import annotations

import os

from sandbox.proc import CommandFailed, ok, run, say

MACHINE_PACKAGES = [
    "systemd-container",  # systemd-nspawn
    "debootstrap",  # the golden root
    "tinyproxy-bin",  # apt proxy for the hosts (the binary only: no packaged service)
    "docker.io",  # dockerd on the machine, to build images
    "docker-registry",  # the image registry the hosts pull from
    "iproute2",
    "openssh-client",
    "e2fsprogs",
]


def installed(pkg: str) -> bool:
    # dpkg-query's exit code alone says "known", not "installed": check the status word too.
    try:
        out = run(["dpkg-query", "-W", "-f=${Status}", pkg], timeout=30, check=False)
    except FileNotFoundError:
        return False
    return out.returncode == 0 and out.stdout.decode().endswith("install ok installed")


def ensure_packages(pkgs: list[str] = MACHINE_PACKAGES) -> list[str]:
    """Install what is missing; returns the names installed (empty when nothing changed)."""
    missing = [p for p in pkgs if not installed(p)]
    if not missing:
        return []
    say(f"   installing on this machine: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    try:
        run(cmd, timeout=900, env=env)
    except CommandFailed:
        # A fresh machine may have no package lists yet: update once, then try again.
        run(["apt-get", "update"], timeout=600, env=env)
        run(cmd, timeout=900, env=env)
    still = [p for p in missing if not installed(p)]
    if still:
        raise CommandFailed(f"apt-get reported success but these are not installed: {still}")
    return missing


def have(cmd: str) -> bool:
    return ok(["sh", "-c", f"command -v {cmd}"])
