"""Custom pyinfra facts the deploy reads before it changes anything."""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand

from pyinfra_mesos.apt_lists import ListsState


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


# Touched by pyinfra's apt.update(cache_time=...) (pyinfra 3.10 operations/apt.py
# APT_UPDATE_FILENAME), by Ubuntu's update-notifier hook, and by deploy/packages.py
# `lists_refreshed` after its `apt-get update`: Debian's apt itself leaves it alone.
APT_UPDATE_STAMP = "/var/lib/apt/periodic/update-success-stamp"


class AptListsState(FactBase[ListsState]):
    """How old apt's lists are, and which of `paths` (apt inputs: apt_lists.lists_inputs)
    were modified after their last refresh (apt_lists.ListsState). One command: the host's
    clock, the stamp's modification time (whole seconds, for the age) and, when the stamp
    exists, `find -newer`'s answer for the inputs, which compares the full timestamps (an
    input written in the same second as a later refresh is older, not newer). Missing inputs
    are left out. pyinfra's apt.update(cache_time) reads the stamp and the clock as two facts,
    each a round trip as the operation runs."""

    def command(self, paths: tuple[str, ...] = ()) -> StringCommand:
        stamp = QuoteString(APT_UPDATE_STAMP)
        newer = (["&& find", *(QuoteString(path) for path in paths),
                  "-maxdepth 0 -newer", stamp, "-printf 'newer=%p\\n'"] if paths else [])
        return StringCommand("date +now=%s; { stat -c mtime=%Y", stamp, *newer,
                             "; } 2>/dev/null; true")

    def process(self, output: list[str]) -> ListsState:
        now = stamp = 0
        newer: list[str] = []
        for line in output:
            key, _, value = line.strip().partition("=")
            if key == "now" and value.isdigit():
                now = int(value)
            elif key == "mtime" and value.isdigit():
                stamp = int(value)
            elif key == "newer" and value:
                newer.append(value)
        if not now or not stamp:
            return ListsState(None)  # never refreshed (or no clock read): refresh
        return ListsState(now - stamp, tuple(newer))

    def default(self) -> ListsState:
        return ListsState(None)  # no output at all: as never refreshed
