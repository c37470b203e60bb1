"""deploy/file_set.py FileSetState: its command, run for real here, reads what is on disk."""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import subprocess
from pathlib import Path

from pyinfra_mesos.deploy.file_set import DIRECTORY, FileSetState, FileState


def _state(path: Path) -> FileState:
    st = path.stat()
    return FileState(hashlib.sha256(path.read_bytes()).hexdigest(), f"{st.st_mode & 0o7777:o}",
                     pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name)


def test_every_kind_of_path_reads_as_the_files_say(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("hello\n")
    private = tmp_path / "with space"
    private.write_bytes(b"secret")
    os.chmod(private, 0o600)
    many = [tmp_path / f"f{i}" for i in range(12)]
    for i, path in enumerate(many):
        path.write_text(f"content {i}\n")
    link = tmp_path / "link"
    link.symlink_to(plain)
    directory = tmp_path / "dir"
    directory.mkdir(mode=0o750)
    os.chmod(directory, 0o750)
    missing = tmp_path / "missing"
    paths = (plain, private, *many, link, missing)
    no_dir = tmp_path / "no-dir"
    dirs = (directory, link, no_dir)
    fact = FileSetState()
    command = fact.command(tuple(map(str, paths)), tuple(map(str, dirs))).get_raw_value()
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and not out.stderr, out.stderr
    got = fact.process(out.stdout.splitlines())
    assert got == {
        **{str(p): _state(p) for p in (plain, private, *many)},
        str(link): None,
        str(missing): None,
        str(no_dir): None,
        str(directory): FileState(DIRECTORY, "750", _state(plain).user, _state(plain).group),
    }
    # A directory asked as a file is not one.
    files_only = fact.process(subprocess.run(
        ["sh", "-c", fact.command((str(directory),)).get_raw_value()],
        capture_output=True, text=True, timeout=30).stdout.splitlines())
    assert files_only == {str(directory): None}


def test_no_regular_file_runs_no_program(tmp_path: Path) -> None:
    fact = FileSetState()
    command = fact.command((str(tmp_path / "a"), str(tmp_path / "b"))).get_raw_value()
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)
    assert out.stdout.splitlines() == [f"missing - - - {tmp_path / 'a'}",
                                       f"missing - - - {tmp_path / 'b'}"]


def test_a_path_sha256sum_would_escape_is_refused() -> None:
    import pytest

    for path in ("/etc/a\\b", "/etc/a\nb"):
        with pytest.raises(ValueError, match="backslash or a newline"):
            FileSetState().command((path,))
