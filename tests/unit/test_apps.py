"""apps.py: loading, normalising, validating (one test per rule) and comparing app definitions."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos import apps
from pyinfra_mesos.topology import build_topology
from tests.reference import MARATHON_EXAMPLES

EXAMPLES = MARATHON_EXAMPLES
REPO = Path(__file__).resolve().parents[2]
HELLO = json.loads((REPO / "apps" / "hello-sinatra.json").read_text())

LEGACY = {
    "id": "nginx", "instances": 1, "cpus": 0.1, "mem": 32,
    "container": {"type": "DOCKER", "docker": {
        "image": "nginx", "network": "BRIDGE",
        "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 10080,
                          "protocol": "tcp"}]}},
}


def changes(desired: Any, current: Any) -> list[str]:
    """apps.compare's changes as printed lines (`instances: 1 -> 3`): what the deploy shows."""
    return [c.describe() for c in apps.compare(desired, current)[1]]


def topo(**agent_data: Any):
    return build_topology({
        "masters": [("m1", {"ip": "10.0.0.1", "zookeeper_id": 1})],
        "agents": [("a1", {"ip": "10.0.0.2", **agent_data})],
    })


def lines(problems) -> list[str]:
    return [str(p) for p in problems]


def only_error(path: str, app: dict[str, Any]) -> str:
    found = [p for p in apps.validate_app(path, app) if p.level == "error"]
    assert len(found) == 1, lines(found)
    return str(found[0])


def test_shipped_apps_dir_is_valid() -> None:
    assert lines(apps.validate_app_dir(str(REPO / "apps"), topo())) == []


def test_documented_bridge_example_is_valid() -> None:
    app = json.loads((EXAMPLES / "app-definition-docker-bridge.json").read_text())
    assert apps.validate_app("x.json", app) == []


def test_normalise_legacy_bridge_to_1_5() -> None:
    out = apps.normalise_app(LEGACY)
    assert out["networks"] == [{"mode": "container/bridge"}]
    assert out["container"]["portMappings"][0]["servicePort"] == 10080
    assert "network" not in out["container"]["docker"]
    assert "portMappings" not in out["container"]["docker"]
    assert out["id"] == "/nginx"
    assert LEGACY["container"]["docker"]["network"] == "BRIDGE"  # input untouched


def test_normalise_drops_read_only_fields() -> None:
    out = apps.normalise_app({**HELLO, "version": "x", "tasksRunning": 3, "tasks": []})
    assert not {"version", "tasksRunning", "tasks"} & set(out)


def test_canonical_is_a_fixpoint() -> None:
    once = apps.normalise_app(HELLO)
    assert apps.normalise_app(once) == once


def write(tmp_path: Path, name: str, app: Any) -> str:
    (tmp_path / name).write_text(json.dumps(app) if not isinstance(app, str) else app)
    return str(tmp_path / name)


def test_dir_invalid_json(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", '{"id": "x",\n}')
    found = lines(apps.validate_app_dir(str(tmp_path), topo()))
    assert len(found) == 1
    assert found[0].startswith(f"error: {path}: (json): invalid JSON at line 2 column 1: ")


def test_dir_missing() -> None:
    assert lines(apps.validate_app_dir("/nonexistent/apps", topo())) == [
        "error: /nonexistent/apps: apps_dir: is not a directory"]


def test_dir_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path, "a.json", {**HELLO})
    other = copy.deepcopy(HELLO)
    other["container"]["portMappings"][0]["servicePort"] = 9001
    path = write(tmp_path, "b.json", other)
    assert lines(apps.validate_app_dir(str(tmp_path), topo())) == [
        f"error: {path}: id: '/hello-sinatra' is also the id in {tmp_path / 'a.json'}"]


def test_dir_shared_service_port(tmp_path: Path) -> None:
    write(tmp_path, "a.json", HELLO)
    path = write(tmp_path, "b.json", {**copy.deepcopy(HELLO), "id": "/other"})
    assert lines(apps.validate_app_dir(str(tmp_path), topo())) == [
        f"error: {path}: container.portMappings.servicePort: 9000 is also the service port "
        f"of {tmp_path / 'a.json'}"]


def test_dir_service_port_in_agent_range(tmp_path: Path) -> None:
    app = copy.deepcopy(HELLO)
    app["container"]["portMappings"][0]["servicePort"] = 31500
    path = write(tmp_path, "a.json", app)
    found = lines(apps.validate_app_dir(str(tmp_path), topo()))
    assert found == [f"error: {path}: container.portMappings.servicePort: 31500 is inside "
                     "agent a1's ports resource "
                     "[31000-32000]: a task could get it as host port. Use 10000-20000"]


def test_dir_service_port_in_agent_resources_range(tmp_path: Path) -> None:
    app = copy.deepcopy(HELLO)
    app["container"]["portMappings"][0]["servicePort"] = 9500
    write(tmp_path, "a.json", app)
    agents = topo(mesos_resources={"ports": "[9000-9999]"})
    assert "inside agent a1's ports resource [9000-9999]" in lines(
        apps.validate_app_dir(str(tmp_path), agents))[0]


@pytest.mark.parametrize("port", [2181, 5050, 8080])
def test_dir_service_port_on_cluster_port(tmp_path: Path, port: int) -> None:
    app = copy.deepcopy(HELLO)
    app["container"]["portMappings"][0]["servicePort"] = port
    path = write(tmp_path, "a.json", app)
    assert lines(apps.validate_app_dir(str(tmp_path), topo()))[0].startswith(
        f"error: {path}: container.portMappings.servicePort: {port} is the ")


def test_dir_custom_marathon_port(tmp_path: Path) -> None:
    app = copy.deepcopy(HELLO)
    app["container"]["portMappings"][0]["servicePort"] = 8090
    write(tmp_path, "a.json", app)
    cluster = build_topology({"masters": [("m1", {"zookeeper_id": 1, "marathon_http_port": 8090})],
                              "agents": [("a1", {})]})
    assert "8090 is the Marathon HTTP port" in lines(
        apps.validate_app_dir(str(tmp_path), cluster))[0]


def test_the_registry_push_port_is_reserved_like_the_ports_members_bind(tmp_path: Path) -> None:
    # The push instance binds 127.0.0.1 only; HAProxy's wildcard bind of the same port fails.
    write(tmp_path, "a.json", {"id": "web", "cmd": "serve", "portDefinitions": [{"port": 5001}]})
    cluster = build_topology({"masters": [("m1", {"zookeeper_id": 1})], "agents": [("a1", {})],
                              "registry": [("a1", {})]})
    assert "5001 is the registry push port (127.0.0.1)" in lines(
        apps.validate_app_dir(str(tmp_path), cluster))[0]


def test_host_networking_service_port_checked(tmp_path: Path) -> None:
    write(tmp_path, "a.json", {"id": "web", "cmd": "serve", "portDefinitions": [{"port": 5051}]})
    assert "portDefinitions.port: 5051 is the Mesos agent port" in lines(
        apps.validate_app_dir(str(tmp_path), topo()))[0]


def test_instance_overrides() -> None:
    out = apps.apply_instance_overrides([HELLO, LEGACY], {"hello-sinatra": 3})
    assert [a["instances"] for a in out] == [3, 1]
    assert HELLO["instances"] == 1


def test_instance_override_problems() -> None:
    loaded = [apps.LoadedApp("apps/hello-sinatra.json", HELLO)]
    assert apps.validate_instance_overrides(loaded, {"hello-sinatra": 3}) == []
    assert lines(apps.validate_instance_overrides(
        loaded, {"hello": 3, "hello-sinatra": -1})) == [
        "error: apps_instances: hello: no app with this id (known: hello-sinatra)",
        "error: apps_instances: hello-sinatra: instances must be an integer >= 0, got -1",
    ]


def marathon_view(app: dict[str, Any]) -> dict[str, Any]:
    """What Marathon 1.10 answers for `app`: defaults added everywhere, canonical form."""
    out = apps.normalise_app(app)
    out.update({"backoffSeconds": 1, "backoffFactor": 1.15, "disk": 0, "gpus": 0,
                "executor": "", "constraints": [], "version": "2020-01-01T00:00:00Z",
                "tasksRunning": 1, "tasksHealthy": 1, "cpus": float(out.get("cpus", 1))})
    out["container"]["docker"].update({"forcePullImage": False, "privileged": False,
                                       "parameters": []})
    for mapping in out["container"]["portMappings"]:
        mapping["labels"] = {}
        if mapping.get("servicePort") == 0:
            mapping["servicePort"] = 10001
    out["healthChecks"][0].update({"ipProtocol": "IPv4", "delaySeconds": 15})
    out["labels"] = dict(app.get("labels", {}))
    return out


def test_compare_no_change_against_marathon_defaults() -> None:
    assert not changes(HELLO, marathon_view(HELLO))


def test_compare_legacy_file_matches_canonical_answer() -> None:
    legacy = {**LEGACY, "healthChecks": [{"path": "/", "portIndex": 0}], "labels": {}}
    assert not changes(legacy, marathon_view(legacy))


def test_compare_service_port_zero_is_any() -> None:
    app = copy.deepcopy(HELLO)
    app["container"]["portMappings"][0]["servicePort"] = 0
    assert not changes(app, marathon_view(app))


def test_compare_instances() -> None:
    current = marathon_view(HELLO)
    assert changes({**HELLO, "instances": 3}, current)
    assert changes({**HELLO, "instances": 3}, current) == ["instances: 1 -> 3"]


def test_compare_image() -> None:
    app = copy.deepcopy(HELLO)
    app["container"]["docker"]["image"] = "pyinfra-mesos/hello-sinatra:1.1"
    assert changes(app, marathon_view(HELLO))


def test_compare_removed_label() -> None:
    current = marathon_view({**HELLO, "labels": {"HAPROXY_GROUP": "external", "old": "1"}})
    assert changes(HELLO, current)


def test_compare_missing_app() -> None:
    assert changes(HELLO, None)
    assert changes(HELLO, None) == ["(new app)"]


def test_nan_and_repeated_keys_are_refused_like_marathons_json_parser(tmp_path) -> None:
    from pyinfra_mesos.apps import load_apps

    (tmp_path / "a.json").write_text('{"id": "/a", "cmd": "x", "cpus": NaN, "mem": 32}')
    (tmp_path / "b.json").write_text('{"id": "/b", "id": "/c", "cmd": "x"}')
    (tmp_path / "c.json").write_text('{"id": "/c", "cmd": "x", "mem": Infinity}')
    loaded, problems = load_apps(str(tmp_path))
    assert loaded == []
    lines = [p.format() for p in problems]
    assert "NaN is not a JSON number" in lines[0] and "a.json" in lines[0]
    assert "key 'id' appears twice" in lines[1]
    assert "Infinity is not a JSON number" in lines[2]
