"""Load an inventory file the way `pyinfra INVENTORY deploy.py` does, without connecting.

pyinfra reads `group_data/` from the working directory and from the inventory's own directory.
`check` may be run from anywhere and on inventories outside `inventory/` (tests keep bad ones in
tests/data/inventories), so the project root is passed as the working directory: the project's
group_data/ always applies, exactly as it does for a deploy run from the project root.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyinfra.api import State
from pyinfra.api.inventory import Inventory
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory
from pyinfra_cli.util import PYTHON_CODES, exec_file

from pyinfra_mesos.inventory_data import inventory_problem, project_root
from pyinfra_mesos.problems import Problem


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
        return inventory_problem(path, "no such inventory file")
    root = (root or project_root()).resolve()
    _forget_compiled_files()
    try:
        # exec_file records the file being executed on pyinfra's State; outside the pyinfra CLI
        # there is none, so give it a throw-away one for the duration of the load.
        with ctx_state.use(State()):
            return make_inventory(str(file.resolve()), override_data=dict(override_data or {}),
                                  cwd=str(root))
    except Exception as exc:  # any error in the user's Python file is bad input, not a crash
        return inventory_problem(path, f"cannot load: {_describe(exc, file.resolve())}")


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


