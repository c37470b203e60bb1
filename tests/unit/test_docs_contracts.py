"""docs/REAL-CONTRACTS.md stays true: every test it names exists, every row names one."""

from __future__ import annotations

import re

from test_tasks_harness import ROOT

DOC = ROOT / "docs" / "REAL-CONTRACTS.md"
# `file.py::test_a, ::test_b` (a bare `::name` continues the previous file); a trailing `*` is a
# prefix; `[param]` is ignored.
REF = re.compile(r"((?:tests/[\w/]+/)?test_\w+\.py)?::(test_\w+\*?)(?:\[[^\]]*\])?")


def referenced_tests(text: str) -> list[tuple[str, str]]:
    refs = []
    current = ""
    for file_part, name in REF.findall(text):
        if file_part:
            current = file_part if file_part.startswith("tests/") else f"tests/standins/{file_part}"
        refs.append((current, name))
    return refs


def test_every_named_test_exists() -> None:
    refs = referenced_tests(DOC.read_text())
    assert len(refs) > 40
    missing = []
    for path, name in refs:
        source = (ROOT / path).read_text() if (ROOT / path).exists() else ""
        pattern = (rf"def {re.escape(name[:-1])}\w*\(" if name.endswith("*")
                   else rf"def {re.escape(name)}\(")
        if not re.search(pattern, source):
            missing.append(f"{path}::{name}")
    assert not missing, missing


def test_every_table_row_names_a_test_or_an_e2e_phase() -> None:
    rows = [line for line in DOC.read_text().splitlines()
            if line.startswith("| ") and not line.startswith(("| behaviour", "| fix", "| ---"))]
    bare = [row for row in rows if ".py" not in row.rsplit("|", 2)[-2]]
    assert not bare, bare
