"""Marathon stand-in: validation, legacy normalisation, defaults and service ports (no ZK)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.standins.marathon.marathon_standin import appdef

EXAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data"


def legacy_raml_example() -> dict[str, Any]:
    """examples/marathon/app-definition-raml-example.json (1.4 Docker form), trimmed to what
    Marathon itself accepts: cmd together with args is refused."""
    return {
        "id": "/foo", "instances": 2, "cmd": "sleep 1000", "cpus": 0.1, "mem": 16,
        "container": {"type": "DOCKER", "docker": {
            "image": "mesosphere:marathon/latest", "network": "BRIDGE", "forcePullImage": False,
            "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp",
                              "servicePort": 10019, "name": "http"}]}},
        "ports": [10019], "uris": ["https://example.invalid/a.tgz"],
        "ipAddress": None,
    }


def test_legacy_bridge_is_returned_in_canonical_form() -> None:
    app = appdef.normalise(legacy_raml_example())
    assert app["networks"] == [{"mode": "container/bridge"}]
    docker = app["container"]["docker"]
    assert "network" not in docker and "portMappings" not in docker
    assert app["container"]["portMappings"] == [{
        "containerPort": 80, "hostPort": 0, "protocol": "tcp", "servicePort": 10019,
        "name": "http", "labels": {}}]
    for gone in ("ports", "uris", "ipAddress", "portDefinitions"):
        assert gone not in app
    # uris -> fetch with FetchUri.scala's defaults (extract: a .tgz is an archive).
    assert app["fetch"] == [{"uri": "https://example.invalid/a.tgz", "extract": True,
                             "executable": False, "cache": False}]


def test_defaults_for_host_networking() -> None:
    app = appdef.normalise({"id": "sleepy", "cmd": "sleep 100"})
    assert app["id"] == "/sleepy"
    assert (app["cpus"], app["mem"], app["instances"], app["disk"]) == (1, 128, 1, 0)
    assert app["upgradeStrategy"] == {"minimumHealthCapacity": 1, "maximumOverCapacity": 1}
    assert app["networks"] == [{"mode": "host"}]
    assert app["portDefinitions"] == [{"port": 0, "name": "default", "protocol": "tcp",
                                       "labels": {}}]


def test_bridge_without_port_mappings_gets_the_default_mapping() -> None:
    app = appdef.normalise({"id": "/b", "networks": [{"mode": "container/bridge"}],
                            "container": {"docker": {"image": "nginx"}}})
    assert app["container"]["type"] == "DOCKER"
    assert app["container"]["portMappings"][0]["hostPort"] == 0


def details(body: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(appdef.Invalid) as caught:
        appdef.normalise(body)
    return {d["path"]: d["errors"] for d in caught.value.details}


@pytest.mark.parametrize(("body", "path"), [
    ({"id": "Bad_Id", "cmd": "x"}, "/id"),
    ({"id": "/", "cmd": "x"}, "/id"),
    ({"cmd": "x"}, "/id"),
    ({"id": "/x", "cmd": "x", "instances": -1}, "/instances"),
    ({"id": "/x", "cmd": "x", "instances": "2"}, "/instances"),
    ({"id": "/x", "container": {"type": "DOCKER", "docker": {}}}, "/container/docker/image"),
    ({"id": "/x", "container": {"type": "DOCKER"}}, "/container/docker"),
    ({"id": "/x", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 1.5}},
     "/upgradeStrategy/minimumHealthCapacity"),
    ({"id": "/x", "cmd": "x", "args": ["y"]}, "/"),
    ({"id": "/x", "cmd": "x", "healthChecks": [{"protocol": "COMMAND"}]},
     "/healthChecks(0)/protocol"),
])
def test_invalid_definitions_name_the_path(body: dict[str, Any], path: str) -> None:
    found = details(body)
    assert path in found, found
    assert all(isinstance(e, str) for e in found[path])


def test_negative_instances_message_like_marathon() -> None:
    # The RAML reader's play-json key (app.raml minimum 0), in a 422 "Invalid JSON".
    with pytest.raises(appdef.Invalid) as caught:
        appdef.normalise({"id": "/x", "cmd": "x", "instances": -1})
    assert caught.value.message == "Invalid JSON"
    assert caught.value.details == [{"path": "/instances", "errors": ["error.min"]}]


def bridged(app_id: str, service_port: int) -> dict[str, Any]:
    return appdef.normalise({
        "id": app_id, "networks": [{"mode": "container/bridge"}],
        "container": {"docker": {"image": "nginx"},
                      "portMappings": [{"containerPort": 80, "servicePort": service_port}]}})


def test_service_port_zero_gets_a_cluster_unique_port() -> None:
    first = bridged("/a", 0)
    appdef.assign_service_ports(first, [], None, 10000, 20000)
    second = bridged("/b", 0)
    appdef.assign_service_ports(second, [first], None, 10000, 20000)
    assert appdef.service_ports(first) == [10000]
    assert appdef.service_ports(second) == [10001]
    # An update that still says 0 keeps the port it had.
    again = bridged("/a", 0)
    appdef.assign_service_ports(again, [second], first, 10000, 20000)
    assert appdef.service_ports(again) == [10000]


def test_service_port_used_by_another_app_is_refused() -> None:
    first = bridged("/a", 9000)
    appdef.assign_service_ports(first, [], None, 10000, 20000)
    clash = bridged("/b", 9000)
    with pytest.raises(appdef.Invalid) as caught:
        appdef.assign_service_ports(clash, [first], None, 10000, 20000)
    detail = caught.value.details[0]
    assert detail["path"] == "/container/portMappings(0)/servicePort"
    assert "/a" in detail["errors"][0]


def test_host_networking_service_ports_come_from_port_definitions() -> None:
    app = appdef.normalise({"id": "/h", "cmd": "serve",
                            "portDefinitions": [{"port": 0}, {"port": 0}]})
    appdef.assign_service_ports(app, [], None, 10000, 20000)
    assert appdef.service_ports(app) == [10000, 10001]


def test_scaling_is_not_a_config_change() -> None:
    old = appdef.normalise({"id": "/s", "cmd": "serve"})
    assert not appdef.is_config_change(old, dict(old, instances=3))
    assert appdef.is_config_change(old, dict(old, cmd="y"))


def test_examples_dir_is_not_needed() -> None:
    # The stand-in's shapes come from the shared reference; the unit tests must not need it.
    assert json.dumps(legacy_raml_example())
    assert EXAMPLES.name == "data"
