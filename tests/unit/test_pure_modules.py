"""Every module of pyinfra_mesos outside deploy/ is pure: it never imports pyinfra, directly
or through the package, except the few named in IMPURE, each with why. Not a list of the pure
modules: a new module is checked pure unless it is in deploy/ or is added to IMPURE.

Pure: decided without a host, unit-tested without pyinfra's State, and (for the bridge and
the Marathon client) copied to hosts that have no pyinfra at all. Imports are read with `ast`,
every one in the file (a function-level import runs when the function does), and followed
through the package's own modules, so `a -> b -> pyinfra` fails for `a`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pyinfra_mesos"
FORBIDDEN = ("pyinfra", "pyinfra_cli")
# The boundary: the subpackage whose modules import pyinfra to define facts and operations.
BOUNDARY = "deploy"
# The one boundary module a pure module may import: DeployRefused must be a PyinfraError, or
# pyinfra_cli/util.py exec_file wraps it with a traceback instead of printing its one line.
# It imports pyinfra.api.exceptions and nothing else (test_the_allowed_exception_is_only_that).
ALLOWED = frozenset({"pyinfra_mesos.deploy.refused"})

# module -> why it still reaches pyinfra outside the boundary. A module joins this table only
# deliberately; every other module outside deploy/ is checked pure.
IMPURE: dict[str, str] = {
    "__main__": "`python -m pyinfra_mesos`: runs cli",
    "cli": "parses `--data k=v` with pyinfra_cli's own parse_cli_arg, so `check` reads values "
           "exactly as the deploy does",
    "inventory_loader": "loads an inventory with pyinfra_cli's make_inventory and exec_file "
                        "(`check` offline, no connection): the same loader the deploy uses",
    "known_keys": "reads pyinfra's own global arguments and connectors' data keys, so a "
                  "pyinfra key is never reported as a typo",
    "validation": "the inventory rules: reads the inventory file's own groups with pyinfra_cli's "
                  "exec_file (inventory_loader) and pyinfra's keys (known_keys)",
    "status": "operator command: loads the inventory with inventory_loader (pyinfra_cli)",
    "backup": "operator command: finds the hosts through status (inventory_loader)",
    "restore": "operator command: finds the hosts through status (inventory_loader)",
    "drain": "operator command: finds the hosts through status (inventory_loader)",
    "remove": "operator command: finds the hosts through status (inventory_loader)",
}


def modules_outside_boundary(package_dir: Path = PACKAGE) -> list[str]:
    """Every module of the package outside deploy/, dotted below the package (`apps.rules`)."""
    found = []
    for file in sorted(package_dir.rglob("*.py")):
        parts = file.relative_to(package_dir).with_suffix("").parts
        if parts[0] == BOUNDARY or "__pycache__" in parts:
            continue
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found.append(".".join(parts))
    return found


def imported_modules(source: str, package: str = "pyinfra_mesos") -> set[str]:
    """Every module `source` imports anywhere (top level or inside functions), absolute names;
    `from package import name` also counts `package.name` (it may be a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = f"{package}.{node.module or ''}".rstrip(".") if node.level else node.module
            if base:
                found.add(base)
                found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def module_file(module: str, package_dir: Path) -> Path | None:
    """The file of `module` (dotted below the package): a .py file, or a subpackage's
    __init__.py; None when it is not in the package."""
    base = package_dir.joinpath(*module.split("."))
    for file in (base.with_suffix(".py"), base / "__init__.py"):
        if file.is_file():
            return file
    return None


def pyinfra_chain(module: str, package_dir: Path, package: str = "pyinfra_mesos",
                  seen: frozenset[str] = frozenset(),
                  allowed: frozenset[str] = frozenset()) -> list[str] | None:
    """The import chain from `module` (a name in the package) to pyinfra, or None if none.

    `["a", "b", "pyinfra.api"]`: a imports b, b imports pyinfra.api. A module in `allowed`
    (absolute names) is not followed."""
    file = module_file(module, package_dir)
    if file is None or module in seen:
        return None
    imports = imported_modules(file.read_text("utf-8"), package) - allowed
    for name in sorted(imports):
        if name.split(".")[0] in FORBIDDEN:
            return [module, name]
    for name in sorted(imports):
        parts = name.split(".")
        if parts[0] == package and len(parts) >= 2:
            chain = pyinfra_chain(".".join(parts[1:]), package_dir, package, seen | {module},
                                  allowed)
            if chain:
                return [module, *chain]
    return None


@pytest.mark.parametrize("module", modules_outside_boundary())
def test_every_module_outside_the_boundary_is_pure(module: str) -> None:
    chain = pyinfra_chain(module, PACKAGE, allowed=ALLOWED)
    if module in IMPURE:
        assert chain is not None, f"{module} no longer reaches pyinfra: remove it from IMPURE"
        return
    assert chain is None, f"{module} imports pyinfra outside deploy/: {' -> '.join(chain)}"


def test_the_table_names_only_modules_that_exist() -> None:
    assert set(IMPURE) <= set(modules_outside_boundary())


def test_the_allowed_exception_is_only_that() -> None:
    """deploy/refused.py imports pyinfra's exception module and nothing else."""
    source = (PACKAGE / BOUNDARY / "refused.py").read_text("utf-8")
    assert imported_modules(source) == {"__future__", "__future__.annotations",
                                        "pyinfra.api.exceptions",
                                        "pyinfra.api.exceptions.PyinfraError"}


def test_the_boundary_holds_the_facts_and_operations() -> None:
    """Every module that defines a pyinfra fact or operation is in deploy/."""
    for module in modules_outside_boundary():
        source = module_file(module, PACKAGE).read_text("utf-8")  # type: ignore[union-attr]
        assert "FactBase" not in source and "@operation" not in source, module


def test_the_check_follows_imports_through_the_package(tmp_path: Path) -> None:
    """The checker itself: a direct import, one through a sibling, one inside a function and
    `from package import module` are all found; a pure chain is not flagged."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "glue.py").write_text("from pyinfra.api import operation\n")
    (pkg / "uses_glue.py").write_text("from pkg.glue import operation\n")
    (pkg / "relative.py").write_text("from . import glue\n")
    (pkg / "lazy.py").write_text("def f():\n    import pyinfra_cli.util\n")
    (pkg / "clean.py").write_text("import json\nfrom pkg import leaf\n")
    (pkg / "leaf.py").write_text("import re\n")
    (pkg / "cycle_a.py").write_text("from pkg import cycle_b\n")
    (pkg / "cycle_b.py").write_text("from pkg import cycle_a\n")
    assert pyinfra_chain("glue", pkg, "pkg") == ["glue", "pyinfra.api"]
    assert pyinfra_chain("uses_glue", pkg, "pkg") == ["uses_glue", "glue", "pyinfra.api"]
    assert pyinfra_chain("relative", pkg, "pkg") == ["relative", "glue", "pyinfra.api"]
    assert pyinfra_chain("lazy", pkg, "pkg") == ["lazy", "pyinfra_cli.util"]
    assert pyinfra_chain("clean", pkg, "pkg") is None
    assert pyinfra_chain("cycle_a", pkg, "pkg") is None
