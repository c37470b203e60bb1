"""Custom pyinfra facts the deploy reads before it changes anything."""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand

from pyinfra_mesos.value_checks import is_digits


class GpgKeyFingerprint(FactBase[str | None]):
    """The primary key fingerprint of a key file (armored or binary), or None.

    None also when gpg is not installed yet: on a fresh host the key file is not there either.
    """

    def command(self, path: str) -> StringCommand:
        return StringCommand(
            "if [ -f", QuoteString(path), "] && command -v gpg >/dev/null; then",
            "gpg --show-keys --with-colons", QuoteString(path),
            "2>/dev/null | awk -F: '$1==\"fpr\"{print $10; exit}'; fi",
        )

    def process(self, output: list[str]) -> str | None:
        for line in output:
            if line.strip():
                return line.strip().upper()
        return None


class GpgKeyExpiry(FactBase[int | None]):
    """When a key file's primary key expires (seconds since the epoch), 0 for never, None when
    there is no key file (or no gpg yet). Field 7 of the `pub` record (gnupg doc/DETAILS)."""

    def command(self, path: str) -> StringCommand:
        return StringCommand(
            "if [ -f", QuoteString(path), "] && command -v gpg >/dev/null; then",
            "gpg --show-keys --with-colons", QuoteString(path),
            "2>/dev/null | awk -F: '$1==\"pub\"{print \"pub:\" $7; exit}'; fi",
        )

    def process(self, output: list[str]) -> int | None:
        for line in output:
            if line.startswith("pub:"):
                value = line[4:].strip()
                return int(value) if is_digits(value) else 0
        return None


class UnitEnabledState(FactBase[str]):
    """`systemctl is-enabled UNIT` ("enabled", "disabled", ... or "" when unknown).

    pyinfra's SystemdEnabled reads UnitFileState, which is "generated" for a unit made from a
    SysV script (Debian's zookeeper): it never reads as enabled, so `enabled=True` would run
    `systemctl enable` on every run. `is-enabled` asks systemd-sysv-install for those.
    """

    def command(self, unit: str) -> StringCommand:
        return StringCommand("systemctl is-enabled", QuoteString(unit), "2>/dev/null || true")

    def process(self, output: list[str]) -> str:
        return output[-1].strip() if output else ""


class DockerImageId(FactBase[str | None]):
    """The local id of a Docker image reference, or None when it is not pulled (or Docker is not
    installed yet)."""

    def command(self, image: str) -> StringCommand:
        return StringCommand(
            "command -v docker >/dev/null && docker image inspect --format '{{.Id}}'",
            QuoteString(image), "2>/dev/null || true")

    def process(self, output: list[str]) -> str | None:
        for line in output:
            if line.strip().startswith("sha256:"):
                return line.strip()
        return None
