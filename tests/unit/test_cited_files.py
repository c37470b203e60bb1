"""Every Markdown file a tracked file names exists: in this repository, or upstream with its
repository named next to it.

A name that is neither (a note kept outside the repository, `../shared/...`) sends a reader to
a file they do not have. `git ls-files` is the list of what the repository holds; test data
(tests/data, upstream examples copied verbatim) is not read.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKDOWN_NAME = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b")
# A citation of an upstream file names its repository on the line or just before it.
UPSTREAM = re.compile(r"apache/mesos|apache/zookeeper|zookeeper-docs|d2iq-archive/marathon|"
                      r"mesosphere/marathon|m3scluster/clusterd|AVENTER-UG/")
# The notes this project was started from live outside the repository.
OUTSIDE = re.compile(r"(?:\.\./)+shared/\S*|\bshared/(?:reference|cases)\S*")
TEXT_SUFFIXES = {".py", ".md", ".j2", ".cfg", ".toml", ".sh", ".txt", ""}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return out.splitlines()


def unresolved(lines: list[str], tracked: set[str]) -> list[tuple[int, str]]:
    """`[(line number, name)]` of the `../shared/...` paths in `lines`, and of the .md names
    that are neither a tracked path (or a
    tracked file's trailing path, `CONTRACTS.md` for docs/CONTRACTS.md) nor cited with an
    upstream repository on the same line or the two before it."""
    found = []
    for number, line in enumerate(lines, 1):
        found += [(number, name) for name in OUTSIDE.findall(line)]
        for name in MARKDOWN_NAME.findall(line):
            bare = name.lstrip("./")
            if any(path == bare or path.endswith("/" + bare) for path in tracked):
                continue
            if UPSTREAM.search(" ".join(lines[max(0, number - 3):number])):
                continue
            found.append((number, name))
    return found


def test_the_check_finds_a_missing_note_and_accepts_upstream_and_tracked_files() -> None:
    tracked = {"docs/CONTRACTS.md", "README.md"}
    lines = ["see real-contracts.md and ../shared/reference/facts.md",
             "docs/CONTRACTS.md, README.md", "apache/mesos docs/upgrades.md: masters first",
             "(Marathon, d2iq-archive/marathon", "v1.10.26 docs/docs/ports.md)"]
    assert unresolved(lines, tracked) == [(1, "../shared/reference/facts.md"),
                                          (1, "real-contracts.md"),
                                          (1, "../shared/reference/facts.md")]
    assert unresolved(["cases from ../shared/cases/apps-and-bridge/"], tracked) == [
        (1, "../shared/cases/apps-and-bridge/")]


def test_every_cited_markdown_file_exists() -> None:
    files = tracked_files()
    tracked = set(files)
    found = {}
    for path in files:
        file = ROOT / path
        # This file's own examples are the names it looks for.
        if path.startswith("tests/data/") or file.suffix not in TEXT_SUFFIXES \
                or not file.is_file() or file == Path(__file__).resolve():
            continue
        try:
            text = file.read_text("utf-8")
        except UnicodeDecodeError:
            continue
        if hits := unresolved(text.splitlines(), tracked):
            found[path] = hits
    assert found == {}
