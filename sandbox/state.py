"""The sandbox's record of everything it made (state.json), saved after every change.

``up`` writes an entry *before* it creates the thing it names (a netns, a veth, a mount), and a
pid right after the process starts, so ``down`` can clean a run that crashed half-way: whatever
is recorded is removed if it exists, and whatever is missing is skipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

VERSION = 1


def empty_state(sandbox: str) -> dict[str, Any]:
    return {"version": VERSION, "sandbox": sandbox, "hosts": {}, "services": {}, "artifacts": {}}


def load_state(path: Path, sandbox: str) -> dict[str, Any]:
    """The recorded state, or an empty one; a damaged file is an error, never silently reset."""
    if not path.exists():
        return empty_state(sandbox)
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    base = empty_state(sandbox)
    base.update(data)
    for key in ("hosts", "services", "artifacts"):
        if not isinstance(base.get(key), dict):
            base[key] = {}
    return base


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a JSON document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class StateFile:
    """A loaded state plus its path; ``save()`` after every recorded change."""

    def __init__(self, path: Path, sandbox: str) -> None:
        self.path = path
        self.data = load_state(path, sandbox)

    def save(self) -> None:
        save_state(self.path, self.data)

    @property
    def hosts(self) -> dict[str, dict[str, Any]]:
        return self.data["hosts"]

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        return self.data["services"]

    @property
    def artifacts(self) -> dict[str, dict[str, Any]]:
        return self.data["artifacts"]

    def host(self, name: str) -> dict[str, Any]:
        return self.hosts.setdefault(name, {})
