"""A pyinfra fact and operation for a set of non-secret files read in ONE round trip.

pyinfra 3's files.put / files.template read three facts per file on a converged host (File,
the parent's Directory, Sha1File: pyinfra/operations/files.py `put`), each its own SSH round
trip, and operations run in lockstep across hosts. files.sync compares by size and mtime
(FindFiles), not content. `FileSetState` reads sha256, mode and owner of every path of a set in
one command; `file_set` uploads only the files whose content differs and fixes only the mode or
owner that differs: a converged set costs one fact and `host.noop`. Files that feed one restart
decision belong in one set (the set's `did_change` is that decision's input); a systemd unit in
a set gets its `systemctl daemon-reload` from the set itself, so the unit and its config can share
one fact without the config's change reloading systemd.

Not for secrets: an upload lands with the SSH server's umask before its chmod (private_files.py
is the operation for those).
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO

from pyinfra import host
from pyinfra.api import FactBase, FileUploadCommand, QuoteString, StringCommand, operation

MISSING = "missing"
# Units systemd reads from here (systemd.unit(5), "Unit File Load Path", system manager).
SYSTEMD_UNIT_DIR = "/etc/systemd/system/"


@dataclass(frozen=True)
class FileState:
    """One existing regular file: `sha256` (hex), `mode` (octal digits as text, "644"),
    `user` and `group` (names)."""

    sha256: str
    mode: str
    user: str
    group: str


class FileSetState(FactBase[dict[str, FileState | None]]):
    """path -> FileState, or None when the path is not a regular file (missing, a directory).

    One line per path: `<sha256> <mode> <user> <group> <path>` (stat -c '%a %U %G', GNU
    coreutils), or `missing - - - <path>`.
    """

    def command(self, paths: tuple[str, ...]) -> StringCommand:
        quoted = [QuoteString(p) for p in paths]
        return StringCommand(
            "for f in", *quoted, "; do",
            'if [ -f "$f" ] && [ ! -L "$f" ]; then',
            'echo "$(sha256sum < "$f" | cut -c1-64) $(stat -c \'%a %U %G\' "$f") $f";',
            f'else echo "{MISSING} - - - $f"; fi; done',
        )

    def default(self) -> dict[str, FileState | None]:
        return {}

    def process(self, output: list[str]) -> dict[str, FileState | None]:
        result: dict[str, FileState | None] = {}
        for line in output:
            parts = line.split(" ", 4)
            if len(parts) != 5:
                continue
            digest, mode, user, group, path = parts
            result[path] = None if digest == MISSING else FileState(digest, mode, user, group)
        return result


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mode_digits(mode: str) -> str:
    """An octal mode string ("0644") as FileSetState spells it (stat's %a: "644")."""
    return mode.lstrip("0") or "0"


def owner_mode_command(dest: str, mode: str, user: str, group: str) -> StringCommand:
    """`chown user:group dest && chmod mode dest`: what a new or loosened file gets."""
    quoted = QuoteString(dest)
    return StringCommand("chown", f"{user}:{group}", quoted, "&&", "chmod", mode, quoted)


def is_systemd_unit(path: str) -> bool:
    """A unit file of the system manager that this deploy writes (its daemon-reload follows)."""
    return path.startswith(SYSTEMD_UNIT_DIR)


@operation()
def file_set(files: Mapping[str, bytes], mode: str = "0644", user: str = "root",
             group: str = "root"):
    """Ensure every `dest -> content` of `files` (absolute paths, bytes) is a regular file with
    that content, `mode` (octal string) and `user:group`. Missing parent directories are made
    (`mkdir -p`, 0755 as pyinfra's files.put makes them). When the content of a unit under
    /etc/systemd/system/ is uploaded, `systemctl daemon-reload` follows the uploads (a mode or
    owner fix alone needs none). One fact for the whole set; `host.noop` when nothing differs."""
    paths = tuple(sorted(files))
    current = host.get_fact(FileSetState, paths=paths)
    want_mode = mode_digits(mode)
    missing_dirs = sorted({posixpath.dirname(p) for p in paths if current.get(p) is None})
    if missing_dirs:
        yield StringCommand("mkdir", "-p", *[QuoteString(d) for d in missing_dirs])
    changed = bool(missing_dirs)
    units_uploaded = False
    for dest in paths:
        state = current.get(dest)
        if state is None or state.sha256 != _digest(files[dest]):
            yield FileUploadCommand(BytesIO(files[dest]), dest,
                                    remote_temp_filename=host.get_temp_filename(dest))
            yield owner_mode_command(dest, mode, user, group)
            changed = True
            units_uploaded = units_uploaded or is_systemd_unit(dest)
        elif (state.mode, state.user, state.group) != (want_mode, user, group):
            yield owner_mode_command(dest, mode, user, group)
            changed = True
    if units_uploaded:
        yield StringCommand("systemctl", "daemon-reload")
    if not changed:
        host.noop(f"{len(paths)} file(s) already in place")
