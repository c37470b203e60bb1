"""The pure modules of pyinfra_mesos never import pyinfra, directly or through the package.

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

# module -> why it is pure. The list was read from the code (the modules with no pyinfra import,
# direct or through the package, when this test was written); a module moves to pyinfra only
# by leaving this list, deliberately.
PURE: dict[str, str] = {
    "__init__": "the package itself: importing any module must not pull pyinfra in",
    "agent_data": "Mesos' resources/attributes syntax; used by check and the flag tables",
    "app_canonical": "what Marathon stores for an app; compared offline",
    "app_rules": "Marathon 1.10's app validation, offline (check --apps)",
    "app_secrets": "stdlib only: the MarathonApp fact runs this file with python3 on a host",
    "flag_lists": "Mesos/Marathon flag names and the refused overrides; used by check",
    "flag_tables": "which key sets which flag; the data-to-flags mechanism",
    "flags": "the flag dicts, zk:// digests, Marathon's env and env-file lines",
    "haproxy_apply": "bridge: copied to load balancers, run by python3 without pyinfra",
    "haproxy_bridge": "bridge: copied to load balancers, run by python3 without pyinfra",
    "haproxy_marathon": "bridge: copied to load balancers, run by python3 without pyinfra",
    "haproxy_model": "bridge: copied to load balancers, run by python3 without pyinfra",
    "haproxy_render": "bridge: copied to load balancers, run by python3 without pyinfra",
    "haproxy_resolve": "bridge: copied to load balancers, run by python3 without pyinfra",
    "marathon_client": "copied to the first Marathon host and run there with python3",
    "mesos_version": "which versions may be pinned; used by check",
    "problems": "the one-line error format every validator returns",
    "remote": "SSH for status/backup/restore (paramiko), outside any deploy",
    "status_model": "the cluster's status from raw answers; no SSH, no clock",
    "status_render": "the status table and JSON",
    "topology": "the cluster's shape from inventory groups",
    "value_checks": "whole-value checkers for user data",
    "zk_acl": "the wanted ZooKeeper ACLs, zkCli scripts and the decision",
    "zk_files": "which ZooKeeper files make a consistent backup",
}


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


def pyinfra_chain(module: str, package_dir: Path, package: str = "pyinfra_mesos",
                  seen: frozenset[str] = frozenset()) -> list[str] | None:
    """The import chain from `module` (a name in the package) to pyinfra, or None if none.

    `["a", "b", "pyinfra.api"]`: a imports b, b imports pyinfra.api."""
    file = package_dir / f"{module}.py"
    if not file.is_file() or module in seen:
        return None
    imports = imported_modules(file.read_text("utf-8"), package)
    for name in sorted(imports):
        if name.split(".")[0] in FORBIDDEN:
            return [module, name]
    for name in sorted(imports):
        parts = name.split(".")
        if parts[0] == package and len(parts) == 2:
            chain = pyinfra_chain(parts[1], package_dir, package, seen | {module})
            if chain:
                return [module, *chain]
    return None


@pytest.mark.parametrize("module", sorted(PURE))
def test_pure_module_never_imports_pyinfra(module: str) -> None:
    assert (PACKAGE / f"{module}.py").is_file(), f"{module} is listed as pure but does not exist"
    chain = pyinfra_chain(module, PACKAGE)
    assert chain is None, f"{module} ({PURE[module]}) imports pyinfra: {' -> '.join(chain)}"


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
