"""build_repo produces an aventer-mesos .deb and a signed apt repository that real apt accepts."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.mesos import build_repo
from tests.standins.mesos.testing import REPO, Proc, free_ports, get, wait_for

DEB = build_repo.POOL / build_repo.DEB_NAME
WRONG_KEY = Path("/usr/share/keyrings/debian-archive-keyring.gpg")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("standin-repo") / "repo"
    proc = subprocess.run([sys.executable, "-m", "tests.standins.mesos.build_repo", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def served(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    (port,) = free_ports(1)
    log = tmp_path_factory.mktemp("http") / "http.log"
    with open(log, "wb") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
             "--directory", str(repo)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Proc(popen, log)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for("http.server", lambda: get(url + "repo.json")[0] == 200, 10)
        yield url
    finally:
        server.stop()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_layout_and_package_fields(repo: Path) -> None:
    info = json.loads((repo / "repo.json").read_text())
    assert info["suite"] == "bookworm" and info["component"] == "main"
    assert info["package"] == "aventer-mesos" and info["version"] == build_repo.VERSION
    assert len(info["fingerprint"]) == 40 and int(info["fingerprint"], 16) >= 0
    for arch in ("all", "amd64"):
        assert "Package: aventer-mesos" in (
            repo / f"dists/bookworm/main/binary-{arch}/Packages"
        ).read_text()  # fmt: skip
    release = (repo / "dists/bookworm/Release").read_text()
    assert "SHA256:" in release and "main/binary-amd64/Packages" in release
    assert "BEGIN PGP SIGNED MESSAGE" in (repo / "dists/bookworm/InRelease").read_text()
    assert (repo / "dists/bookworm/Release.gpg").exists()
    assert "BEGIN PGP PUBLIC KEY BLOCK" in (repo / "key.asc").read_text()
    deb = str(repo / DEB)
    fields = subprocess.run(["dpkg-deb", "-f", deb], capture_output=True, text=True).stdout
    assert "Depends: python3 (>= 3.9), python3-kazoo\n" in fields
    assert "STAND-IN" in fields
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True).stdout
    for path in ("./usr/bin/mesos-master", "./usr/bin/mesos-agent", "./usr/bin/mesos-init-wrapper",
                 "./lib/systemd/system/mesos-master.service",
                 "./lib/systemd/system/mesos-agent.service",
                 "./usr/share/mesos-standin/mesos-1.11-master-flags.tsv",
                 "./usr/share/mesos-standin/mesos-1.11-agent-flags.tsv"):  # fmt: skip
        assert path in files
    assert "mesos-slave" not in files
    unit = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True).stdout
    assert unit  # the data archive is readable


def test_package_ships_no_config_and_no_maintainer_scripts(repo: Path, tmp_path: Path) -> None:
    """Like aventer-mesos: no /etc/default/mesos*, no /etc/mesos/zk (nothing under /etc at all),
    no conffiles and no maintainer scripts, so nothing is enabled or started on install."""
    deb = str(repo / DEB)
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True).stdout
    paths = [line.split()[-1] for line in files.splitlines()]
    assert paths and not [p for p in paths if p.startswith("./etc")], paths
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", deb, str(control)], check=True, timeout=30)
    assert sorted(p.name for p in control.iterdir()) == ["control", "md5sums"]


def _service_section(text: str) -> list[str]:
    body = text.split("[Service]\n", 1)[1].split("\n[", 1)[0]
    return sorted(line for line in body.splitlines() if line.strip())


def test_units_match_the_real_package() -> None:
    """The [Service] lines of clusterd support/packaging/common/mesos-*.service.in (RUN_PATH
    /usr): LimitNOFILE=16384 on both; accounting and Delegate only on the agent."""
    pkg = Path(build_repo.__file__).parent / "package"
    agent = (pkg / "mesos-agent.service").read_text()
    master = (pkg / "mesos-master.service").read_text()
    assert _service_section(agent) == sorted([
        "ExecStart=/usr/bin/mesos-init-wrapper agent", "KillMode=process", "Restart=always",
        "RestartSec=20", "LimitNOFILE=16384", "CPUAccounting=true", "MemoryAccounting=true",
        "Delegate=true"])  # fmt: skip
    assert _service_section(master) == sorted([
        "ExecStart=/usr/bin/mesos-init-wrapper master", "Restart=always", "RestartSec=20",
        "LimitNOFILE=16384"])  # fmt: skip
    for unit in (agent, master):
        assert "WantedBy=multi-user.target" in unit and "After=network.target" in unit


def test_second_run_changes_nothing_and_deb_is_deterministic(repo: Path) -> None:
    watched = [repo / DEB, repo / "dists/bookworm/InRelease", repo / "key.asc", repo / "repo.json"]
    before = {p: (p.stat().st_mtime_ns, _sha(p)) for p in watched}
    try:
        assert build_repo.build(repo) is False
    finally:
        build_repo.stop_gpg_agent(repo.parent / "gnupg")
    assert {p: (p.stat().st_mtime_ns, _sha(p)) for p in watched} == before
    # Rebuilding the .deb from the same sources gives the same bytes (fixed mtimes, owners).
    fresh = repo.parent / "rebuilt.deb"
    build_repo.build_deb(build_repo.package_files(), fresh)
    assert _sha(fresh) == _sha(repo / DEB)


def _apt(tmp: Path, url: str, key: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    for d in ("lists/partial", "cache/archives/partial", "etc"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    (tmp / "status").touch()
    sources = tmp / "etc/sources.list"
    sources.write_text(f"deb [signed-by={key}] {url} bookworm main\n")
    opts = [
        f"-oDir::Etc::sourcelist={sources}", "-oDir::Etc::sourceparts=/nonexistent",
        f"-oDir::State::Lists={tmp}/lists", f"-oDir::Cache={tmp}/cache",
        f"-oDir::State::status={tmp}/status", "-oDebug::NoLocking=1",
        "-oAPT::Sandbox::User=root", "-oAcquire::http::Proxy=DIRECT",
    ]  # fmt: skip
    return subprocess.run([cmd[0], *opts, *cmd[1:]], capture_output=True, text=True, timeout=60)


def test_real_apt_accepts_the_repository(repo: Path, served: str, tmp_path: Path) -> None:
    update = _apt(tmp_path, served, repo / "key.asc", "apt-get", "update")
    assert update.returncode == 0, update.stdout + update.stderr
    assert "W:" not in update.stderr and "E:" not in update.stderr
    policy = _apt(tmp_path, served, repo / "key.asc", "apt-cache", "policy", "aventer-mesos")
    # Both builds are offered; without a pin apt takes the newest (the deploy always pins).
    assert f"Candidate: {build_repo.UPGRADE.version}" in policy.stdout
    for build in build_repo.BUILDS:
        assert f" {build.version} 500" in policy.stdout, policy.stdout


def test_real_apt_rejects_a_wrong_key(served: str, tmp_path: Path) -> None:
    update = _apt(tmp_path, served, WRONG_KEY, "apt-get", "update")
    assert update.returncode != 0
    assert "NO_PUBKEY" in update.stderr or "not signed" in update.stderr


def _extra_deb(tmp: Path, version: str) -> Path:
    """A small amd64 .deb, as the sandbox's second docker.io is (sandbox/docker_repack.py)."""
    root = tmp / f"extra-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text(
        f"Package: standin-extra\nVersion: {version}\nArchitecture: amd64\n"
        "Maintainer: test <test@example.invalid>\nDescription: an extra package\n")
    deb = tmp / f"standin-extra_{version}_amd64.deb"
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb


def test_an_extra_deb_is_served_for_its_architecture_and_leaves_when_dropped(
        tmp_path: Path) -> None:
    out = tmp_path / "repo"
    deb = _extra_deb(tmp_path, "1.0~standin1-1")
    try:
        assert build_repo.build(out, (deb,)) is True
        amd64 = (out / "dists/bookworm/main/binary-amd64/Packages").read_text()
        every = (out / "dists/bookworm/main/binary-all/Packages").read_text()
        # binary-amd64 lists both packages, binary-all the Architecture: all one only.
        assert "Package: standin-extra" in amd64 and "Package: aventer-mesos" in amd64
        assert "standin-extra" not in every and "Package: aventer-mesos" in every
        assert f"Filename: {build_repo.EXTRA_POOL}/{deb.name}" in amd64
        info = json.loads((out / "repo.json").read_text())
        assert info["extra"] == {deb.name: "1.0~standin1-1"}
        assert build_repo.build(out, (deb,)) is False  # unchanged inputs: nothing rebuilt
        assert build_repo.build(out) is True  # dropped: out of the pool and the index
        assert not list((out / build_repo.EXTRA_POOL).glob("*.deb"))
        assert "standin-extra" not in (out / "dists/bookworm/main/binary-amd64/Packages"
                                       ).read_text()
    finally:
        build_repo.stop_gpg_agent(out.parent / "gnupg")
