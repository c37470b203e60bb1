"""What validators report: one `Problem` per issue, printed as one line.

The format is binding (docs/CONTRACTS.md): ``error: <where>: <field>: <message>``, where
`where` is a host name or a file path. Validators return lists of these and never raise for
bad user input, so one run shows every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(text: str) -> str:
    """Control characters as escapes (`\\n`, `\\x00`): a host name or value holding a newline
    must not split its own problem line in two."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


@dataclass(frozen=True)
class Problem:
    level: Level
    where: str
    field: str
    message: str

    def format(self) -> str:
        return (f"{self.level}: {_one_line(self.where)}: {_one_line(self.field)}: "
                f"{_one_line(self.message)}")

    def __str__(self) -> str:
        return self.format()


def without_host(name: str, message: str) -> str:
    """`message` without its leading `<name>: ` (repeated), for a line that names `name`
    already: `a1: cannot connect` -> `cannot connect` (remote.RemoteError's text starts with
    the host's name)."""
    prefix = f"{name}: "
    while message.startswith(prefix):
        message = message[len(prefix):]
    return message


def unreachable_line(name: str, reason: str) -> str:
    """`<name>: unreachable over SSH: <reason>`, the host named once (reason: remote.Hosts'
    `unreachable[name]`, which names it too)."""
    return f"{name}: unreachable over SSH: {without_host(name, reason)}"


def error(where: str, field: str, message: str) -> Problem:
    return Problem("error", where, field, message)


def warning(where: str, field: str, message: str) -> Problem:
    return Problem("warning", where, field, message)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that stop a deploy (warnings do not)."""
    return [p for p in problems if p.level == "error"]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.level == "warning"]


def summary(problems: Iterable[Problem]) -> str:
    """`2 errors, 1 warning` style counts, for the last line of a report."""
    found = list(problems)
    n_err, n_warn = len(errors(found)), len(warnings(found))
    return (f"{n_err} error{'' if n_err == 1 else 's'}, "
            f"{n_warn} warning{'' if n_warn == 1 else 's'}")
