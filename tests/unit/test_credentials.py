"""Operator-side secrets: generated once, 0600 in a 0700 directory, the same for every reader."""

from __future__ import annotations

import stat
from pathlib import Path

from pyinfra_mesos.credentials import marathon_credentials

DATA = {"cluster_name": "prod", "credentials_dir": "credentials"}


def test_generated_once_private_and_stable(tmp_path: Path) -> None:
    assert marathon_credentials(DATA, tmp_path) == ""          # readers never create
    first = marathon_credentials(DATA, tmp_path, create=True)
    user, _, password = first.partition(":")
    assert user == "marathon" and len(password) == 64
    assert marathon_credentials(DATA, tmp_path, create=True) == first
    assert marathon_credentials(DATA, tmp_path) == first
    path = tmp_path / "credentials" / "prod" / "marathon_http_credentials"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_the_operators_value_wins_and_nothing_is_written(tmp_path: Path) -> None:
    data = {**DATA, "marathon_http_credentials": "ops:given"}
    assert marathon_credentials(data, tmp_path, create=True) == "ops:given"
    assert not (tmp_path / "credentials").exists()


def test_clusters_get_their_own_secret_and_absolute_dirs_work(tmp_path: Path) -> None:
    other = {"cluster_name": "staging", "credentials_dir": str(tmp_path / "abs")}
    a = marathon_credentials(DATA, tmp_path, create=True)
    b = marathon_credentials(other, "/nonexistent", create=True)
    assert a != b and (tmp_path / "abs" / "staging" / "marathon_http_credentials").exists()
