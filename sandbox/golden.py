"""The golden root: one debootstrap of Debian, cached, shared read-only by every host.

Hosts boot from an overlayfs upper dir on top of it, and the Docker base image is a ``docker
import`` of it, so Marathon's stand-in and the sample app find python3-kazoo, ruby-sinatra and
thin without any network inside ``docker build``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from sandbox import config
from sandbox.mounts import mounts_under, umount
from sandbox.proc import run, say

INCLUDE = [
    "systemd", "systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "iproute2",
    "python3", "sudo", "ca-certificates", "procps", "curl", "gnupg", "netbase",
    # for the images built on this root (docs/CONTRACTS.md): Marathon stand-in and the app
    "python3-kazoo", "ruby-sinatra", "thin",
]
# Bump when the post-debootstrap preparation below changes, so caches rebuild.
RECIPE = 1
MARKER = ".pyinfra-mesos-golden"


def golden_key() -> str:
    recipe = json.dumps({"suite": config.SUITE, "include": INCLUDE, "recipe": RECIPE})
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def golden_dir() -> Path:
    return config.CACHE_ROOT / f"golden-{config.SUITE}-{golden_key()}"


def ensure_golden(mirror: str) -> tuple[Path, bool]:
    """The cached golden root, built first if missing; returns (path, built_now)."""
    final = golden_dir()
    if (final / MARKER).is_file():
        return final, False
    tmp = final.with_name(final.name + ".partial")
    # A crashed debootstrap can leave /proc or /sys mounted inside: never rm -rf across a mount.
    for m in mounts_under(tmp):
        umount(m)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    say(f"   debootstrap {config.SUITE} (minbase) from this machine's apt mirror; about 1-2 min")
    run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(INCLUDE)}",
         config.SUITE, str(tmp), mirror],
        timeout=1800,
    )
    for m in mounts_under(tmp):
        umount(m)
    _prepare(tmp)
    (tmp / MARKER).write_text(json.dumps({"mirror_used": True, "key": golden_key()}) + "\n")
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    return final, True


def _prepare(root: Path) -> None:
    # Every host must get its own identity: no shared ssh host keys, no shared machine-id.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/machine-id").write_text("")
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.is_symlink() or dbus_id.exists():
        dbus_id.unlink()
    # Downloaded .debs are dead weight in every image built from this root.
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
