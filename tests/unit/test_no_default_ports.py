"""No default port is written in code: group_data/all.py is the one source.

Read with `ast` from the package and the task files: an int literal equal to a `*_port`
default, or a string (an f-string's text included) holding `:<that port>`, is a copy of a
default that would silently disagree once an operator changes the data. Docstrings and
comments may name the usual values.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pyinfra_mesos.inventory_data import default_data

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("pyinfra_mesos/*.py"), *ROOT.glob("tasks/*.py"),
                  ROOT / "deploy.py", ROOT / "deploy_apps.py"])


def default_ports() -> set[int]:
    """Every `*_port` default of group_data/all.py (2181, 5050, 8080, ...)."""
    return {value for key, value in default_data(ROOT).items()
            if key.endswith("_port") and type(value) is int}


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of every docstring node in `tree`."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def copied_ports(source: str, ports: set[int]) -> list[tuple[int, object]]:
    """`[(line, literal)]`: the default ports `source` writes as code."""
    alternatives = "|".join(str(p) for p in sorted(ports))
    in_text = re.compile(rf":(?:{alternatives})\b")
    tree = ast.parse(source)
    skip = docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and id(node) not in skip
            and ((type(node.value) is int and node.value in ports)
                 or (isinstance(node.value, str) and in_text.search(node.value)))]


def test_the_scan_finds_a_copied_default() -> None:
    ports = {2181, 8080}
    assert copied_ports('def f(p=2181):\n    return f"http://127.0.0.1:8080/x"\n', ports) == [
        (1, 2181), (2, "http://127.0.0.1:8080/x")]
    assert copied_ports('def f():\n    """Marathon on :8080."""\n    return 1\n', ports) == []


def test_no_default_port_is_written_in_code() -> None:
    ports = default_ports()
    assert {2181, 2888, 3888, 5050, 5051, 8080} <= ports
    found = {str(path.relative_to(ROOT)): hits for path in SOURCES
             if (hits := copied_ports(path.read_text("utf-8"), ports))}
    assert found == {}
