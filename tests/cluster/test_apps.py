"""Apps: every apps/*.json runs in Marathon with its instances (apps_instances applied).

Asked from the first Marathon host, the one the deploy talks from. An app can carry the labels
PYINFRA_MESOS_CHECK_PATH / PYINFRA_MESOS_CHECK_BODY: test_load_balancers.py then requests that
path through every load balancer and expects that body.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from pyinfra_mesos.apps import apply_instance_overrides, load_apps, normalise_app
from pyinfra_mesos.topology import Member, Topology

from .conftest import PROJECT_ROOT, data_value, http_get, marathon_auth, wait_for

CHECK_PATH_LABEL = "PYINFRA_MESOS_CHECK_PATH"
CHECK_BODY_LABEL = "PYINFRA_MESOS_CHECK_BODY"


def deploying_host(cluster: Topology) -> Member:
    return cluster.marathons[0]


def expected_apps(cluster: Topology) -> list[dict[str, Any]]:
    """The app definitions the deploy applied: the apps dir plus the instance overrides."""
    member = deploying_host(cluster)
    apps_dir = PROJECT_ROOT / str(data_value(member, "apps_dir", "apps"))
    loaded, _ = load_apps(str(apps_dir))
    overrides = dict(data_value(member, "apps_instances", {}) or {})
    # A deploy scaled with --data 'apps_instances={...}': give the checks the same JSON here.
    overrides.update(json.loads(os.environ.get("PYINFRA_MESOS_APPS_INSTANCES") or "{}"))
    return [normalise_app(a) for a in apply_instance_overrides([i.app for i in loaded],
                                                               overrides)]


def marathon_app(cluster: Topology, testinfra_host_for: Callable[[str], Any],
                 app_id: str) -> dict[str, Any]:
    member = deploying_host(cluster)
    port = int(data_value(member, "marathon_http_port", 8080))
    body = http_get(testinfra_host_for(member.name),
                    f"http://{member.ip}:{port}/v2/apps/{app_id.strip('/')}",
                    f"{member.name}: Marathon app {app_id}",
                    marathon_auth(member))
    return json.loads(body)["app"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "app" in metafunc.fixturenames:
        from .conftest import _topology

        apps = expected_apps(_topology(metafunc.config))
        metafunc.parametrize("app", apps, ids=[a["id"].strip("/") for a in apps])


def test_app_runs_its_instances(app: dict[str, Any], cluster: Topology,
                                testinfra_host_for: Callable[[str], Any],
                                converge_timeout: float) -> None:
    wanted = int(app.get("instances", 1))
    checked = bool(app.get("healthChecks"))

    def check() -> str | None:
        current = marathon_app(cluster, testinfra_host_for, app["id"])
        running = int(current.get("tasksRunning", 0))
        healthy = int(current.get("tasksHealthy", 0))
        if int(current.get("instances", -1)) != wanted:
            return f"{app['id']}: Marathon has instances={current.get('instances')}, want {wanted}"
        if running != wanted:
            return f"{app['id']}: {running} of {wanted} tasks running"
        if checked and healthy != wanted:
            return f"{app['id']}: {healthy} of {wanted} tasks healthy"
        if current.get("deployments"):
            return f"{app['id']}: deployment still running"
        return None

    problem = wait_for(check, converge_timeout)
    assert problem is None, problem


def test_app_image_is_the_files(app: dict[str, Any], cluster: Topology,
                                testinfra_host_for: Callable[[str], Any]) -> None:
    docker = (app.get("container") or {}).get("docker") or {}
    current = marathon_app(cluster, testinfra_host_for, app["id"])
    if "image" not in docker:
        # A command app: Marathon must run the file's command instead.
        assert current.get("cmd") == app.get("cmd"), f"{app['id']}: cmd differs from the file"
        return
    assert current["container"]["docker"]["image"] == docker["image"]
