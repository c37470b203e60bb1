"""flag_lists: the Mesos 1.11 / Marathon 1.10 names, required flags, did-you-mean."""

from __future__ import annotations

import pytest

from pyinfra_mesos import flag_lists
from pyinfra_mesos.flag_lists import (
    boolean_flags,
    known_flags,
    required_flags,
    suggest,
    unknown_flags,
)


def test_counts_match_the_upstream_lists() -> None:
    # Counts of the upstream definitions (flag_lists' docstring names the files): Mesos 1.11
    # master 77, agent 149; Marathon 1.10 136 options + 14 --disable_ rows = 150; plus
    # aventer-mesos' additions (docs/REAL-CONTRACTS.md): cleanup_log_files on both, 17 agent flags.
    assert len(known_flags("master")) == 77 + 1
    assert len(known_flags("agent")) == 149 + 1 + 17
    assert len(known_flags("marathon")) == 150
    assert len(boolean_flags("marathon")) == 30


@pytest.mark.parametrize("kind,name", [("master", "work_dir"), ("master", "quorum"),
                                       ("master", "zk"), ("agent", "master"),
                                       ("agent", "containerizers"), ("agent", "resources"),
                                       ("marathon", "master"), ("marathon", "zk"),
                                       ("marathon", "http_port"), ("marathon", "disable_ha")])
def test_known(kind: str, name: str) -> None:
    assert name in known_flags(kind)  # type: ignore[arg-type]


def test_lists_are_separate() -> None:
    assert "quorum" not in known_flags("agent")
    assert "containerizers" not in known_flags("master")
    assert "event_subscriber" not in known_flags("marathon")  # removed in Marathon 1.5


def test_unknown_kind() -> None:
    with pytest.raises(ValueError):
        known_flags("slave")  # type: ignore[arg-type]


def test_required_master() -> None:
    assert required_flags("master", {}) == ["work_dir"]
    assert required_flags("master", {"zk": "zk://a:2181/mesos"}) == ["work_dir", "quorum"]
    assert required_flags("master", {"zk": "zk://a:2181/mesos", "work_dir": "/w",
                                     "quorum": "2"}) == []


def test_required_agent_and_marathon() -> None:
    assert required_flags("agent", {"work_dir": "", "master": "zk://a/mesos"}) == ["work_dir"]
    assert required_flags("agent", {"work_dir": "/w", "master": "  "}) == ["master"]
    assert required_flags("marathon", {}) == ["master"]
    assert required_flags("marathon", {"master": "zk://a/mesos"}) == []


def test_unknown_with_suggestions() -> None:
    found = unknown_flags("agent", ["work_dir", "work_dri", "docker_stop_timout", "zzzz"])
    assert found == {"work_dri": "work_dir", "docker_stop_timout": "docker_stop_timeout",
                     "zzzz": None}


@pytest.mark.parametrize("given,expected", [("--work_dir", "work_dir"),
                                            ("MESOS_WORK_DIR", "work_dir"),
                                            ("work-dir", "work_dir")])
def test_suggest_for_pasted_forms(given: str, expected: str) -> None:
    assert suggest("master", given) == expected
    assert given in unknown_flags("master", [given])


def test_marathon_prefix_suggestion() -> None:
    assert suggest("marathon", "MARATHON_HTTP_PORT") == "http_port"


@pytest.mark.parametrize("default,form", [("5050", "int"), ("²", None), ("٣", None),
                                          ("10secs", "duration"), ("0.5mins", "duration"),
                                          ("٣secs", None), ("true", "bool"), ("zk://", None)])
def test_value_form_reads_defaults_with_the_value_checks_rules(
        monkeypatch: pytest.MonkeyPatch, default: str, form: str | None) -> None:
    """A flag's form comes from value_checks (ASCII digits, stout's durations): the rules
    that then check the user's value; str.isdigit() or `\\d` would call "²" an int."""
    monkeypatch.setattr(flag_lists, "default_value", lambda kind, name: default)
    assert flag_lists.value_form("master", "some_flag") == form
