"""sandbox.hosts.remove_tree: an entry that vanishes under the walk counts as removed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox import hosts


def make_tree(base: Path) -> None:
    (base / "overlay" / "layer-init").mkdir(parents=True)
    (base / "overlay" / "layer-init" / "file").write_text("x")
    (base / "other").write_text("y")


def test_an_entry_deleted_by_someone_else_mid_walk_is_fine(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "host"
    make_tree(base)
    real_unlink = os.unlink

    def racing_unlink(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path) == "file":
            # A host's dockerd removes its own layer first: our unlink finds nothing.
            real_unlink(base / "overlay" / "layer-init" / "file")
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", racing_unlink)
    hosts.remove_tree(base)
    assert not base.exists()


def test_other_errors_still_fail_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "host"
    make_tree(base)
    monkeypatch.setattr(hosts, "REMOVE_TREE_PAUSE_S", 0.0)

    def refused(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "unlink", refused)
    with pytest.raises(PermissionError):
        hosts.remove_tree(base)
