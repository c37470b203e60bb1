"""sandbox/docker_repack.py: the second docker.io build the e2e tier moves to and back from."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pyinfra_mesos.dpkg import pin_admits
from sandbox.docker_repack import second_docker_build, standin_version, with_version

REAL = "20.10.24+dfsg1-1+deb12u1+b6"  # bookworm's docker.io


def dpkg_lower(a: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0


@pytest.mark.parametrize("real", [REAL, "1:2.0-3", "26.1.5+dfsg1-9+b1", "5.0-1~bpo12+1"])
def test_the_second_build_sorts_lower_and_each_pin_admits_one_build_only(real: str) -> None:
    second = standin_version(real)
    # Lower: a host without a pin keeps the mirror's build (dpkg's own comparison).
    assert dpkg_lower(second, real), (second, real)
    # `Pin: version <v>*` for either admits that one alone (apt's prefix match).
    assert pin_admits(second, second) and not pin_admits(real, second)
    assert pin_admits(real, real) and not pin_admits(second, real)


def test_the_mark_goes_before_the_debian_revision() -> None:
    assert standin_version(REAL) == "20.10.24+dfsg1~standin1-1+deb12u1+b6"
    assert standin_version("1:2.0-3") == "1:2.0~standin1-3"


@pytest.mark.parametrize("native", ["2.0", "-3", "2.0-"])
def test_a_version_without_a_debian_revision_is_refused(native: str) -> None:
    with pytest.raises(ValueError, match="no Debian revision"):
        standin_version(native)


def test_with_version_changes_the_version_field_only() -> None:
    control = "Package: docker.io\nVersion: 1.0-1\nDepends: runc (>= 1.0-1)\n"
    assert with_version(control, "1.0~standin1-1") == (
        "Package: docker.io\nVersion: 1.0~standin1-1\nDepends: runc (>= 1.0-1)\n")
    with pytest.raises(ValueError, match="no Version"):
        with_version("Package: x\n", "1")


def _deb(root: Path, dest: Path, version: str) -> None:
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text(
        f"Package: docker.io\nVersion: {version}\nArchitecture: amd64\n"
        "Maintainer: test <test@example.invalid>\nDescription: test\n")
    (root / "DEBIAN/postinst").write_text("#!/bin/sh\nexit 0\n")
    (root / "DEBIAN/postinst").chmod(0o755)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/dockerd").write_bytes(b"\x7fELF not really\n")
    (root / "usr/bin/dockerd").chmod(0o755)
    subprocess.run(["dpkg-deb", "--build", str(root), str(dest)], check=True,
                   capture_output=True)


def _listing(deb: Path) -> list[str]:
    """dpkg-deb -c without the mtimes: mode, owner, size, path."""
    lines = subprocess.run(["dpkg-deb", "-c", str(deb)], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    return [" ".join(line.split()[:3] + line.split()[5:]) for line in lines]


def _field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_second_build_is_the_mirrors_deb_under_the_new_version(tmp_path: Path) -> None:
    # The mirror's .deb is already in work/source: nothing is downloaded.
    (tmp_path / "work/source").mkdir(parents=True)
    source = tmp_path / "work/source/docker.io_1.0-1_amd64.deb"
    _deb(tmp_path / "pkg", source, "1.0-1")
    built = second_docker_build(tmp_path / "work")
    assert built.name == "docker.io_1.0~standin1-1_amd64.deb"
    assert _field(built, "Version") == "1.0~standin1-1"
    assert _field(built, "Package") == "docker.io" and _field(built, "Architecture") == "amd64"
    assert _listing(built) == _listing(source)
    scripts = tmp_path / "scripts"
    subprocess.run(["dpkg-deb", "-e", str(built), str(scripts)], check=True)
    assert (scripts / "postinst").read_text() == "#!/bin/sh\nexit 0\n"
    # Kept: a second call builds nothing.
    mtime = built.stat().st_mtime_ns
    assert second_docker_build(tmp_path / "work") == built
    assert built.stat().st_mtime_ns == mtime
