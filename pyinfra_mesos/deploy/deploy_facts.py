"""Custom pyinfra facts the deploy reads before it changes anything."""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand


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
