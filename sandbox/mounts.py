"""Mount helpers: what is mounted where (from /proc/mounts) and unmounting it."""

from __future__ import annotations

from pathlib import Path

from sandbox.proc import ok, say


def _unescape(field: str) -> str:
    # /proc/mounts escapes space, tab, newline and backslash as octal.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def mount_points() -> list[str]:
    with open("/proc/mounts", encoding="utf-8") as f:
        return [_unescape(line.split()[1]) for line in f if len(line.split()) > 2]


def is_mounted(path: Path) -> bool:
    return str(path) in mount_points()


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path``, deepest first (the order to unmount them)."""
    base = str(path).rstrip("/")
    found = [m for m in mount_points() if m == base or m.startswith(base + "/")]
    return sorted(set(found), key=len, reverse=True)


def umount(target: str) -> bool:
    if ok(["umount", target]):
        return True
    # Busy (a straggler process): detach lazily rather than leave the sandbox half torn down.
    say(f"   umount {target} busy, detaching lazily")
    return ok(["umount", "-l", target])
