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

from pyinfra import host
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand, operation
from pyinfra.facts.files import File, Sha256File
from pyinfra.operations import files

# Every file of the deploy's that holds a secret lives here, so even the moment between an
# upload and its chmod exposes nothing (the directory is root's alone).
PRIVATE_DIR = "/etc/pyinfra-mesos"


def private_directory() -> None:
    """The 0700 directory for the deploy's private files (a pyinfra operation)."""
    files.directory(name="Directory for the deploy's private files (0700)", path=PRIVATE_DIR,
                    mode="0700")


@operation()
def private_file(dest: str, content: str, mode: str = "0600", user: str = "root",
                 group: str = "root"):
    """Ensure `dest` holds exactly `content` (text), owned `user:group` with `mode` (octal
    string). `host.noop` when the sums, owner and mode already match."""
    data = content.encode()
    want = hashlib.sha256(data).hexdigest()
    info = host.get_fact(File, path=dest)
    current = host.get_fact(Sha256File, path=dest) if info else None
    # pyinfra's File fact spells the mode as the octal digits read as a decimal int (600).
    mode_ok = bool(info) and info.get("mode") == int(mode[-3:])
    owner_ok = bool(info) and info.get("user") == user and info.get("group") == group
    if current == want and mode_ok and owner_ok:
        host.noop(f"{dest} is up to date (content not shown: private)")
        return
    quoted = QuoteString(dest)
    if not info:
        yield StringCommand("install", "-m", mode, "-o", user, "-g", group, "/dev/null", quoted)
    if current != want:
        yield FileUploadCommand(BytesIO(data), dest)
    yield StringCommand("chown", f"{user}:{group}", quoted, "&&", "chmod", mode, quoted)
