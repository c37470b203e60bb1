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

A set can also hold directories (`directories`, path -> Dir: made and given their mode, as
pyinfra's files.directory does) and files of their own mode (`modes`) and owner (`owners`: a
secret that a container's `nobody` reads). A file whose mode grants
nothing to others ("0600", "0640") is handled as private_files.private_file handles a secret:
created empty with its final mode and owner first, then filled in place (no temporary copy), so
no moment exposes its content; like every file here it is compared by sha256 and never printed.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pyinfra import host
from pyinfra.api import FactBase, FileUploadCommand, QuoteString, StringCommand, operation

from pyinfra_mesos.deploy.planning_facts import fact_until_change, reading_ahead

MISSING = "missing"
# FileSetState's digest field for a path of `dirs` that is a directory.
DIRECTORY = "directory"
# Units systemd reads from here (systemd.unit(5), "Unit File Load Path", system manager).
SYSTEMD_UNIT_DIR = "/etc/systemd/system/"


@dataclass(frozen=True)
class Dir:
    """A directory of a set: `mode` (octal string, "0750"); `user` / `group` (names) are set
    only when given (files.directory leaves the owner alone otherwise)."""

    mode: str
    user: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class FileState:
    """One existing regular file: `sha256` (hex), `mode` (octal digits as text, "644"),
    `user` and `group` (names)."""

    sha256: str
    mode: str
    user: str
    group: str


# awk: sha256sum's lines (`<64 hex>  <path>`) come first and give each path its digest; each
# of stat's lines (`<mode> <user> <group> <path>`) is then printed after its path's digest.
_JOIN_DIGESTS = ('length($1) == 64 && substr($0, 65, 2) == "  " { d[substr($0, 67)] = $1; next }'
                 ' { p = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", p); print d[p], $1, $2, $3, p }')


class FileSetState(FactBase[dict[str, FileState | None]]):
    """path -> FileState, or None when the path is not a regular file (missing, a directory);
    for a path of `dirs`: FileState with sha256 DIRECTORY when it is a directory, else None.

    One line per path: `<sha256> <mode> <user> <group> <path>` (stat -c '%a %U %G', GNU
    coreutils), `directory <mode> <user> <group> <path>`, or `missing - - - <path>`.
    """

    def command(self, paths: tuple[str, ...], dirs: tuple[str, ...] = ()) -> StringCommand:
        # sha256sum escapes a name holding a backslash or a newline: the join below would miss
        # it (schema.py's absolute_path refuses both in every path the data sets).
        bad = [p for p in (*paths, *dirs) if "\\" in p or "\n" in p]
        if bad:
            raise ValueError(f"file_set: a path with a backslash or a newline: {bad[0]!r}")
        # Forks cost the host's CPU, shared by every host of a small machine: one sha256sum and
        # one stat for all regular files (awk joins them into the lines above), one stat for all
        # directories; the tests of what is there are shell builtins.
        parts: list[object] = []
        if paths:
            parts += [
                "set --; for f in", *[QuoteString(p) for p in paths], "; do",
                'if [ -f "$f" ] && [ ! -L "$f" ]; then set -- "$@" "$f";',
                f'else echo "{MISSING} - - - $f"; fi; done;',
                'if [ $# -gt 0 ]; then { sha256sum -- "$@"; stat -c \'%a %U %G %n\' -- "$@"; }',
                "| awk", QuoteString(_JOIN_DIGESTS), "; fi",
            ]
        if dirs:
            parts += [
                *([";"] if paths else []),
                "set --; for d in", *[QuoteString(d) for d in dirs], "; do",
                'if [ -d "$d" ] && [ ! -L "$d" ]; then set -- "$@" "$d";',
                f'else echo "{MISSING} - - - $d"; fi; done;',
                f'if [ $# -gt 0 ]; then stat -c \'{DIRECTORY} %a %U %G %n\' -- "$@"; fi',
            ]
        return StringCommand(*parts)

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


def is_private(mode: str) -> bool:
    """A mode that grants others nothing ("0600", "0640", "0400"): the file may hold a secret."""
    return int(mode, 8) & 0o007 == 0


def _directory_commands(path: str, spec: Dir, state: FileState | None) -> list[StringCommand]:
    """What files.directory would run for `spec` at `path` now: mkdir -p when missing, chmod
    (and chown, when the spec names an owner) when missing or different."""
    quoted = QuoteString(path)
    commands = []
    if state is None:
        commands.append(StringCommand("mkdir", "-p", quoted))
    if state is None or state.mode != mode_digits(spec.mode):
        commands.append(StringCommand("chmod", spec.mode, quoted))
    if spec.user or spec.group:
        want = (spec.user or (state.user if state else ""), spec.group or (
            state.group if state else ""))
        if state is None or (state.user, state.group) != want:
            # chown's forms as files.directory spells them: user:group, user, :group.
            owner = (f"{spec.user}:{spec.group}" if spec.user and spec.group
                     else spec.user or f":{spec.group}")
            commands.append(StringCommand("chown", owner, quoted))
    return commands


def is_systemd_unit(path: str) -> bool:
    """A unit file of the system manager that this deploy writes (its daemon-reload follows)."""
    return path.startswith(SYSTEMD_UNIT_DIR)


def file_set_read(files: Mapping[str, bytes] | None = None, *args: Any,
                  directories: Mapping[str, Dir] | None = None, **kwargs: Any
                  ) -> tuple[type[FileSetState], dict[str, Any]]:
    """The one read a file_set with these arguments makes: (FileSetState, its arguments)."""
    dirs = tuple(sorted(directories or {}))
    return FileSetState, {"paths": tuple(sorted(files or {})), **({"dirs": dirs} if dirs else {})}


@operation()
def _file_set(files: Mapping[str, bytes], mode: str = "0644", user: str = "root",
             group: str = "root", modes: Mapping[str, str] | None = None,
             directories: Mapping[str, Dir] | None = None,
             owners: Mapping[str, tuple[str, str]] | None = None):
    """Ensure every `dest -> content` of `files` (absolute paths, bytes) is a regular file with
    that content, its mode (`modes[dest]`, else `mode`; octal strings) and owner
    (`owners[dest]`, a (user, group) pair of names, else `user:group`), after
    every directory of `directories` exists with its Dir's mode (and owner, if given). Missing
    parent directories of files are made (`mkdir -p`, 0755 as pyinfra's files.put makes them);
    a missing private file (is_private) is created empty with its mode before it is filled.
    A unit under /etc/systemd/system/ that is not a regular file (a masked unit's link to
    /dev/null) is removed before its upload, which unmasks it. When the content of a unit under
    /etc/systemd/system/ is uploaded, `systemctl daemon-reload`
    follows the uploads (a mode or owner fix alone needs none). One fact for the whole set;
    `host.noop` when nothing differs."""
    paths = tuple(sorted(files))
    dirs = dict(sorted((directories or {}).items()))
    # Named ahead while pyinfra loads the deploy, read in one command per host (planning_facts).
    fact, where = file_set_read(files, directories=directories)
    current = fact_until_change(host, fact, **where)
    changed = False
    for path, spec in dirs.items():
        state = current.get(path)
        for command in _directory_commands(path, spec, state):
            yield command
            changed = True
    missing_dirs = sorted({posixpath.dirname(p) for p in paths if current.get(p) is None}
                          - set(dirs))
    if missing_dirs:
        yield StringCommand("mkdir", "-p", *[QuoteString(d) for d in missing_dirs])
        changed = True
    units_uploaded = False
    for dest in paths:
        state = current.get(dest)
        file_mode = (modes or {}).get(dest, mode)
        file_user, file_group = (owners or {}).get(dest, (user, group))
        private = is_private(file_mode)
        if state is None and private:
            yield StringCommand("install", "-m", file_mode, "-o", file_user, "-g", file_group,
                                "/dev/null", QuoteString(dest))
        if state is None and is_systemd_unit(dest) and not private:
            # Not a regular file: a unit masked by `remove` is a link to /dev/null here, and an
            # upload would write through it (rm -f of a missing file does nothing).
            yield StringCommand("rm", "-f", QuoteString(dest))
        if state is None or state.sha256 != _digest(files[dest]):
            # A private file is filled in place (it exists, private, from here on); pyinfra
            # only uses a temporary name when it uploads for sudo/su.
            yield FileUploadCommand(BytesIO(files[dest]), dest, remote_temp_filename=(
                None if private else host.get_temp_filename(dest)))
            yield owner_mode_command(dest, file_mode, file_user, file_group)
            changed = True
            units_uploaded = units_uploaded or is_systemd_unit(dest)
        elif (state.mode, state.user, state.group) != (
                mode_digits(file_mode), file_user, file_group):
            yield owner_mode_command(dest, file_mode, file_user, file_group)
            changed = True
    if units_uploaded:
        yield StringCommand("systemctl", "daemon-reload")
    if not changed:
        host.noop(f"{len(paths)} file(s)" + (f", {len(dirs)} directory(ies)" if dirs else "")
                  + " already in place")


file_set = reading_ahead(_file_set, file_set_read)
