"""deploy/apt_key.py: the key file's state in one read, and when it is downloaded again."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pyinfra_mesos.deploy.apt_key import AptKeyState, KeyState, key_is_current

NOW = 1_800_000_000.0
FPR = "0123456789ABCDEF0123456789ABCDEF01234567"


def test_the_output_of_gpg_becomes_the_key_state() -> None:
    fact = AptKeyState()
    assert fact.process([]) is None  # no file
    assert fact.process(["present"]) == KeyState(None, None, False)  # no gpg yet
    assert fact.process(["present", "gpg", f"pub:{int(NOW) + 10}", f"fpr:{FPR.lower()}"]) == (
        KeyState(FPR, int(NOW) + 10, True))
    assert fact.process(["present", "gpg", "pub:", f"fpr:{FPR}"]) == KeyState(FPR, 0, True)
    assert fact.process(["present", "gpg"]) == KeyState(None, None, True)  # no key in it


def test_a_key_is_kept_only_when_present_readable_matching_and_unexpired() -> None:
    assert not key_is_current(None, FPR, NOW)
    assert key_is_current(KeyState(FPR, 0, True), FPR, NOW)
    assert key_is_current(KeyState(FPR, int(NOW) + 1, True), "", NOW)
    assert not key_is_current(KeyState(FPR, int(NOW), True), FPR, NOW)  # expired
    assert not key_is_current(KeyState("F" * 40, 0, True), FPR, NOW)  # another key
    # gpg read no key from the file (a run killed between the download and its check left a
    # proxy's error page): fetched and checked again.
    assert not key_is_current(KeyState(None, None, True), FPR, NOW)
    assert not key_is_current(KeyState(None, None, True), "", NOW)
    # No gpg yet to read it: kept until gpg can tell (gnupg comes with the key's tools).
    assert key_is_current(KeyState(None, None, False), FPR, NOW)


def test_the_command_run_for_real_reads_no_key_from_a_page_that_is_not_one(
        tmp_path: Path) -> None:
    if shutil.which("gpg") is None:
        pytest.fail("gpg is needed on this machine for this test (apt-get install gnupg)")
    page = tmp_path / "aventer-mesos.asc"
    page.write_text("<html>502 Bad Gateway</html>\n")
    command = AptKeyState().command(str(page)).get_raw_value()
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30,
                         check=True)
    state = AptKeyState().process(out.stdout.splitlines())
    assert state == KeyState(None, None, True)
    assert not key_is_current(state, "", NOW)
