"""A pyinfra operation for files that hold secrets: never diffed, never world-readable.

pyinfra's files.put/template print the remote and new content with `--diff`, and a new file is
created with the SSH server's umask (0644) before its chmod. For an env file with Marathon's
credentials or a curl config that is a leak. `private_file` compares sha256 sums only (the
content is never read back or printed; `-vvv` shows a hash and the upload's destination),
creates a missing file empty with its final mode first, then uploads into it (SFTP keeps the
mode of an existing file) and sets owner and mode again.
"""

from __future__ import annotations

import hashlib
from io import BytesIO
from weakref import WeakKeyDictionary

from pyinfra import host
from pyinfra.api import FileUploadCommand, QuoteString, State, StringCommand, operation
from pyinfra.context import ctx_state
from pyinfra.operations import files

from pyinfra_mesos.deploy.file_set import Dir, FileSetState, mode_digits, owner_mode_command

# Every file of the deploy's that holds a secret lives here, so even the moment between an
# upload and its chmod exposes nothing (the directory is root's alone).
PRIVATE_DIR = "/etc/pyinfra-mesos"

# Hosts whose run already has the directory operation, per pyinfra State (one per run; tests
# make several, hence weak keys: a State compares by identity).
_PLANNED: WeakKeyDictionary[State, set[str]] = WeakKeyDictionary()


def claim_private_directory() -> dict[str, Dir]:
    """{PRIVATE_DIR: Dir("0700")} the first time a host's run asks, {} after: the caller puts it
    in the `directories` of its file_set (file_set.py), which then makes it (one fact for the
    directory and the set's files). tasks/common.py claims it first, in its first set, so the
    later callers on that host plan nothing for it."""
    planned = _PLANNED.setdefault(ctx_state.get(), set())
    if host.name in planned:
        return {}
    planned.add(host.name)
    return {PRIVATE_DIR: Dir("0700")}


def private_directory() -> None:
    """The 0700 directory for the deploy's private files as an operation of its own, unless this
    host's run already has it (claim_private_directory): tasks/common.py claims it first, so in
    a whole deploy this plans nothing; a task file that runs alone (tests, deploy_apps.py) still
    gets the directory.
    """
    if claim_private_directory():
        files.directory(name="Directory for the deploy's private files (0700)",
                        path=PRIVATE_DIR, mode="0700")


@operation()
def private_file(dest: str, content: str, mode: str = "0600", user: str = "root",
                 group: str = "root"):
    """Ensure `dest` holds exactly `content` (text), owned `user:group` with `mode` (octal
    string). One fact (sha256, mode and owner together: file_set.FileSetState); `host.noop`
    when they already match. Creates no parent directory: call private_directory() first for
    PRIVATE_DIR."""
    data = content.encode()
    want = hashlib.sha256(data).hexdigest()
    current = host.get_fact(FileSetState, paths=(dest,)).get(dest)
    if current is not None and current.sha256 == want and (
            current.mode, current.user, current.group) == (mode_digits(mode), user, group):
        host.noop(f"{dest} is up to date (content not shown: private)")
        return
    if current is None:
        yield StringCommand("install", "-m", mode, "-o", user, "-g", group, "/dev/null",
                            QuoteString(dest))
    if current is None or current.sha256 != want:
        yield FileUploadCommand(BytesIO(data), dest)
    yield owner_mode_command(dest, mode, user, group)
