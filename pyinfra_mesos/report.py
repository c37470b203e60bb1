"""How the deploy prints the inventory's problems: each line once per run, errors apart.

Used by deploy.py before any operation is generated; the lines are Problem.format()'s
(problems.py), the same `check` prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def problems_report(problems: Iterable[Any]) -> tuple[list[str], list[str]]:
    """(error lines, warning lines), each problem once, in the contract's one-line format."""
    errors: list[str] = []
    warnings: list[str] = []
    for problem in problems:
        line = problem.format()
        target = errors if problem.level == "error" else warnings
        if line not in target:
            target.append(line)
    return errors, warnings


_already_printed: set[tuple[int, str]] = set()


def first_time(run: object, line: str) -> bool:
    """True the first time `line` is seen in this run: the deploy file runs once per host, and
    a problem with the inventory should be printed once, not once per host."""
    key = (id(run), line)
    if key in _already_printed:
        return False
    _already_printed.add(key)
    return True
