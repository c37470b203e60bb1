"""The aventer-mesos key check, run for real: gpg-made keys (one already expired, made with
gpg's --faked-system-time) against the exact shell command the deploy runs after a download."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pyinfra_mesos.mesos_package import key_check_command

URL = "https://keys.example.org/mesos.asc"


def make_key(home: Path, out: Path, *, faked_time: str | None, expire: str) -> str:
    """Generate a key in `home`, export it armored to `out`; returns its fingerprint."""
    home.mkdir(mode=0o700)
    base = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback",
            "--passphrase", ""]
    if faked_time:
        base += ["--faked-system-time", faked_time]
    subprocess.run(base + ["--quick-gen-key", "Test <t@example.org>", "ed25519", "sign",
                           expire], check=True, capture_output=True)
    listing = subprocess.run(["gpg", "--homedir", str(home), "--with-colons", "--list-keys"],
                             check=True, capture_output=True, text=True).stdout
    fingerprint = next(line.split(":")[9] for line in listing.splitlines()
                       if line.startswith("fpr:"))
    exported = subprocess.run(["gpg", "--homedir", str(home), "--armor", "--export"],
                              check=True, capture_output=True).stdout
    out.write_bytes(exported)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)
    return fingerprint


def sources_of(keyring: Path) -> Path:
    return keyring.parent / "aventer-mesos.list"


def run_check(keyring: Path, expected: str) -> subprocess.CompletedProcess[str]:
    """The check on `keyring`, its sources line (written first) beside it."""
    env = {**os.environ, "GNUPGHOME": str(keyring.parent / "check-home")}
    (keyring.parent / "check-home").mkdir(mode=0o700, exist_ok=True)
    sources_of(keyring).write_text(f"deb [signed-by={keyring}] https://repo.example.org/ x main\n")
    return subprocess.run(["sh", "-c", key_check_command(URL, expected, str(keyring),
                                                         str(sources_of(keyring)))],
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def gpg() -> None:
    if shutil.which("gpg") is None:
        pytest.fail("gpg is not installed: `make setup` installs gnupg")


def test_an_expired_key_is_refused_with_one_line_and_removed(tmp_path: Path, gpg: None) -> None:
    keyring = tmp_path / "key.asc"
    make_key(tmp_path / "home", keyring, faked_time="20200101T000000", expire="1y")
    result = run_check(keyring, "")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "expired on 2020-12-3" in lines[0], result.stderr
    assert URL in lines[0] and "mesos_apt_key_url" in lines[0]
    # The sources line goes with it: no apt-get update on the host fails on a keyless repository.
    assert not keyring.exists() and not sources_of(keyring).exists()


def test_a_current_key_with_the_right_fingerprint_passes(tmp_path: Path, gpg: None) -> None:
    keyring = tmp_path / "key.asc"
    fingerprint = make_key(tmp_path / "home", keyring, faked_time=None, expire="2y")
    assert run_check(keyring, fingerprint).returncode == 0
    assert run_check(keyring, "").returncode == 0
    assert keyring.exists() and sources_of(keyring).exists()


def test_a_key_with_another_fingerprint_is_refused(tmp_path: Path, gpg: None) -> None:
    keyring = tmp_path / "key.asc"
    make_key(tmp_path / "home", keyring, faked_time=None, expire="never")
    result = run_check(keyring, "AAAA" * 10)
    assert result.returncode == 1 and "mesos_apt_key_fingerprint" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not keyring.exists() and not sources_of(keyring).exists()


@pytest.mark.parametrize("expected", ["", "AAAA" * 10])
def test_a_file_that_holds_no_key_is_refused_with_or_without_a_fingerprint(
        tmp_path: Path, gpg: None, expected: str) -> None:
    """A proxy's error page saved as the key: refused even when no fingerprint is set."""
    keyring = tmp_path / "key.asc"
    keyring.write_text("<html>502 Bad Gateway</html>\n")
    result = run_check(keyring, expected)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds no OpenPGP key" in lines[0] and URL in lines[0]
    assert not keyring.exists() and not sources_of(keyring).exists()
