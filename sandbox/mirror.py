"""Find the Debian mirror this machine already uses, from its own apt configuration.

The sandbox never names a mirror itself: hosts, the golden root and the proxy's allow-list all
use whatever this machine's apt sources say (one-line ``.list`` or deb822 ``.sources`` files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Source:
    types: list[str]
    uris: list[str]
    suites: list[str]
    components: list[str] = field(default_factory=list)
    enabled: bool = True


class MirrorNotFound(Exception):
    pass


def parse_one_line(text: str) -> list[Source]:
    """Parse the classic ``deb [opts] URI SUITE COMPONENT...`` format."""
    sources: list[Source] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        # Options may contain spaces inside the brackets: drop the whole bracket group.
        line = re.sub(r"\[[^\]]*\]", " ", line)
        parts = line.split()
        if len(parts) < 3 or parts[0] not in ("deb", "deb-src"):
            continue
        sources.append(Source([parts[0]], [parts[1]], [parts[2]], parts[3:]))
    return sources


def _deb822_paragraphs(text: str) -> list[dict[str, str]]:
    paragraphs: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last_key = ""
    for raw in text.splitlines():
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if current:
                paragraphs.append(current)
            current, last_key = {}, ""
            continue
        if raw[0] in " \t":
            # Continuation of a multi-line field (Signed-By may embed a whole key).
            if last_key:
                current[last_key] += "\n" + raw.strip()
            continue
        key, sep, value = raw.partition(":")
        if not sep:
            continue
        last_key = key.strip().lower()
        current[last_key] = value.strip()
    if current:
        paragraphs.append(current)
    return paragraphs


def parse_deb822(text: str) -> list[Source]:
    """Parse the deb822 ``.sources`` format (Debian 12's default)."""
    sources: list[Source] = []
    for para in _deb822_paragraphs(text):
        if "uris" not in para or "types" not in para:
            continue
        enabled = para.get("enabled", "yes").strip().lower() not in ("no", "false", "0")
        sources.append(
            Source(
                types=para["types"].split(),
                uris=para["uris"].split(),
                suites=para.get("suites", "").split(),
                components=para.get("components", "").split(),
                enabled=enabled,
            )
        )
    return sources


def read_sources(apt_dir: Path = Path("/etc/apt")) -> list[Source]:
    """Every source apt itself would read: sources.list and sources.list.d/*.{list,sources}."""
    sources: list[Source] = []
    main = apt_dir / "sources.list"
    if main.is_file():
        sources += parse_one_line(main.read_text(encoding="utf-8", errors="replace"))
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
            if path.suffix == ".list":
                sources += parse_one_line(text)
            elif path.suffix == ".sources":
                sources += parse_deb822(text)
    return sources


def pick_mirror(sources: list[Source], suite: str) -> str:
    """The URI of the first enabled binary source carrying ``suite`` itself with ``main``."""
    for src in sources:
        if not src.enabled or "deb" not in src.types:
            continue
        if suite not in src.suites or (src.components and "main" not in src.components):
            continue
        for uri in src.uris:
            if urlsplit(uri).scheme in ("http", "https") and urlsplit(uri).hostname:
                return uri.rstrip("/")
    raise MirrorNotFound(
        f"no enabled 'deb' source for suite {suite!r} with component main in this machine's "
        "apt sources; the sandbox takes its mirror from there"
    )


def point_release_lines(sources: list[Source], suite: str, mirror: str) -> list[str]:
    """``deb URI SUITE main`` lines for ``suite``-updates and ``suite``-security as this machine
    reads them, from the mirror's own host only (the one the sandbox's proxy lets through).

    debootstrap writes only ``suite`` itself into a root; a real host also has these two (the
    security archive is where a package's patched versions are), so the sandbox hosts get them
    too. Each line once, in this machine's order.
    """
    wanted = (f"{suite}-updates", f"{suite}-security")
    allowed = mirror_host(mirror)
    lines: list[str] = []
    for src in sources:
        if not src.enabled or "deb" not in src.types:
            continue
        if src.components and "main" not in src.components:
            continue
        for uri in src.uris:
            parts = urlsplit(uri)
            if parts.scheme not in ("http", "https") or parts.hostname != allowed:
                continue
            for name in src.suites:
                line = f"deb {uri.rstrip('/')} {name} main"
                if name in wanted and line not in lines:
                    lines.append(line)
    return lines


def mirror_host(uri: str) -> str:
    host = urlsplit(uri).hostname
    if not host:
        raise MirrorNotFound(f"mirror URI without a host name: {uri!r}")
    return host


def find_mirror(suite: str, apt_dir: Path = Path("/etc/apt")) -> str:
    return pick_mirror(read_sources(apt_dir), suite)
