"""Read an inventory module the way pyinfra does, for the names the sandbox must boot."""

from __future__ import annotations

import re
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# SANDBOX names a state dir and a cgroup: a plain file-name-safe word.
SANDBOX_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,40}$")


class InventoryError(Exception):
    pass


@dataclass
class SandboxInventory:
    path: Path
    sandbox: str
    hosts: list[str]  # in order of first appearance across groups


def _group_items(value: Any) -> list[Any] | None:
    """The host items of a pyinfra group variable (a list, or a ``(hosts, data)`` tuple)."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], list):
        value = value[0]
    if not isinstance(value, list):
        return None
    if not all(isinstance(i, str) or (isinstance(i, tuple) and i) for i in value):
        return None
    return value


def host_names(attrs: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for key, value in attrs.items():
        if key.startswith("_"):
            continue
        items = _group_items(value)
        for item in items or []:
            name = item if isinstance(item, str) else item[0]
            if isinstance(name, str) and name not in names:
                names.append(name)
    return names


def load_inventory(path: Path) -> SandboxInventory:
    if not path.is_file():
        raise InventoryError(f"{path}: no such inventory file")
    attrs = runpy.run_path(str(path), run_name="__inventory__")
    sandbox = attrs.get("SANDBOX")
    if not isinstance(sandbox, str) or not SANDBOX_RE.match(sandbox):
        raise InventoryError(f"{path}: SANDBOX: set SANDBOX = '<name>' (names the sandbox state)")
    names = host_names(attrs)
    if not names:
        raise InventoryError(f"{path}: no hosts in any group list")
    return SandboxInventory(path=path, sandbox=sandbox, hosts=names)
