"""Reading the mirror from apt sources, one-line and deb822 (pure; fake host names only)."""

from pathlib import Path

import pytest

from sandbox.mirror import (
    MirrorNotFound,
    find_mirror,
    mirror_host,
    parse_deb822,
    parse_one_line,
    pick_mirror,
    point_release_lines,
)

DEB822 = """\
# a comment
Types: deb deb-src
URIs: http://mirror.example.org/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main
"""

ONE_LINE = """\
# deb http://commented.example.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://one.example.org/debian bookworm main
deb-src http://src.example.org/debian bookworm main
"""


def test_deb822_first_matching_suite_wins() -> None:
    assert pick_mirror(parse_deb822(DEB822), "bookworm") == "http://mirror.example.org/debian"


def test_deb822_disabled_and_multiline_fields() -> None:
    text = (
        "Types: deb\nURIs: http://off.example.org/debian\nSuites: bookworm\n"
        "Components: main\nEnabled: no\n\n"
        "Types: deb\nURIs: http://on.example.org/debian\nSuites: bookworm\nComponents: main\n"
        "Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n"
    )
    sources = parse_deb822(text)
    assert [s.enabled for s in sources] == [False, True]
    assert pick_mirror(sources, "bookworm") == "http://on.example.org/debian"


def test_one_line_with_bracketed_options_and_comments() -> None:
    sources = parse_one_line(ONE_LINE)
    assert [s.types for s in sources] == [["deb"], ["deb-src"]]
    assert pick_mirror(sources, "bookworm") == "http://one.example.org/debian"


def test_only_the_exact_suite_counts() -> None:
    sources = parse_one_line("deb http://sec.example.org/debian-security bookworm-security main\n")
    with pytest.raises(MirrorNotFound):
        pick_mirror(sources, "bookworm")


def test_mirror_host() -> None:
    assert mirror_host("http://mirror.example.org:8080/debian") == "mirror.example.org"


def test_find_mirror_reads_list_and_sources_files(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("# nothing here\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    # files apt ignores (wrong suffix) are ignored here too
    (tmp_path / "sources.list.d" / "aaa.list.disabled").write_text(
        "deb http://ignored.example.org/debian bookworm main\n"
    )
    assert find_mirror("bookworm", tmp_path) == "http://mirror.example.org/debian"


def test_no_sources_at_all(tmp_path: Path) -> None:
    with pytest.raises(MirrorNotFound):
        find_mirror("bookworm", tmp_path)


def test_point_release_suites_come_from_the_mirror_host_only() -> None:
    same_host = DEB822.replace("security.example.org", "mirror.example.org")
    assert point_release_lines(parse_deb822(same_host), "bookworm",
                               "http://mirror.example.org/debian") == [
        "deb http://mirror.example.org/debian bookworm-updates main",
        "deb http://mirror.example.org/debian-security bookworm-security main"]
    # Another host would not pass the sandbox's proxy: left out, not guessed.
    assert point_release_lines(parse_deb822(DEB822), "bookworm",
                               "http://mirror.example.org/debian") == [
        "deb http://mirror.example.org/debian bookworm-updates main"]


def test_point_release_lines_skip_disabled_source_only_and_other_suites() -> None:
    text = """\
Types: deb-src
URIs: http://m.example.org/debian
Suites: bookworm-updates
Components: main

Types: deb
URIs: http://m.example.org/debian
Suites: bookworm-security trixie-security
Components: main
Enabled: no

Types: deb
URIs: http://m.example.org/debian
Suites: bookworm-backports bookworm-updates bookworm-updates
Components: contrib
"""
    assert point_release_lines(parse_deb822(text), "bookworm", "http://m.example.org/x") == []
    one = parse_one_line("deb http://m.example.org/debian bookworm-security main\n"
                         "deb http://m.example.org/debian bookworm-security main\n")
    assert point_release_lines(one, "bookworm", "http://m.example.org/debian") == [
        "deb http://m.example.org/debian bookworm-security main"]
