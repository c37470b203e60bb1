"""The aventer-mesos version pin admits no broken build (real-contracts: clusterd 26bf5e4d)."""

from __future__ import annotations

import pytest

from pyinfra_mesos.mesos_package import mesos_version_problems


@pytest.mark.parametrize("version", ["1.11.0-0.7.1", "1.11.0-0.7.1+standin1", "1.11.0-0.8.0",
                                     "1.12.0"])
def test_safe_pins_pass(version: str) -> None:
    assert mesos_version_problems(version, "inventory") == []


@pytest.mark.parametrize(("version", "says"), [
    ("1.11.0", "admits aventer-mesos builds before 1.11.0-0.7.1"),   # the old default
    ("1.11.0-0.6.0", "older than 1.11.0-0.7.1"),                      # no Depends
    ("1.11.0-0.7.0", "older than 1.11.0-0.7.1"),                      # wrong prefix
    ("1.10.0", "admits"),
    ("1.11.0-0.7.1\n", "not a Debian version"),
    (1.11, "non-empty string"),
])
def test_unsafe_pins_are_refused_in_one_line(version: object, says: str) -> None:
    problems = mesos_version_problems(version, "inventory")
    assert len(problems) == 1 and problems[0].level == "error"
    line = problems[0].format()
    assert line.startswith("error: inventory: mesos_version: ") and says in line
    assert "\n" not in line.rstrip("\n")
