"""docs/ARCHITECTURE.md's map stays true: every file its "Where to look" table names exists.

A name is resolved as written from the repository root, else under pyinfra_mesos/ (the table
abbreviates `pyinfra_mesos/x.py` to `x.py` after the first mention in a row).
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILE = re.compile(r"`([\w./-]+\.(?:py|md))`")


def _map_rows() -> list[str]:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text("utf-8")
    table = text.split("## Where to look", 1)[1].split("\n## ", 1)[0]
    return [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]


def test_the_map_opens_the_document() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text("utf-8")
    first_section = re.search(r"^## .*$", text, re.M)
    assert first_section is not None and first_section.group(0) == "## Where to look"


def test_every_file_the_map_names_exists() -> None:
    rows = _map_rows()
    assert len(rows) > 10
    missing = []
    for row in rows[1:]:
        for name in FILE.findall(row):
            if not any((base / name).is_file()
                       for base in (ROOT, ROOT / "pyinfra_mesos")):
                missing.append(name)
    assert not missing, f"docs/ARCHITECTURE.md names files that do not exist: {missing}"
