"""Inventories of N hosts: the sandbox inventory with agent lines added, as an operator would.

The lines come from the e2e tier's own helper (tests/e2e/helpers.py ``add_agent_line``,
``next_agent_name``), so the benchmark grows clusters exactly the way the e2e run adds its
agent. Host names come from ``sandbox.invfile.load_inventory`` (what ``sandbox up`` boots).
"""

from __future__ import annotations

from collections.abc import Sequence

from tests.e2e.helpers import add_agent_line, next_agent_name


def grown_inventory(text: str, names: Sequence[str], total: int) -> tuple[str, list[str]]:
    """``text`` with agents added until it names ``total`` hosts; (new text, added names).

    ``names``: the hosts ``text`` already names. ValueError when ``total`` is below that.
    """
    if total < len(names):
        raise ValueError(f"the inventory already names {len(names)} hosts, more than {total}")
    known = list(names)
    added: list[str] = []
    for _ in range(total - len(known)):
        name = next_agent_name(known)
        text = add_agent_line(text, name)
        known.append(name)
        added.append(name)
    return text, added


def parse_host_counts(text: str) -> list[int | str]:
    """``--hosts 5,10,max`` -> ``[5, 10, "max"]``: ascending numbers, "max" at most once and
    last. ValueError (one line) otherwise."""
    counts: list[int | str] = []
    for word in (w.strip().lower() for w in text.split(",")):
        if word == "max":
            if "max" in counts:
                raise ValueError("--hosts: 'max' given twice")
            counts.append("max")
            continue
        if not word.isdigit() or int(word) < 1:
            raise ValueError(f"--hosts: {word!r} is not a host count (a number, or 'max')")
        if "max" in counts:
            raise ValueError("--hosts: 'max' must come last")
        if counts and int(word) <= int(counts[-1]):
            raise ValueError("--hosts: counts must grow (e.g. 5,10,max)")
        counts.append(int(word))
    if not counts:
        raise ValueError("--hosts: no host count given")
    return counts
