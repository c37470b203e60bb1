"""Marathon stand-in against the apps-and-bridge cases: PUT a case's input, GET it, and compare
with what Marathon 1.10 returns (marathon-get*.json: AppNormalization.scala, AppConversion.scala,
app.raml omitEmpty, d2iq-archive/marathon v1.10.26); the 422 cases answer as Marathon does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.standins.marathon.marathon_testkit.fake_mesos import FakeMaster, free_ports
from tests.standins.marathon.marathon_testkit.proc import CONTEXT, Marathon, http, start

CASES = CONTEXT / "marathon_testkit" / "cases"
# Read-only AppInfo fields and the version: they depend on the run, not on the definition.
RUNTIME = {"version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy",
           "tasksUnhealthy", "deployments", "tasks", "lastTaskFailure"}


def load(relative: str) -> Any:
    return json.loads((CASES / relative).read_text())


@pytest.fixture(scope="module")
def marathon(zookeeper: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marathon]:
    master = FakeMaster(agents=1)
    port = free_ports(1)[0]
    args = ["--master", master.address, "--zk", f"zk://{zookeeper}/cases-{uuid.uuid4().hex[:8]}",
            "--http_port", str(port), "--http_address", "127.0.0.1", "--hostname", "127.0.0.1"]
    proc = start(args, tmp_path_factory.mktemp("cases") / "m.log", port)
    yield proc
    proc.stop()
    master.close()


def put(marathon: Marathon, body: dict[str, Any], query: str = "") -> dict[str, Any]:
    url = f"{marathon.url}/v2/apps{body['id']}?force=true{query}"
    status, reply, _ = http(url, "PUT", body)
    assert status in (200, 201), reply
    status, got, _ = http(f"{marathon.url}/v2/apps{body['id']}")
    assert status == 200, got
    return dict(got["app"])


def assert_like(got: dict[str, Any], expected: dict[str, Any], sent: dict[str, Any]) -> None:
    """Every field the example shows, equal; a complete example (it shows `role`) also means
    no other definition field may appear. Padded mappings get a dynamic service port."""
    sent_mappings = len((sent.get("container") or {}).get("portMappings") or [])
    for i, mapping in enumerate((got.get("container") or {}).get("portMappings") or []):
        if i >= sent_mappings:
            assert 10000 <= mapping["servicePort"] <= 20000, mapping
            mapping["servicePort"] = expected["container"]["portMappings"][i]["servicePort"]
    for key, value in expected.items():
        if key not in RUNTIME:
            assert got.get(key) == value, (key, got.get(key), value)
    if "role" in expected:
        assert set(got) - RUNTIME == set(expected) - RUNTIME


@pytest.mark.parametrize(("sent", "expected"), [
    ("bridge-app-with-portdefinitions/bridge-with-portdefinitions.json",
     "bridge-app-with-portdefinitions/marathon-get.json"),
    ("deprecated-ports-uris/apps/reports.json", "deprecated-ports-uris/marathon-get.json"),
    ("legacy-host-portmappings/apps/gateway.json", "legacy-host-portmappings/marathon-get.json"),
])
def test_get_after_put_is_the_stored_form(marathon: Marathon, sent: str, expected: str) -> None:
    body = load(sent)
    assert_like(put(marathon, body), load(expected)["app"], body)
    # Sending the same file again changes nothing Marathon stores (a re-run converges).
    again = put(marathon, body)
    assert_like(again, load(expected)["app"], body)


def full_hello() -> dict[str, Any]:
    """The app with env, constraints and a health check (removed-and-emptied-fields)."""
    app = {k: v for k, v in load("removed-and-emptied-fields/marathon-get.json")["app"].items()
           if k not in RUNTIME}
    return app


def test_removed_fields_stay_with_partial_update_and_go_with_replacement(
        marathon: Marathon) -> None:
    put(marathon, full_hello())
    removed = load("removed-and-emptied-fields/hello-sinatra.removed.json")
    after = load("removed-and-emptied-fields/marathon-get-after-put.json")["app"]
    # AppsResource.scala: partialUpdate defaults to true, so what a body omits is kept.
    kept = put(marathon, removed)
    assert kept["env"] == {"FEATURE_X": "on"} and kept["constraints"] == [["hostname", "UNIQUE"]]
    assert len(kept["healthChecks"]) == 1
    assert_like(put(marathon, removed, "&partialUpdate=false"), after, removed)


def test_emptied_fields_are_omitted(marathon: Marathon) -> None:
    put(marathon, full_hello())
    emptied = load("removed-and-emptied-fields/hello-sinatra.emptied.json")
    after = load("removed-and-emptied-fields/marathon-get-after-put.json")["app"]
    assert_like(put(marathon, emptied), after, emptied)


@pytest.mark.parametrize(("sent", "message", "details"), [
    ("env-not-strings/mailer.json", "Invalid JSON", {
        "/env/SMTP_PORT/secret": ["error.path.missing"],
        "/env/SMTP_STARTTLS/secret": ["error.path.missing"],
        "/env/DB_POOL/secret": ["error.path.missing"]}),
    ("health-check-without-ports/noports.json", "Object is not valid", {
        "/healthChecks(0)": ["Health check port indices must address an element of the ports "
                             "array or container port mappings."]}),
    ("health-check-without-ports/tcp-noports-noindex.json", "Object is not valid", {
        "/healthChecks(0)": ["Health check port indices must address an element of the ports "
                             "array or container port mappings."]}),
    ("nothing-to-run/nothing-to-run.json", "Object is not valid", {
        "/": ["AppDefinition must either contain one of 'cmd' or 'args', and/or a "
              "'container'."]}),
    ("ipaddress-and-networks/ipaddress-and-networks.json", "Object is not valid", {
        "/": ["must not specify both networks and ipAddress"]}),
    ("ipaddress-and-networks/host-legacy-vs-bridge-new.json", "Object is not valid", {
        "/": ["must not specify both container.docker.network and networks"]}),
])
def test_refused_like_marathon(marathon: Marathon, sent: str, message: str,
                               details: dict[str, list[str]]) -> None:
    body = load(sent)
    for method, url in (("PUT", f"/v2/apps{body['id']}"), ("POST", "/v2/apps")):
        status, reply, _ = http(marathon.url + url, method, body)
        assert status == 422, reply
        assert reply["message"] == message
        assert {d["path"]: d["errors"] for d in reply["details"]} == details
    assert http(marathon.url + f"/v2/apps{body['id']}")[0] == 404


def test_every_case_folder_used_here_is_present() -> None:
    assert sorted(p.name for p in CASES.iterdir()) == sorted(
        ["bridge-app-with-portdefinitions", "deprecated-ports-uris", "env-not-strings",
         "health-check-without-ports", "ipaddress-and-networks", "legacy-host-portmappings",
         "nothing-to-run", "removed-and-emptied-fields"])
    assert all(p.suffix == ".json" for p in CASES.rglob("*") if p.is_file())


def test_relative_and_dotted_ids_and_dependencies_are_canonical(marathon: Marathon) -> None:
    body = {"id": "/cases//x/../dotted", "cmd": "sleep 100", "instances": 0,
            "dependencies": ["db", "/cases/./db", "../cache"]}
    status, reply, _ = http(marathon.url + "/v2/apps", "POST", body)
    assert status == 201, reply
    got = http(marathon.url + "/v2/apps/cases/dotted")[1]["app"]
    assert got["id"] == "/cases/dotted"
    assert sorted(got["dependencies"]) == ["/cache", "/cases/db", "/db"]
