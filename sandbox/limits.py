"""Kernel limits the sandbox's hosts share with this machine: raised by ``up``, restored by
``down``.

Every nspawn host runs as this machine's root (no user namespace), so the per-user inotify
limits are shared by all of them: systemd, journald, networkd, dockerd and the JVMs each take
inotify instances, and Linux's default of 128 (fs/inotify/inotify_user.c, max_user_instances)
stops the 18th host from booting. Raising the ceiling costs nothing until it is used (the
kernel charges memory per instance and watch actually created).

State: ``st.data["sysctl"] = {"/proc/sys/...": {"was": int, "set": int}}``, written BEFORE the
value is changed, so ``down`` restores it even after a crashed ``up``. ``down`` puts the old
value back only if the value is still the one we set: someone who changed it since wins.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.state import StateFile

# path -> the value `up` raises it to (never lowers a higher one).
RAISED: dict[str, int] = {
    "/proc/sys/fs/inotify/max_user_instances": 1024,
    "/proc/sys/fs/inotify/max_user_watches": 524288,
}


def _read(path: str) -> int | None:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _write(path: str, value: int) -> str | None:
    """None on success, else one line saying why not."""
    try:
        Path(path).write_text(f"{value}\n")
    except OSError as exc:
        return f"{path}: cannot set {value}: {exc.strerror or exc}"
    return None


def raise_limits(st: StateFile,
                 wanted: dict[str, int] | None = None) -> tuple[list[str], list[str]]:
    """Raise each limit below its wanted value; returns (changes made, problems).

    A limit that cannot be written (a read-only /proc/sys) is a problem line, not an error: the
    hosts may still fit under the old value, and ``up`` says which limit stops one that does not.
    """
    changes: list[str] = []
    problems: list[str] = []
    record = st.data.setdefault("sysctl", {})
    for path, want in (wanted or RAISED).items():
        now = _read(path)
        if now is None or now >= want or path in record:
            continue
        record[path] = {"was": now, "set": want}
        st.save()
        problem = _write(path, want)
        if problem:
            del record[path]
            st.save()
            problems.append(problem)
        else:
            changes.append(f"{path.removeprefix('/proc/sys/')} {now} -> {want}")
    if not record:
        st.data.pop("sysctl", None)
        st.save()
    return changes, problems


def restore_limits(st: StateFile) -> list[str]:
    """Put back what ``raise_limits`` changed (when still ours); forgets the record. Returns
    one line per value restored."""
    restored: list[str] = []
    for path, rec in sorted((st.data.get("sysctl") or {}).items()):
        if not isinstance(rec, dict) or _read(path) != rec.get("set"):
            continue
        if _write(path, int(rec["was"])) is None:
            restored.append(f"{path.removeprefix('/proc/sys/')} back to {rec['was']}")
    st.data.pop("sysctl", None)
    st.save()
    return restored
