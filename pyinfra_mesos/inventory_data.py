"""The project's group_data and an inventory's own files, read without pyinfra (pure).

Where group_data/ is, which keys each group_data file sets (read with `ast`, not run), the
defaults of group_data/all.py, a member's value with them, and the inventory file name rule.
Loading an inventory the way pyinfra does is inventory_loader.py's (it needs pyinfra_cli).
"""

from __future__ import annotations

import ast
import functools
import os
import runpy
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyinfra_mesos.problems import Problem, error
from pyinfra_mesos.topology import ROLE_GROUPS

_PACKAGE_PARENT = Path(__file__).resolve().parent.parent


def project_root() -> Path:
    """The directory holding group_data/: this checkout, else the working directory.

    The second case is an installed package used from a project of one's own.
    """
    if (_PACKAGE_PARENT / "group_data").is_dir():
        return _PACKAGE_PARENT
    return Path.cwd().resolve()


def group_data_dirs(inventory_path: str | os.PathLike[str],
                    root: Path | None = None) -> list[Path]:
    """The group_data directories pyinfra reads for this inventory, lowest precedence first."""
    root = (root or project_root()).resolve()
    dirs = [root / "group_data"]
    inventory_dir = Path(inventory_path).resolve().parent
    if inventory_dir != root:
        dirs.append(inventory_dir / "group_data")
    return [d for d in dirs if d.is_dir()]


def inventory_problem(path: str, message: str) -> Problem:
    return error(path, "inventory", message)


def group_data_keys(directory: Path) -> dict[str, tuple[Path, frozenset[str]]]:
    """`{group: (file, keys it sets)}` for each group_data/<group>.py, read without running it."""
    found: dict[str, tuple[Path, frozenset[str]]] = {}
    for file in sorted(directory.glob("*.py")):
        try:
            tree = ast.parse(file.read_text("utf-8"), filename=str(file))
        except (OSError, SyntaxError):
            continue  # loading the inventory reports this file properly
        keys: set[str] = set()
        exported: set[str] | None = None
        for node in tree.body:
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    if target.id == "__all__" and isinstance(node.value, ast.List | ast.Tuple):
                        exported = {e.value for e in node.value.elts
                                    if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                    elif not target.id.startswith("__"):
                        keys.add(target.id)
        # pyinfra honours __all__ when a group_data file sets it (pyinfra_cli/inventory.py).
        found[file.stem] = (file, frozenset(exported if exported is not None else keys))
    return found


def file_name_group_problems(path: str, groups: Mapping[str, Any]) -> list[Problem]:
    """The inventory's file name is a group of every host in it (pyinfra: `prod.py` -> `prod`).

    Named after a role group it does not define, it would make every host, say, a master.
    """
    stem = Path(path).stem
    if stem in ROLE_GROUPS and stem not in groups:
        return [inventory_problem(path, f"the file name puts every host in the {stem!r} group "
                                    "(pyinfra makes the file name a group); rename the file")]
    return []


def default_data(root: Path | None = None) -> dict[str, Any]:
    """group_data/all.py as a dict: the value of every key no inventory overrides.

    Validation falls back to it for topologies built without pyinfra (unit tests, tools), so
    defaults stay in one file instead of being repeated in code.
    """
    all_py = (root or project_root()) / "group_data" / "all.py"
    return dict(_default_data(str(all_py)))


def member_value(member: Any, key: str, default: Any = None) -> Any:
    """The value `key` has on a topology member: its own data, else group_data/all.py, else
    `default`. `member` is a topology.Member (anything with a `data` mapping)."""
    if key in member.data:
        return member.data[key]
    return default_data().get(key, default)


@functools.cache
def _default_data(all_py: str) -> tuple[tuple[str, Any], ...]:
    if not Path(all_py).is_file():
        return ()
    values = runpy.run_path(all_py)
    return tuple((key, value) for key, value in values.items()
                 if not key.startswith("__") and not isinstance(value, types.ModuleType))
