"""A second docker.io version for the sandbox, so a `docker_version` move can run (issue 12).

The Debian mirror these machines use offers one docker.io. A package move needs two versions,
so this makes a second: the mirror's own .deb (fetched with `apt-get download`, from the
machine's apt sources), its control file's Version changed and nothing else. Its programs and
maintainer scripts are the real package's, so a move to it and back runs Debian's own
prerm/postinst, which is what the deploy relies on (a move does not restart a running dockerd).
The stand-in apt repository (tests/standins/mesos/build_repo.py) serves it beside aventer-mesos.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from sandbox.proc import CommandFailed, run, say

PACKAGE = "docker.io"
STANDIN_MARK = "~standin1"


def standin_version(real: str) -> str:
    """The second build's Debian version for the mirror's `real` one, e.g.
    "20.10.24+dfsg1-1+deb12u1+b6" -> "20.10.24+dfsg1~standin1-1+deb12u1+b6".

    The mark goes at the end of the upstream version, before the Debian revision: `~` sorts
    before the end of a string (deb-version(7)), so the build is lower than `real` (a host
    without a pin keeps taking the mirror's), and neither version is a prefix of the other, so
    each `Pin: version <v>*` admits one of them only. Raises ValueError for a version without
    a Debian revision (a native package: there is no place for the mark that keeps both rules).
    """
    upstream, dash, revision = real.rpartition("-")
    if not dash or not upstream or not revision:
        raise ValueError(f"{real!r} has no Debian revision (deb-version(7))")
    return f"{upstream}{STANDIN_MARK}-{revision}"


def with_version(control: str, version: str) -> str:
    """`control` (a DEBIAN/control text) with its Version field set to `version`; ValueError
    when it has none."""
    new, count = re.subn(r"^Version: .*$", f"Version: {version}", control, count=1, flags=re.M)
    if not count:
        raise ValueError("the control file has no Version field")
    return new


def deb_field(deb: Path, field: str) -> str:
    return run(["dpkg-deb", "-f", str(deb), field]).stdout.decode().strip()


def second_docker_build(work: Path) -> Path:
    """The .deb of docker.io at standin_version(the mirror's), built under `work` once and
    kept there (`work`/source holds the mirror's .deb); returns its path.
    Raises CommandFailed when apt-get or dpkg-deb fails."""
    source_dir = work / "source"
    source_dir.mkdir(parents=True, exist_ok=True)
    sources = sorted(source_dir.glob(f"{PACKAGE}_*.deb"))
    if not sources:
        say(f"   apt-get download {PACKAGE} (the mirror's build, to make a second version of)")
        run(["apt-get", "download", PACKAGE], cwd=str(source_dir), timeout=600)
        sources = sorted(source_dir.glob(f"{PACKAGE}_*.deb"))
        if not sources:
            raise CommandFailed(f"apt-get download {PACKAGE} left no .deb in {source_dir}")
    source = sources[-1]
    version = standin_version(deb_field(source, "Version"))
    arch = deb_field(source, "Architecture")
    dest = work / f"{PACKAGE}_{version.replace(':', '%3a')}_{arch}.deb"
    if dest.is_file():
        return dest
    say(f"   {PACKAGE} {version}: the mirror's .deb under a second version")
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        root = Path(tmp) / "root"
        run(["dpkg-deb", "-R", str(source), str(root)], timeout=300)
        control = root / "DEBIAN" / "control"
        control.write_text(with_version(control.read_text(), version))
        # gzip -1: this .deb only crosses the sandbox bridge, and xz would take a minute here.
        built = Path(tmp) / dest.name
        run(["dpkg-deb", "-Zgzip", "-z1", "--build", str(root),
             str(built)], timeout=300)
        built.replace(dest)
    return dest
