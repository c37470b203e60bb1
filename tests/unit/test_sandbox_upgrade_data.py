"""sandbox.sources.upgrade_data: the data that moves a sandbox to the second builds."""

from __future__ import annotations

import runpy

from pyinfra_mesos.mesos_package import mesos_version_problems
from sandbox import config, sources
from tests.standins.mesos import build_repo


def test_standins_move_to_the_second_stand_in_builds() -> None:
    data = sources.upgrade_data(sources.STANDINS)
    assert data == {"mesos_version": "1.11.0-0.8.0",
                    "marathon_image": f"{config.REGISTRY}/pyinfra-mesos/marathon-standin:1.10.17"}
    # The pin (a prefix) selects exactly the second .deb of the stand-in repository.
    matching = [b.version for b in build_repo.BUILDS
                if b.version.startswith(data["mesos_version"])]
    assert matching == [build_repo.UPGRADE.version]
    assert mesos_version_problems(data["mesos_version"], "test") == []


def test_upstream_moves_to_the_real_release_names() -> None:
    assert sources.upgrade_data(sources.UPSTREAM) == {
        "mesos_version": "1.11.0-0.8.0", "marathon_image": "mesosphere/marathon:v1.10.17"}


def test_the_default_pin_selects_only_the_default_build() -> None:
    defaults = sources.upstream_data()  # group_data/all.py's source keys
    assert "mesos_version" not in defaults  # a version, not a source: never overridden
    pin = runpy.run_path(str(sources.GROUP_DATA))["mesos_version"]
    assert [b.version for b in build_repo.BUILDS if b.version.startswith(pin)] == [
        build_repo.DEFAULT.version]
