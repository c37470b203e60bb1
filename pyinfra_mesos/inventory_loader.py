"""Load an inventory file the way `pyinfra INVENTORY deploy.py` does, without connecting.

pyinfra reads `group_data/` from the working directory and from the inventory's own directory.
`check` may be run from anywhere and on inventories outside `inventory/` (tests keep bad ones in
tests/data/inventories), so the project root is passed as the working directory: the project's
group_data/ always applies, exactly as it does for a deploy run from the project root.
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

from pyinfra.api import State
from pyinfra.api.inventory import Inventory
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory
from pyinfra_cli.util import PYTHON_CODES, exec_file

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


def _file_problem(path: str, message: str) -> Problem:
    return error(path, "inventory", message)


def load_inventory(path: str, override_data: Mapping[str, Any] | None = None,
                   root: Path | None = None) -> Inventory | Problem:
    """The pyinfra `Inventory` for `path` (group_data applied), or a Problem naming the file.

    `override_data` plays the role of `--data KEY=VALUE`. No host is contacted: the ssh
    connector only connects when a deploy runs.
    """
    file = Path(path)
    # pyinfra treats a path that does not exist as a comma-separated host list (and may try
    # DNS); refuse it here so a typo in the file name is a clear error and no lookup happens.
    if not file.is_file():
        return _file_problem(path, "no such inventory file")
    root = (root or project_root()).resolve()
    _forget_compiled_files()
    try:
        # exec_file records the file being executed on pyinfra's State; outside the pyinfra CLI
        # there is none, so give it a throw-away one for the duration of the load.
        with ctx_state.use(State()):
            return make_inventory(str(file.resolve()), override_data=dict(override_data or {}),
                                  cwd=str(root))
    except Exception as exc:  # any error in the user's Python file is bad input, not a crash
        return _file_problem(path, f"cannot load: {_describe(exc, file.resolve())}")


def _forget_compiled_files() -> None:
    """Drop pyinfra's per-process cache of compiled inventory and group_data files.

    pyinfra compiles each file once per process (pyinfra_cli.util.PYTHON_CODES); a long-lived
    caller (the e2e tier adding an agent line, a test editing group_data) must see the file as
    it is now, not as it was first read.
    """
    PYTHON_CODES.clear()


def _describe(exc: BaseException, file: Path) -> str:
    """`line N: ZeroDivisionError: division by zero` for an error raised by the inventory file."""
    # pyinfra wraps errors from user code in UnexpectedExternalError(.exception); click's own
    # exceptions keep their text in .message.
    cause = getattr(exc, "exception", None) or exc
    text = getattr(cause, "message", None) or str(cause)
    line = getattr(cause, "lineno", None) if isinstance(cause, SyntaxError) else None
    tb = cause.__traceback__ or getattr(cause, "_traceback", None)
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == file:
            line = tb.tb_lineno
        tb = tb.tb_next
    where = f"line {line}: " if line else ""
    return f"{where}{type(cause).__name__}: {text}"


def cli_inventory_path() -> str | None:
    """The INVENTORY argument of the running `pyinfra` command, or None outside it.

    pyinfra keeps no record of the file on its State; its click command (pyinfra_cli/cli.py,
    `@click.argument("inventory")`) is the current click context while deploy files run.
    """
    import click

    context = click.get_current_context(silent=True)
    while context is not None:
        value = context.params.get("inventory")
        if isinstance(value, str):
            return value if Path(value).is_file() else None
        context = context.parent
    return None


def inventory_file_groups(path: str) -> dict[str, Any]:
    """The groups exactly as the inventory file defines them: `{name: hosts | (hosts, data)}`.

    Read before group_data is merged in, so callers can see what the file itself said.
    """
    _forget_compiled_files()
    with ctx_state.use(State()):
        attrs = exec_file(str(Path(path).resolve()), return_locals=True)
    return {key: value for key, value in attrs.items()
            if not key.startswith("_") and isinstance(value, list | tuple)}


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
        return [_file_problem(path, f"the file name puts every host in the {stem!r} group "
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
