"""A pyinfra fact and operation for an apt repository's signing key file, read in ONE round trip.

The key is downloaded when it is missing, when its primary fingerprint differs from the expected
one (rotated, or the source was overridden), or when it has expired (the publisher may have
extended it). Before, the task read the fingerprint and the expiry as two planning-time facts
(each a round trip per host, hosts one after another while pyinfra prepares) and files.download
read a third; `AptKeyState` reads both from one `gpg --show-keys` and the operation needs nothing
else on a converged host. The download's own check (tasks/common.py, key_check_command)
still refuses a bad new key before apt reads it. A file that gpg reads no key from (a run
killed between the download and that check, with a proxy's error page in place of the key) is
downloaded and checked again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pyinfra import host
from pyinfra.api import FactBase, QuoteString, StringCommand, operation
from pyinfra.operations import files

from pyinfra_mesos.deploy.planning_facts import fact_until_change
from pyinfra_mesos.value_checks import is_digits


@dataclass(frozen=True)
class KeyState:
    """An existing key file: `fingerprint` of the primary key (upper-case hex) and `expiry`
    (seconds since the epoch, 0 for never); both None when gpg is not installed yet or the
    file holds no key. `read_by_gpg`: gpg was there to read it (so None means no key)."""

    fingerprint: str | None
    expiry: int | None
    read_by_gpg: bool = False


class AptKeyState(FactBase[KeyState | None]):
    """None when the key file does not exist. Fields 10 of the first `fpr` record and 7 of the
    `pub` record of `gpg --with-colons` (gnupg doc/DETAILS)."""

    def command(self, path: str) -> StringCommand:
        quoted = QuoteString(path)
        return StringCommand(
            "if [ -f", quoted, "]; then echo present; if command -v gpg >/dev/null; then",
            "echo gpg;",
            "gpg --show-keys --with-colons", quoted, "2>/dev/null |",
            "awk -F: '$1==\"pub\"&&!p{print \"pub:\" $7; p=1} $1==\"fpr\"&&!f{print \"fpr:\" $10;"
            " f=1}';",
            "fi; fi",
        )

    def process(self, output: list[str]) -> KeyState | None:
        if "present" not in (line.strip() for line in output):
            return None
        fingerprint: str | None = None
        expiry: int | None = None
        read_by_gpg = False
        for line in output:
            if line.strip() == "gpg":
                read_by_gpg = True
            if line.startswith("fpr:") and line[4:].strip():
                fingerprint = line[4:].strip().upper()
            if line.startswith("pub:"):
                value = line[4:].strip()
                expiry = int(value) if is_digits(value) else 0
        return KeyState(fingerprint, expiry, read_by_gpg)

    def default(self) -> KeyState | None:
        return None


def key_is_current(key: KeyState | None, expected_fingerprint: str, now: float) -> bool:
    """Keep the installed key: it exists, gpg (when there) reads a key from it, its fingerprint
    is the expected one (when both are known: without gpg yet it cannot be read, and the
    download check reads it next time) and it has not expired."""
    if key is None or (key.read_by_gpg and key.fingerprint is None):
        return False
    if expected_fingerprint and key.fingerprint and key.fingerprint != expected_fingerprint:
        return False
    return not (key.expiry and key.expiry <= now)


@operation()
def apt_key(src: str, dest: str, expected_fingerprint: str = "", mode: str = "0644"):
    """Ensure `dest` holds a current key from `src` (URL). `expected_fingerprint` is normalised
    upper-case hex or empty (no fingerprint check). One fact when the key is current."""
    key = fact_until_change(host, AptKeyState, path=dest)  # made ahead (planning_reads.py)
    if key_is_current(key, expected_fingerprint, time.time()):
        host.noop(f"{dest} is current")
        return
    yield from files.download._inner(src=src, dest=dest, mode=mode, force=True)
