"""Which Marathon build the stand-in image reports, as real Marathon reads it from its jar's
manifest (d2iq-archive/marathon v1.10.26 BuildInfo.scala, SemVer.scala, api/v2/InfoResource.scala:
`/v2/info` `version` and `buildref`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox import config, sources
from tests.standins.marathon.marathon_standin import info

CONTEXT = Path(info.__file__).resolve().parents[1]
MANIFESTS = CONTEXT / "manifests"
# The commit of each release tag (d2iq-archive/marathon).
TAGS = {"1.10.26": "0513cddcac83bd4082d48098d489e69686695998",
        "1.10.17": "c427ce965a92aeab6734ccfa666766db5fabbc42"}


@pytest.mark.parametrize("release", sorted(TAGS))
def test_each_release_manifest_reads_as_marathon_reads_it(release: str) -> None:
    assert info.read_manifest(MANIFESTS / f"{release}.MF") == (release, TAGS[release])


def test_without_manifest_marathon_reports_its_default_build(tmp_path: Path) -> None:
    assert info.read_manifest(tmp_path / "absent.MF") == ("1.10.0-SNAPSHOT", "unknown")
    snapshot = tmp_path / "MANIFEST.MF"
    snapshot.write_text("Implementation-Version: 0.1-SNAPSHOT\n")
    assert info.read_manifest(snapshot) == ("1.10.0-SNAPSHOT", "unknown")
    commit = tmp_path / "commit.MF"
    commit.write_text("Implementation-Version: v1.10.17-c427ce965\nGit-Commit: c427ce965\n")
    assert info.read_manifest(commit) == ("1.10.17-c427ce965", "c427ce965")


def test_an_unparsable_version_fails_like_semver(tmp_path: Path) -> None:
    path = tmp_path / "MANIFEST.MF"
    path.write_text("Implementation-Version: 1.10\n")
    with pytest.raises(ValueError, match="Could not parse version 1.10"):
        info.read_manifest(path)


def test_dockerfile_copies_the_manifest_of_the_default_and_the_upgrade_release() -> None:
    text = (CONTEXT / "Dockerfile").read_text()
    default = re.search(r"^ARG MARATHON_VERSION=(\S+)$", text, re.M)
    assert default and default.group(1) == config.MARATHON_IMAGE.rsplit(":", 1)[1] == "1.10.26"
    assert "COPY manifests/${MARATHON_VERSION}.MF /marathon/META-INF/MANIFEST.MF" in text
    assert (MANIFESTS / f"{sources.MARATHON_UPGRADE_RELEASE}.MF").is_file()
    assert sources.STANDIN_MARATHON_UPGRADE_IMAGE.endswith(":1.10.17")
    # info.MANIFEST is where that COPY lands, relative to the package in the image.
    assert info.MANIFEST.relative_to(CONTEXT) == Path("META-INF/MANIFEST.MF")
