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


UPDATES_DIR = "/var/lib/dpkg/updates"
_MARK_UPDATES = "pending-updates"
_MARK_AUDIT = "audit:"


class DpkgInterrupted(FactBase[list[str]]):
    """What dpkg left unfinished: `[]` when nothing; else `"pending-updates"` (journal entries
    in /var/lib/dpkg/updates/) and/or one `"audit: <line>"` per line `dpkg --audit` printed."""

    def requires_command(self, *args: object, **kwargs: object) -> str:
        return "dpkg"

    @staticmethod
    def default() -> list[str]:
        return []

    def command(self) -> str:
        return (f"if [ -n \"$(ls -A {UPDATES_DIR} 2>/dev/null)\" ]; then "
                f"echo {_MARK_UPDATES}; fi; dpkg --audit 2>/dev/null | sed 's/^/{_MARK_AUDIT} /'"
                "; true")

    def process(self, output: list[str]) -> list[str]:
        return parse_dpkg_interrupted(output)


def parse_dpkg_interrupted(output: list[str]) -> list[str]:
    """The fact's lines that say something is unfinished (blank audit lines dropped)."""
    found = []
    for line in output:
        text = line.strip()
        if text == _MARK_UPDATES:
            found.append(text)
        elif text.startswith(_MARK_AUDIT) and text[len(_MARK_AUDIT):].strip():
            found.append(text)
    return found


class DockerContainerImageId(FactBase[str | None]):
    """The image id (`sha256:...`) a Docker container was created from, or None when there is
    no such container (or no Docker): `docker container inspect`'s `.Image`."""

    def command(self, container: str) -> StringCommand:
        return StringCommand(
            "command -v docker >/dev/null && docker container inspect --format '{{.Image}}'",
            QuoteString(container), "2>/dev/null || true")

    def process(self, output: list[str]) -> str | None:
        for line in output:
            if line.strip().startswith("sha256:"):
                return line.strip()
        return None


# Touched by Debian's apt after every successful `apt-get update` (its 15update-stamp hook) and
# by pyinfra's apt.update(cache_time=...): pyinfra 3.10 operations/apt.py APT_UPDATE_FILENAME.
APT_UPDATE_STAMP = "/var/lib/apt/periodic/update-success-stamp"


class AptListsAge(FactBase[int | None]):
    """Seconds since apt's lists were last refreshed (APT_UPDATE_STAMP's mtime against the
    host's clock), None when the stamp is missing. pyinfra's apt.update(cache_time) reads the
    same two values as two facts (File, Date), each a round trip as the operation runs."""

    def command(self) -> str:
        return (f"if [ -f {APT_UPDATE_STAMP} ]; then stat -c mtime=%Y {APT_UPDATE_STAMP}; fi; "
                "date +now=%s")

    def process(self, output: list[str]) -> int | None:
        values = dict(line.strip().partition("=")[::2] for line in output if "=" in line)
        if not values.get("mtime", "").isdigit() or not values.get("now", "").isdigit():
            return None
        return int(values["now"]) - int(values["mtime"])
