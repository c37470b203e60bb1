"""Marathon stand-in: the v2 API contract and the scheduler, against real ZooKeeper and a fake
Mesos master (found through a json.info_ znode, as with --master zk://.../mesos)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kazoo.client import KazooClient

from tests.reference import MARATHON_EXAMPLES
from tests.standins.marathon.marathon_testkit.fake_mesos import FakeMaster, free_ports
from tests.standins.marathon.marathon_testkit.proc import Marathon, http, start, wait_for

REFERENCE = MARATHON_EXAMPLES


def example(name: str) -> Any:
    """A documented upstream example (tests/data/reference)."""
    return json.loads((REFERENCE / name).read_text())


@pytest.fixture(scope="module")
def master() -> Iterator[FakeMaster]:
    fake = FakeMaster(agents=2)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def marathon(zookeeper: str, master: FakeMaster, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Marathon]:
    suffix = uuid.uuid4().hex[:8]
    zk = KazooClient(hosts=zookeeper, timeout=5)
    zk.start(timeout=10)
    info = {"address": {"hostname": "fake", "ip": "127.0.0.1", "port": master.port},
            "hostname": "fake", "id": "fake-master", "pid": f"master@{master.address}",
            "port": master.port, "version": "1.11.0"}
    zk.create(f"/mesos-{suffix}/json.info_", json.dumps(info).encode(), ephemeral=True,
              sequence=True, makepath=True)
    port = free_ports(1)[0]
    args = ["--master", f"zk://{zookeeper}/mesos-{suffix}", "--http_port", str(port),
            "--hostname", "127.0.0.1", "--zk_session_timeout", "2000"]
    env = {"MARATHON_ZK": f"zk://{zookeeper}/marathon-{suffix}",
           "MARATHON_HTTP_ADDRESS": "127.0.0.1", "MARATHON_APP_IGNORED": "x"}
    proc = start(args, tmp_path_factory.mktemp("marathon") / "marathon.log", port, env)
    yield proc
    proc.stop()
    zk.stop()
    zk.close()
    print(proc.output()[-4000:])


def deployed(marathon: Marathon, deployment_id: str, timeout: float = 30) -> None:
    def gone() -> bool:
        status, body, _ = http(marathon.url + "/v2/deployments")
        return status == 200 and all(d["id"] != deployment_id for d in body)

    wait_for(gone, timeout, lambda: f"deployment {deployment_id} still running:\n"
             f"{http(marathon.url + '/v2/deployments')[1]}\n{marathon.output()[-3000:]}")


def bridged_app(app_id: str, instances: int = 1, **extra: Any) -> dict[str, Any]:
    app = {"id": app_id, "cmd": "serve", "cpus": 0.1, "mem": 32, "instances": instances,
           "networks": [{"mode": "container/bridge"}],
           "container": {"type": "DOCKER", "docker": {"image": "pyinfra-mesos/hello:1.0"},
                         "portMappings": [{"containerPort": 8080, "hostPort": 0,
                                           "servicePort": 0}]}}
    app.update(extra)
    return app


def test_ping_info_and_leader(marathon: Marathon, master: FakeMaster) -> None:
    status, body, headers = http(marathon.url + "/ping")
    assert (status, body) == (200, "pong")
    assert headers["Content-Type"].startswith("text/plain")
    framework_id = wait_for(lambda: http(marathon.url + "/v2/info")[1]["frameworkId"], 15)
    status, info, _ = http(marathon.url + "/v2/info")
    assert status == 200 and info["standin"] is True
    assert info["elected"] is True and info["leader"] == marathon.address
    assert framework_id in master.frameworks
    assert master.registrations[-1]["name"] == "marathon"
    expected = example("get-v2-info.json")
    for section in ("marathon_config", "zookeeper_config", "http_config"):
        assert set(expected[section]) <= set(info[section]), section
        for key, value in expected[section].items():
            if info[section][key] is not None:
                assert type(info[section][key]) is type(value), (section, key)
    assert set(expected) <= set(info)
    assert info["marathon_config"]["master"].startswith("zk://127.0.0.1:")
    assert info["http_config"]["http_port"] == marathon.port
    assert "STAND-IN" in marathon.output()
    assert http(marathon.url + "/v2/leader")[:2] == (200, {"leader": marathon.address})


def test_post_creates_201_then_409(marathon: Marathon) -> None:
    body = bridged_app("/post-me", instances=0)
    status, app, headers = http(marathon.url + "/v2/apps", "POST", body)
    assert status == 201, app
    assert headers["Location"] == "/post-me"
    assert app["deployments"] == [{"id": headers["Marathon-Deployment-Id"]}]
    # Minus deprecated fields, unset ones, empty omitEmpty ones (app.raml), and
    # portDefinitions (host networking only).
    wanted = set(example("post-v2-apps-201-response.json")) - {
        "args", "storeUrls", "uris", "user", "cmd", "portDefinitions", "env", "dependencies",
        "constraints", "healthChecks"}
    assert wanted <= set(app), wanted - set(app)
    assert http(marathon.url + "/v2/apps", "POST", body)[0] == 409
    deployed(marathon, headers["Marathon-Deployment-Id"])


def test_get_app_404_shape(marathon: Marathon) -> None:
    status, body, _ = http(marathon.url + "/v2/apps/not/there")
    assert (status, body) == (404, {"message": "App '/not/there' does not exist"})


def test_put_create_update_locked_and_force(marathon: Marathon) -> None:
    # A health check that never passes keeps the deployment running: the app stays locked.
    body = bridged_app("/locked", healthChecks=[{"protocol": "HTTP", "path": "/",
                                                 "gracePeriodSeconds": 300,
                                                 "intervalSeconds": 1}],
                       labels={"FAKE_HEALTH": "fail"})
    status, created, headers = http(marathon.url + "/v2/apps/locked", "PUT", body)
    assert status == 201
    assert set(created) == set(example("put-v2-apps-id-response.json"))
    assert headers["Marathon-Deployment-Id"] == created["deploymentId"]
    status, locked, _ = http(marathon.url + "/v2/apps/locked", "PUT", {"instances": 2})
    assert status == 409
    assert locked["message"] == example("error-409-app-locked.json")["message"]
    assert locked["deployments"] == [{"id": created["deploymentId"]}]
    deployments = http(marathon.url + "/v2/deployments")[1]
    mine = next(d for d in deployments if d["id"] == created["deploymentId"])
    assert set(example("get-v2-deployments.json")[0]) <= set(mine)
    assert mine["affectedApps"] == ["/locked"]
    status, forced, _ = http(marathon.url + "/v2/apps/locked?force=true", "PUT",
                             {"instances": 0})
    assert status == 200 and forced["deploymentId"] != created["deploymentId"]
    deployed(marathon, forced["deploymentId"])
    assert http(marathon.url + "/v2/apps/locked")[1]["app"]["instances"] == 0
    status, deleted, _ = http(marathon.url + "/v2/apps/locked", "DELETE")
    assert status == 200 and set(deleted) == {"deploymentId", "version"}
    deployed(marathon, deleted["deploymentId"])
    assert http(marathon.url + "/v2/apps/locked")[0] == 404


@pytest.mark.parametrize(("body", "path", "message"), [
    ({"id": "/Bad_Id", "cmd": "serve"}, "/id", "Invalid JSON"),
    ({"id": "/neg", "cmd": "serve", "instances": -1}, "/instances", "Invalid JSON"),
    ({"id": "/noimage", "container": {"type": "DOCKER", "docker": {}}},
     "/container/docker/image", "Invalid JSON"),
    ({"id": "/nothing", "cpus": 0.1}, "/", "Object is not valid"),
])
def test_422_names_the_field(marathon: Marathon, body: dict[str, Any], path: str,
                             message: str) -> None:
    # Reader errors (app.raml) are "Invalid JSON", validator errors "Object is not valid".
    for method, url in (("POST", "/v2/apps"), ("PUT", f"/v2/apps{body['id']}")):
        status, reply, _ = http(marathon.url + url, method, body)
        assert status == 422, reply
        assert reply["message"] == message
        assert path in [d["path"] for d in reply["details"]], reply


def test_invalid_json_is_400(marathon: Marathon) -> None:
    status, reply, _ = http(marathon.url + "/v2/apps/x", "PUT", raw=b"{not json")
    assert status == 400 and reply["message"] == "Invalid JSON"


def test_service_ports_assigned_and_conflicts_refused(marathon: Marathon) -> None:
    first = http(marathon.url + "/v2/apps/ports-a", "PUT", bridged_app("/ports-a", 0))
    assert first[0] == 201
    port = http(marathon.url + "/v2/apps/ports-a")[1]["app"]["container"]["portMappings"][0][
        "servicePort"]
    assert 10000 <= port <= 20000
    clash = bridged_app("/ports-b", 0)
    clash["container"]["portMappings"][0]["servicePort"] = port
    status, reply, _ = http(marathon.url + "/v2/apps/ports-b", "PUT", clash)
    assert status == 422
    assert reply["details"][0]["path"] == "/container/portMappings(0)/servicePort"
    # Re-sending the same JSON (servicePort 0) keeps the port: a re-run changes nothing.
    http(marathon.url + "/v2/apps/ports-a?force=true", "PUT", bridged_app("/ports-a", 0))
    again = http(marathon.url + "/v2/apps/ports-a")[1]["app"]
    assert again["container"]["portMappings"][0]["servicePort"] == port
    for app_id in ("ports-a",):
        http(marathon.url + f"/v2/apps/{app_id}", "DELETE")


def test_legacy_form_is_returned_canonical(marathon: Marathon) -> None:
    legacy = {"id": "/legacy", "instances": 0, "cmd": "serve", "cpus": 0.1, "mem": 16,
              "container": {"type": "DOCKER", "docker": {
                  "image": "nginx", "network": "BRIDGE",
                  "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 0,
                                    "protocol": "tcp"}]}}}
    assert http(marathon.url + "/v2/apps", "POST", legacy)[0] == 201
    app = http(marathon.url + "/v2/apps/legacy")[1]["app"]
    assert app["networks"] == [{"mode": "container/bridge"}]
    assert app["container"]["docker"] == {"image": "nginx", "forcePullImage": False,
                                          "privileged": False, "parameters": []}
    assert app["container"]["portMappings"][0]["containerPort"] == 80
    assert "portDefinitions" not in app and "ports" not in app
    http(marathon.url + "/v2/apps/legacy", "DELETE")


def live(master: FakeMaster, prefix: str) -> list[dict[str, Any]]:
    return [t for t in master.live_tasks() if t["id"].startswith(prefix + ".")]


def test_scheduling_scaling_health_and_replacement(marathon: Marathon,
                                                   master: FakeMaster) -> None:
    check = {"protocol": "HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 5,
             "intervalSeconds": 1, "maxConsecutiveFailures": 2, "timeoutSeconds": 1}
    body = bridged_app("/shop/web", 2, healthChecks=[check],
                       constraints=[["hostname", "LIKE", "127.*"]])
    status, reply, _ = http(marathon.url + "/v2/apps/shop/web", "PUT", body)
    assert status == 201, reply
    deployed(marathon, reply["deploymentId"])
    app = http(marathon.url + "/v2/apps?embed=apps.tasks")[1]["apps"]
    web = next(a for a in app if a["id"] == "/shop/web")
    assert (web["tasksRunning"], web["tasksHealthy"], web["tasksUnhealthy"]) == (2, 2, 0)
    service_port = web["container"]["portMappings"][0]["servicePort"]
    # region/zone appear only for agents with a fault domain; ours have none.
    task_keys = set(example("get-v2-tasks.json")["tasks"][0]) - {"region", "zone"}
    for task in web["tasks"]:
        assert task_keys <= set(task), task_keys - set(task)
        assert task["id"].startswith("shop_web.") and task["state"] == "TASK_RUNNING"
        assert task["servicePorts"] == [service_port] and task["host"] == "127.0.0.1"
        result = task["healthCheckResults"][0]
        # Formats.scala HealthWrites (1.10): instanceId, no taskId.
        assert set(result) == {"alive", "consecutiveFailures", "firstSuccess", "lastSuccess",
                               "lastFailure", "lastFailureCause", "instanceId"}
        assert result["alive"] is True and result["instanceId"].startswith("shop_web.marathon-")
    assert len({tuple(t["ports"]) for t in web["tasks"]}) == 2  # no host port shared
    spec = master.launches[-1]["task"]
    assert spec["network"] == "BRIDGE" and spec["image"] == "pyinfra-mesos/hello:1.0"
    assert spec["port_mappings"][0]["container_port"] == 8080
    assert spec["env"]["PORT0"] == str(spec["port_mappings"][0]["host_port"])
    tasks = http(marathon.url + "/v2/apps/shop/web/tasks")[1]["tasks"]
    assert sorted(t["id"] for t in tasks) == sorted(t["id"] for t in web["tasks"])

    # Scale down: the surplus instance is killed, the other keeps running.
    staged = {t["id"]: t["stagedAt"] for t in web["tasks"]}
    reply = http(marathon.url + "/v2/apps/shop/web", "PUT", {"instances": 1})[1]
    deployed(marathon, reply["deploymentId"])
    assert len(live(master, "shop_web")) == 1
    survivor = live(master, "shop_web")[0]["id"]
    # killSelection YOUNGEST_FIRST (the default): the longest-running instance stays.
    assert staged[survivor] == min(staged.values()), (survivor, staged)

    # A failed task is replaced (after the app's 1 s backoff).
    master.end_task(survivor, "TASK_FAILED")
    wait_for(lambda: [t for t in live(master, "shop_web") if t["id"] != survivor], 15,
             "failed task not replaced")
    failure = wait_for(lambda: http(marathon.url + "/v2/apps/shop/web")[1]["app"].get(
        "lastTaskFailure"), 5)
    assert failure["taskId"] == survivor and failure["state"] == "TASK_FAILED"

    # A config change starts the new version before the old one goes (minimumHealthCapacity 1).
    before = {t["id"] for t in live(master, "shop_web")}
    reply = http(marathon.url + "/v2/apps/shop/web", "PUT", {"env": {"COLOUR": "blue"}})[1]
    deployed(marathon, reply["deploymentId"])
    after = live(master, "shop_web")
    assert len(after) == 1 and after[0]["id"] not in before
    assert master.launches[-1]["task"]["env"]["COLOUR"] == "blue"

    # Delete: every task is killed, then the deployment ends and the app is gone.
    reply = http(marathon.url + "/v2/apps/shop/web", "DELETE")[1]
    deployed(marathon, reply["deploymentId"])
    assert live(master, "shop_web") == []
    assert http(marathon.url + "/v2/apps/shop/web")[0] == 404


def test_unhealthy_tasks_are_killed_and_replaced(marathon: Marathon,
                                                 master: FakeMaster) -> None:
    check = {"protocol": "HTTP", "gracePeriodSeconds": 0, "intervalSeconds": 1,
             "maxConsecutiveFailures": 2, "timeoutSeconds": 1}
    body = bridged_app("/sick", 1, healthChecks=[check], labels={"FAKE_HEALTH": "fail"})
    assert http(marathon.url + "/v2/apps/sick", "PUT", body)[0] == 201
    first = wait_for(lambda: live(master, "sick"), 10)[0]["id"]
    wait_for(lambda: first in master.kills, 15, "unhealthy task never killed")
    wait_for(lambda: [t for t in live(master, "sick") if t["id"] != first], 15,
             "unhealthy task not replaced")
    apps = http(marathon.url + "/v2/apps")[1]["apps"]
    sick = next(a for a in apps if a["id"] == "/sick")
    assert sick["deployments"], "an unhealthy app's deployment must not finish"
    http(marathon.url + "/v2/apps/sick?force=true", "DELETE")


def test_reregisters_after_mesos_failover(marathon: Marathon, master: FakeMaster) -> None:
    framework_id = http(marathon.url + "/v2/info")[1]["frameworkId"]
    count = len(master.registrations)
    master.forget_frameworks()  # a new leading master that has not heard of us yet
    wait_for(lambda: len(master.registrations) > count, 10, "no re-registration")
    assert master.registrations[-1]["id"] == framework_id
    assert framework_id in master.frameworks
