"""STAND-IN for Apache Mesos 1.11 (tests and the offline sandbox only; never the product).

Which build this is: real Mesos compiles its build information in and reports it on `/version`
and in `/state` (apache/mesos 1.11.0 src/version/version.cpp, src/common/build.cpp,
src/master/readonly_handler.cpp, src/slave/http.cpp): `version` (1.11.0 for every aventer-mesos
build), `build_date`, `build_time`, `build_user`, and `git_sha` / `git_tag` when it was built
from a git clone (clusterd cmake/CompilationConfigure.cmake: `git rev-parse HEAD`, `git describe
--exact --tags`). The stand-in's .deb carries that record as build.json next to this file
(tests/standins/mesos/build_repo.py writes one per build); it is read once, when the program
starts, so a running process keeps reporting the build it was started from after dpkg replaced
its files, as a running binary does. From the source tree (no build.json) it reports a build
outside any tag: a `git_sha` and no `git_tag`.
"""

from __future__ import annotations

import json
from pathlib import Path

VERSION = "1.11.0"
STANDIN_BANNER = "STAND-IN for Apache Mesos 1.11.0 (pyinfra-mesos test sandbox; NOT Apache Mesos)"
BUILD_FILE = Path(__file__).resolve().with_name("build.json")
# The source tree's build: fixed values, so /version answers the same on every run.
SOURCE_BUILD: dict[str, str | float] = {
    "build_date": "2020-09-13 12:26:40", "build_time": 1600000000.0, "build_user": "standin",
    "git_sha": "standin",
}
BUILD_KEYS = ("build_date", "build_time", "build_user", "git_sha", "git_tag")


def load_build(path: Path = BUILD_FILE) -> dict[str, str | float]:
    """The build fields `/version` and `/state` report: {build_date: "YYYY-MM-DD HH:MM:SS"
    (UTC), build_time: seconds since the epoch (float), build_user, git_sha[, git_tag]}.

    From `path` (a JSON object with those keys, others ignored) when it exists, else
    SOURCE_BUILD. Raises ValueError naming the file when it exists but is not such an object:
    a broken package must not pass for another build."""
    if not path.exists():
        return dict(SOURCE_BUILD)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable build record: {exc}") from None
    if not isinstance(data, dict) or not all(k in data for k in BUILD_KEYS[:4]):
        raise ValueError(f"{path}: a build record needs {', '.join(BUILD_KEYS[:4])}")
    build = {k: data[k] for k in BUILD_KEYS if k in data}
    build["build_time"] = float(build["build_time"])
    return build


BUILD = load_build()
