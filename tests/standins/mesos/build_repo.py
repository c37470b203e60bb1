"""Build the aventer-mesos STAND-IN .debs and a signed apt repository (CONTRACTS.md).

    python -m tests.standins.mesos.build_repo OUT_DIR [EXTRA_DEB ...]

OUT_DIR gets pool/main/a/aventer-mesos/*.deb (one per entry of BUILDS: the pinned default and a
second build to upgrade to and downgrade from), each EXTRA_DEB in pool/main/extra/ (the sandbox's
second docker.io: sandbox/docker_repack.py), dists/bookworm/{InRelease,Release,Release.gpg},
dists/bookworm/main/binary-{all,amd64}/Packages[.gz], key.asc and repo.json; the signing key lives
in OUT_DIR/../gnupg. A second run with unchanged sources changes nothing (same key, same files).

The builds share their programs and differ in the build record each .deb carries
(mesos_standin/build.json): the fields real Mesos compiles in and reports on `/version` and
`/state` (`git_sha`, `git_tag`, `build_date`, `build_time`, `build_user`; apache/mesos 1.11.0
src/common/build.cpp, clusterd cmake/CompilationConfigure.cmake: `git_tag` is `git describe
--exact --tags` of a build from a clone at the tag). `version` stays 1.11.0 for every aventer
build (clusterd CMakeLists.txt: PACKAGE_VERSION is major.minor.patch; MESOS_SUB_VERSION, the
0.7.1 / 0.8.0 part, goes only into the package version).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
PACKAGE = "aventer-mesos"


@dataclass(frozen=True)
class Build:
    """One stand-in build, named after a real aventer-mesos release (m3scluster/clusterd tag
    `git_tag`, commit `git_sha`; `build_time` is that commit's date, seconds since the epoch,
    `build_date` the same in UTC as Mesos prints it)."""

    version: str  # the Debian version; real builds are <1.11.0-0.N.M>.<distro><release>
    git_tag: str
    git_sha: str
    build_date: str
    build_time: float

    @property
    def deb_name(self) -> str:
        return f"{PACKAGE}_{self.version}_all.deb"

    def record(self) -> bytes:
        """mesos_standin/build.json: what the programs of this .deb report (sorted, stable)."""
        fields = {"build_date": self.build_date, "build_time": self.build_time,
                  "build_user": "standin", "git_sha": self.git_sha, "git_tag": self.git_tag}
        return (json.dumps(fields, indent=1, sort_keys=True) + "\n").encode()


# The first is the default that group_data/all.py pins (mesos_version = "1.11.0-0.7.1", the
# first good build: pyinfra_mesos/mesos_package.py); the second the next real release, which
# the e2e upgrade phase moves to and back from (pin `mesos_version = "1.11.0-0.8.0"`).
BUILDS = (
    Build("1.11.0-0.7.1+standin1", "v1.11.0-0.7.1", "26bf5e4d03ffb4e7d9f986683f521729653b3b8f",
          "2025-07-29 15:13:35", 1753802015.0),
    Build("1.11.0-0.8.0+standin1", "v1.11.0-0.8.0", "0c61496adfd49094e3116a785864efad10c8ee1b",
          "2025-09-26 08:45:08", 1758876308.0),
)
DEFAULT, UPGRADE = BUILDS
VERSION = DEFAULT.version  # pinned like the first good aventer-mesos build
SUITE, COMPONENT = "bookworm", "main"
ARCHES = ("all", "amd64")
SOURCE_DATE_EPOCH = 1600000000  # fixed mtimes: the same sources give a byte-identical .deb
DEB_NAME = DEFAULT.deb_name
POOL = Path("pool") / COMPONENT / "a" / PACKAGE
EXTRA_POOL = Path("pool") / COMPONENT / "extra"  # other packages' .debs, copied as given
KEY_NAME = "pyinfra-mesos stand-in apt repository (test sandbox only)"
BUILD_RECORD = "usr/lib/mesos-standin/mesos_standin/build.json"

CONTROL = """\
Package: {package}
Version: {version}
Architecture: all
Maintainer: pyinfra-mesos test sandbox <root@localhost>
Installed-Size: {size}
Depends: python3 (>= 3.9), python3-kazoo
Section: misc
Priority: optional
Description: STAND-IN for Apache Mesos 1.11 (aventer-mesos layout) - NOT Apache Mesos
 Test-sandbox stand-in built by pyinfra-mesos. It keeps the aventer-mesos packaging
 (mesos-master, mesos-agent, mesos-init-wrapper, systemd units) but its programs are
 small Python programs that load Mesos 1.11 flags, elect a leader through ZooKeeper
 and serve the documented HTTP endpoints. Never use it outside the sandbox.
"""

# Like the real aventer-mesos package (m3scluster/clusterd support/packaging, docs/CONTRACTS.md):
# no maintainer scripts (nothing is enabled or started on install), no conffiles, nothing under
# /etc (no /etc/default/mesos*, no /etc/mesos/zk). Only `Depends` differs: the stand-in's
# programs need python3 and kazoo, where real builds up to 1.11.0-0.6.0 declare none.

README = """\
aventer-mesos STAND-IN (pyinfra-mesos test sandbox)

This is NOT Apache Mesos. /usr/bin/mesos-master and /usr/bin/mesos-agent are Python programs
(/usr/lib/mesos-standin/mesos_standin) that keep Mesos 1.11's flags, ZooKeeper leader election
and documented HTTP endpoints so the deploy can be tested where real Mesos cannot be downloaded.
"""


def package_files(build: Build = DEFAULT) -> dict[str, tuple[bytes, int]]:
    """Installed path -> (content, mode) of `build`'s .deb."""
    files: dict[str, tuple[bytes, int]] = {}
    pkg = HERE / "package"
    launcher = (pkg / "launcher.py.in").read_text()
    for program, module in (("mesos-master", "master"), ("mesos-agent", "agent")):
        text = launcher.replace("@PROGRAM@", program).replace("@MODULE@", module)
        files[f"usr/bin/{program}"] = (text.encode(), 0o755)
    files["usr/bin/mesos-init-wrapper"] = ((pkg / "mesos-init-wrapper").read_bytes(), 0o755)
    for unit in ("mesos-master.service", "mesos-agent.service"):
        files[f"lib/systemd/system/{unit}"] = ((pkg / unit).read_bytes(), 0o644)
    for src in sorted((HERE / "mesos_standin").glob("*.py")):
        files[f"usr/lib/mesos-standin/mesos_standin/{src.name}"] = (src.read_bytes(), 0o644)
    for kind in ("master", "agent"):
        name = f"mesos-1.11-{kind}-flags.tsv"
        data = (REPO_ROOT / "pyinfra_mesos" / "data" / name).read_bytes()
        files[f"usr/share/mesos-standin/{name}"] = (data, 0o644)
    files[f"usr/share/doc/{PACKAGE}/README.standin"] = (README.encode(), 0o644)
    files[BUILD_RECORD] = (build.record(), 0o644)
    return files


def control(build: Build, size_kb: int) -> str:
    return CONTROL.format(package=PACKAGE, version=build.version, size=size_kb)


def inputs_digest(builds: tuple[Build, ...] = BUILDS) -> str:
    """sha256 over every build's files and control text: the repository's whole input."""
    h = hashlib.sha256()
    for build in builds:
        files = package_files(build)
        for path in sorted(files):
            content, mode = files[path]
            h.update(f"{path}\0{mode:o}\0{len(content)}\0".encode())
            h.update(content)
        h.update(control(build, 0).encode())
    return h.hexdigest()


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, check=True, capture_output=True, **kw)  # type: ignore[call-overload]


def build_deb(files: dict[str, tuple[bytes, int]], dest: Path, build: Build = DEFAULT) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        for path, (content, mode) in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            target.chmod(mode)
        debian = root / "DEBIAN"
        debian.mkdir()
        size_kb = sum((len(c) + 1023) // 1024 for c, _ in files.values())
        (debian / "control").write_text(control(build, size_kb))
        md5 = "".join(f"{hashlib.md5(c).hexdigest()}  {p}\n" for p, (c, _) in sorted(files.items()))
        (debian / "md5sums").write_text(md5)
        for p in [root, *root.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
            os.utime(p, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH), follow_symlinks=False)
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(SOURCE_DATE_EPOCH))
        out = Path(tmp) / dest.name
        run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(out)], env=env)
        if not dest.exists() or dest.read_bytes() != out.read_bytes():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out, dest)


def gpg(gnupg: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return run(["gpg", "--batch", "--homedir", str(gnupg), *args], **kw)


def ensure_key(gnupg: Path) -> str:
    """The fingerprint of the repository key, generated once into `gnupg`."""
    gnupg.mkdir(mode=0o700, parents=True, exist_ok=True)
    gnupg.chmod(0o700)
    fpr = fingerprint(gnupg)
    if fpr is None:
        params = (
            "%no-protection\nKey-Type: RSA\nKey-Length: 3072\nKey-Usage: sign\n"
            f"Name-Real: {KEY_NAME}\nExpire-Date: 0\n%commit\n"
        )
        gpg(gnupg, "--gen-key", input=params.encode())
        fpr = fingerprint(gnupg)
    if fpr is None:
        raise RuntimeError(f"no signing key in {gnupg} after generating one")
    return fpr


def fingerprint(gnupg: Path) -> str | None:
    out = gpg(gnupg, "--with-colons", "--list-secret-keys").stdout.decode()
    for line in out.splitlines():
        if line.startswith("fpr:"):
            return line.split(":")[9]
    return None


def write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def sorted_stanzas(packages: bytes) -> bytes:
    """apt-ftparchive's Packages text with its stanzas in file-name order: it lists them in
    directory order, which two builds of the same pool need not share."""
    stanzas = [s.strip(b"\n") for s in packages.split(b"\n\n") if s.strip()]

    def filename(stanza: bytes) -> bytes:
        return next((line for line in stanza.splitlines() if line.startswith(b"Filename: ")),
                    b"")

    return b"".join(s + b"\n\n" for s in sorted(stanzas, key=filename))


def for_arch(packages: bytes, arch: str) -> bytes:
    """The stanzas of `packages` that binary-`arch` lists: Debian's binary-amd64 lists its
    `Architecture: all` packages too, binary-all only those."""
    if arch != "all":
        return packages
    stanzas = [s for s in packages.split(b"\n\n") if s.strip()]
    return b"".join(s + b"\n\n" for s in stanzas if b"\nArchitecture: all\n" in s + b"\n")


def build_indexes(out: Path) -> None:
    pool = Path("pool")
    packages = sorted_stanzas(run(["apt-ftparchive", "packages", str(pool)], cwd=out).stdout)
    for arch in ARCHES:
        d = out / "dists" / SUITE / COMPONENT / f"binary-{arch}"
        listed = for_arch(packages, arch)
        write_if_changed(d / "Packages", listed)
        write_if_changed(d / "Packages.gz", gzip.compress(listed, mtime=0))
    opts = {
        "Origin": "pyinfra-mesos-standin", "Label": "aventer-mesos STAND-IN",
        "Suite": SUITE, "Codename": SUITE, "Components": COMPONENT,
        "Architectures": " ".join(ARCHES),
        "Description": "STAND-IN aventer-mesos repository (pyinfra-mesos test sandbox)",
    }  # fmt: skip
    args = [f"-oAPT::FTPArchive::Release::{k}={v}" for k, v in opts.items()]
    dist = out / "dists" / SUITE
    for stale in ("Release", "InRelease", "Release.gpg"):
        (dist / stale).unlink(missing_ok=True)  # never hash an old Release into the new one
    release = run(["apt-ftparchive", *args, "release", str(dist)]).stdout
    (dist / "Release").write_bytes(release)


def sign(out: Path, gnupg: Path, fpr: str) -> None:
    dist = out / "dists" / SUITE
    common = ["--yes", "--local-user", fpr, "--digest-algo", "SHA512"]
    gpg(gnupg, *common, "--clearsign", "-o", str(dist / "InRelease"), str(dist / "Release"))
    gpg(gnupg, *common, "--armor", "--detach-sign", "-o", str(dist / "Release.gpg"),
        str(dist / "Release"))  # fmt: skip


def file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def build(out: Path, extra_debs: tuple[Path, ...] = ()) -> bool:
    """Build or refresh the repository, with `extra_debs` (.deb files) in EXTRA_POOL; returns
    False when everything was up to date."""
    out = out.resolve()
    gnupg = out.parent / "gnupg"
    digest = inputs_digest() + "".join(f" {deb.name}:{file_digest(deb)}" for deb in extra_debs)
    stamp = out / ".standin-inputs"
    fpr = ensure_key(gnupg)
    outputs = [
        *(out / POOL / build.deb_name for build in BUILDS),
        *(out / EXTRA_POOL / deb.name for deb in extra_debs),
        out / "dists" / SUITE / "InRelease",
        out / "dists" / SUITE / "Release.gpg",
        out / "key.asc",
        out / "repo.json",
    ]
    stamp_text = f"{digest} {fpr}\n"
    if stamp.exists() and stamp.read_text() == stamp_text and all(p.exists() for p in outputs):
        return False
    out.mkdir(parents=True, exist_ok=True)
    for build in BUILDS:
        build_deb(package_files(build), out / POOL / build.deb_name, build)
    wanted = {build.deb_name for build in BUILDS}
    for deb in extra_debs:
        (out / EXTRA_POOL).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(deb, out / EXTRA_POOL / deb.name)
    wanted |= {deb.name for deb in extra_debs}
    for old in [*(out / POOL).glob("*.deb"), *(out / EXTRA_POOL).glob("*.deb")]:
        if old.name not in wanted:
            old.unlink()  # a build no longer listed leaves the pool and the index
    build_indexes(out)
    sign(out, gnupg, fpr)
    write_if_changed(out / "key.asc", gpg(gnupg, "--armor", "--export", fpr).stdout)
    repo = {"suite": SUITE, "component": COMPONENT, "package": PACKAGE, "version": VERSION,
            "versions": [build.version for build in BUILDS], "fingerprint": fpr,
            "extra": {deb.name: deb_version(deb) for deb in extra_debs}}  # fmt: skip
    write_if_changed(out / "repo.json", (json.dumps(repo, indent=2) + "\n").encode())
    stamp.write_text(stamp_text)
    return True


def deb_version(deb: Path) -> str:
    return run(["dpkg-deb", "-f", str(deb), "Version"]).stdout.decode().strip()


def stop_gpg_agent(gnupg: Path) -> None:
    """gpg starts an agent for the homedir; stop it so no process outlives the build."""
    subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "gpg-agent"],
                   capture_output=True, check=False)  # fmt: skip


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tests.standins.mesos.build_repo OUT_DIR [EXTRA_DEB ...]",
              file=sys.stderr)
        return 2
    out, extra = Path(argv[0]), tuple(Path(arg).resolve() for arg in argv[1:])
    try:
        changed = build(out, extra)
    except subprocess.CalledProcessError as exc:
        print(f"build_repo: {' '.join(exc.cmd)} failed:\n{exc.stderr.decode()}", file=sys.stderr)
        return 1
    finally:
        stop_gpg_agent(out.resolve().parent / "gnupg")
    versions = ", ".join([*(build.version for build in BUILDS), *(deb.name for deb in extra)])
    state = "built" if changed else "up to date"
    print(f"{state}: {out.resolve()} (STAND-IN {PACKAGE} {versions})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
