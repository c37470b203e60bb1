"""app_canonical: the form Marathon 1.10 stores and returns, one test per normalisation rule
(app_rules' index, section 8), and every app case folder of tests/data/cases."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos import apps
from pyinfra_mesos.app_canonical import (
    OMIT_EMPTY,
    MarathonSettings,
    canonical,
    canonical_path,
    resolve_dynamic_ports,
)
from pyinfra_mesos.topology import build_topology

CASES = Path(__file__).resolve().parents[1] / "data" / "cases"
CMD: dict[str, Any] = {"id": "/web", "cmd": "serve"}
BRIDGE: dict[str, Any] = {
    "id": "/web", "container": {"type": "DOCKER", "docker": {"image": "nginx:1"},
                                "portMappings": [{"containerPort": 80}]},
    "networks": [{"mode": "container/bridge"}]}


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return data["app"] if "app" in data else data


# (case folder, app file, Marathon's answer): canonical forms must be equal -> a re-run is a
# no-op. Each answer is what Marathon 1.10 returns after a PUT of that file (README.md there).
CONVERGE = [
    ("deprecated-ports-uris", "apps/reports.json", "marathon-get.json"),
    ("legacy-host-portmappings", "apps/gateway.json", "marathon-get.json"),
    ("bridge-app-with-portdefinitions", "bridge-with-portdefinitions.json", "marathon-get.json"),
    ("removed-and-emptied-fields", "hello-sinatra.emptied.json", "marathon-get-after-put.json"),
    ("removed-and-emptied-fields", "hello-sinatra.removed.json", "marathon-get-after-put.json"),
]


def test_every_marathon_answer_in_the_cases_is_used() -> None:
    answers = {p.relative_to(CASES).as_posix() for p in CASES.glob("*/marathon-get*.json")}
    used = {f"{case}/{answer}" for case, _, answer in CONVERGE}
    used.add("removed-and-emptied-fields/marathon-get.json")  # the state before (test below)
    assert answers <= used


@pytest.mark.parametrize(("case", "file", "answer"), CONVERGE,
                         ids=[f"{c}:{f}" for c, f, _ in CONVERGE])
def test_case_converges(case: str, file: str, answer: str) -> None:
    desired = load(CASES / case / file)
    current = load(CASES / case / answer)
    assert apps.validate_app(file, desired) == [] or all(
        p.level == "warning" for p in apps.validate_app(file, desired))
    put, changes = apps.compare(desired, current)
    assert changes == []
    # The PUT body, read back as Marathon would store it, is still the same app.
    assert apps.compare(put, current)[1] == []


def test_removed_fields_are_changes_and_applied() -> None:
    case = CASES / "removed-and-emptied-fields"
    before = load(case / "marathon-get.json")
    for name in ("hello-sinatra.removed.json", "hello-sinatra.emptied.json"):
        put, changes = apps.compare(load(case / name), before)
        assert [(c.path, c.kind) for c in changes] == [
            ("constraints", "removed"), ("env.FEATURE_X", "removed"), ("healthChecks", "removed")]
        assert not {"env", "constraints", "healthChecks"} & set(put)
    assert [c.describe() for c in changes][1] == "env.FEATURE_X: removed"


def test_env_values_are_masked() -> None:
    current = {**CMD, "env": {"A": "old-secret", "B": "gone-secret"}}
    lines = [c.describe() for c in apps.compare(
        {**CMD, "env": {"A": "new-secret", "C": "added-secret"}}, current)[1]]
    assert lines == ["env.A: changed (*** -> ***)", "env.B: removed", "env.C: added (***)"]


def test_dynamic_service_ports_take_the_assigned_ones() -> None:
    """4.29 / 8.13: a 0 is replaced by the port Marathon assigned, kept on the next PUT."""
    current = canonical({**CMD, "portDefinitions": [{"port": 10007}]})
    desired = canonical({**CMD, "portDefinitions": [{"port": 0}]})
    assert resolve_dynamic_ports(desired, current)["portDefinitions"][0]["port"] == 10007
    assert apps.compare({**CMD, "portDefinitions": [{"port": 0}]}, current)[1] == []
    assert apps.compare({**CMD, "portDefinitions": [{"port": 10008}]}, current)[1] != []


def test_apps_instances_scaling_is_a_change() -> None:
    current = canonical(CMD)
    assert [c.describe() for c in apps.compare({**CMD, "instances": 3}, current)[1]] == [
        "instances: 1 -> 3"]


# One row per normalisation rule: (rule, input, what canonical() must show).
def get(app: dict[str, Any], *path: Any) -> Any:
    value: Any = canonical(app)
    for part in path:
        value = value[part] if not isinstance(value, dict) or part in value else KeyError
        if value is KeyError:
            return "<absent>"
    return value


NORMALISATION = [
    ("1.4", lambda: canonical_path("a//b/"), "/a/b"),
    ("1.5", lambda: get({**CMD, "id": "a/b"}, "id"), "/a/b"),
    ("1.6", lambda: canonical_path("/../a/./b"), "/a/b"),
    ("1.11", lambda: get({**CMD, "id": "web"}, "id"), "/web"),
    ("1.13", lambda: get({**CMD, "id": "/g//web/"}, "id"), "/g/web"),
    ("1.16", lambda: get({**CMD, "dependencies": ["db", "/db", "g/../db"]}, "dependencies"),
     ["/db"]),
    ("2.1", lambda: get({**CMD, "notAField": 1, "tasksRunning": 2}, "notAField"), "<absent>"),
    ("2.2", lambda: get({**CMD, "instances": None}, "instances"), 1),
    ("2.9", lambda: get({**CMD, "acceptedResourceRoles": ["*", "*"]}, "acceptedResourceRoles"),
     ["*"]),
    ("2.39", lambda: {k: get(CMD, k) for k in ("cpus", "mem", "disk", "gpus", "executor",
                                                "backoffSeconds", "backoffFactor",
                                                "maxLaunchDelaySeconds", "requirePorts",
                                                "killSelection", "labels")},
     {"cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0, "executor": "", "backoffSeconds": 1,
      "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300, "requirePorts": False,
      "killSelection": "YOUNGEST_FIRST", "labels": {}}),
    ("3.19", lambda: get({**BRIDGE, "networks": [{"mode": "host"}]}, "container",
                         "portMappings"), "<absent>"),
    ("3.20", lambda: get({**BRIDGE, "portDefinitions": [{"port": 1}]}, "portDefinitions"),
     "<absent>"),
    ("4.3", lambda: get({**CMD, "networks": []}, "networks"), [{"mode": "host"}]),
    ("4.10", lambda: get({"id": "/w", "container": {"type": "DOCKER", "docker": {
        "image": "x", "network": "USER"}}, "ipAddress": {"networkName": "overlay-a"}},
        "networks"), [{"mode": "container", "name": "overlay-a"}]),
    ("4.11", lambda: get({**CMD, "ipAddress": {"networkName": "mesos-bridge"}}, "networks"),
     [{"mode": "container/bridge"}]),
    ("4.12", lambda: get({**CMD, "ipAddress": {"networkName": "overlay-a"}}, "container",
                         "type"), "MESOS"),
    ("4.13", lambda: get({**CMD, "ipAddress": {"networkName": "n", "discovery": {"ports": [
        {"number": 80, "name": "http", "protocol": "tcp"}]}}}, "container", "portMappings"),
     [{"containerPort": 80, "name": "http", "protocol": "tcp", "servicePort": 0,
       "labels": {}}]),
    ("4.16", lambda: (get(CMD, "portDefinitions"), get({**CMD, "portDefinitions": []},
                                                       "portDefinitions")),
     ([{"port": 0, "name": "default", "protocol": "tcp"}], [])),
    ("4.17", lambda: get({**CMD, "ports": [10001]}, "portDefinitions"),
     [{"port": 10001, "protocol": "tcp"}]),
    ("4.21", lambda: get({**BRIDGE, "container": {"type": "DOCKER", "docker": {
        "image": "x"}}}, "container", "portMappings"),
     [{"containerPort": 0, "name": "default", "protocol": "tcp", "servicePort": 0,
       "hostPort": 0, "labels": {}}]),
    ("4.22", lambda: len(get({**BRIDGE, "portDefinitions": [{"port": 1}, {"port": 2},
                                                             {"port": 3}]},
                             "container", "portMappings")), 3),
    ("4.23", lambda: get({**CMD, "networks": [{"mode": "container", "name": "n"}]},
                         "container", "type"), "MESOS"),
    ("4.25", lambda: get(BRIDGE, "container", "portMappings", 0, "hostPort"), 0),
    ("4.26", lambda: get({**CMD, "networks": [{"mode": "container", "name": "n"}],
                          "container": {"type": "MESOS", "portMappings": [
                              {"containerPort": 80}]}},
                         "container", "portMappings", 0, "hostPort"), "<absent>"),
    ("4.32", lambda: get({**BRIDGE, "requirePorts": True}, "requirePorts"), False),
    ("4.33", lambda: get({"id": "/w", "container": {"type": "DOCKER", "docker": {
        "image": "x", "network": "BRIDGE"}}}, "container", "docker", "network"), "<absent>"),
    ("5.2", lambda: len(get({**CMD, "healthChecks": [{"protocol": "TCP"},
                                                     {"protocol": "tcp"}]}, "healthChecks")),
     1),
    ("5.3", lambda: get({**CMD, "healthChecks": [{"protocol": "HTTP"}]}, "healthChecks", 0,
                        "portIndex"), 0),
    ("5.10", lambda: get({**CMD, "healthChecks": [{"protocol": "TCP", "path": "/x",
                                                   "delaySeconds": 3}]}, "healthChecks", 0),
     {"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 300, "intervalSeconds": 60,
      "maxConsecutiveFailures": 3, "timeoutSeconds": 20, "delaySeconds": 15,
      "ipProtocol": "IPv4"}),
    ("5.12", lambda: get({**BRIDGE, "readinessChecks": [{}]}, "readinessChecks", 0),
     {"name": "readinessCheck", "protocol": "HTTP", "path": "/", "portName": "http-api",
      "intervalSeconds": 30, "timeoutSeconds": 10, "httpStatusCodesForReady": [200],
      "preserveLastResponse": False}),
    ("5.15", lambda: get(CMD, "upgradeStrategy"),
     {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0}),
    ("5.21", lambda: get(CMD, "unreachableStrategy"),
     {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0}),
    ("5.23", lambda: get({**CMD, "unreachableStrategy": "off"}, "unreachableStrategy"),
     "disabled"),
    ("5.25", lambda: get({**CMD, "backoffSeconds": 2.0}, "backoffSeconds"), 2),
    ("6.13", lambda: get({**CMD, "constraints": [["hostname", "UNIQUE"], ["hostname",
                                                                           "UNIQUE"]]},
                         "constraints"), [["hostname", "UNIQUE"]]),
    ("7.1", lambda: canonical(CMD, MarathonSettings(mesos_role="web"))["role"], "web"),
    ("7.13", lambda: {k: get({"id": "/w", "cmd": "s", "container": {"type": "MESOS", "volumes": [
        {"containerPath": "d", "mode": "RW", "persistent": {"size": 1}}]}}, k)
        for k in ("upgradeStrategy", "unreachableStrategy", "residency")},
     {"upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.0},
      "unreachableStrategy": "disabled",
      "residency": {"relaunchEscalationTimeoutSeconds": 3600,
                    "taskLostBehavior": "WAIT_FOREVER"}}),
    ("8.4", lambda: sorted(set(canonical({**CMD, "env": {}, "args": [], "constraints": [],
                                          "healthChecks": [], "fetch": [],
                                          "secrets": {}})) & set(OMIT_EMPTY)), []),
    ("8.6", lambda: sorted({"ports", "uris", "ipAddress"} & set(canonical(
        {**CMD, "ports": [1], "uris": ["https://a/b"]}))), []),
    ("8.9", lambda: get({**BRIDGE, "container": {**BRIDGE["container"], "docker": {
        "image": "x", "credential": {"principal": "p"}}}}, "container", "docker"),
     {"image": "x", "forcePullImage": False, "privileged": False, "parameters": []}),
    ("8.10", lambda: get({**CMD, "uris": ["https://a/b.tgz", "https://a/run.sh"]}, "fetch"),
     [{"uri": "https://a/b.tgz", "extract": True, "executable": False, "cache": False},
      {"uri": "https://a/run.sh", "extract": False, "executable": False, "cache": False}]),
    ("8.12", lambda: (get({**BRIDGE, "killSelection": "oldest_first"}, "killSelection"),
                      get({**BRIDGE, "container": {**BRIDGE["container"], "type": "docker"}},
                          "container", "type")), ("OLDEST_FIRST", "DOCKER")),
    ("8.23", lambda: get({**CMD, "mem": 64}, "mem"), 64.0),
    ("8.24", lambda: get({**CMD, "residency": {}}, "residency"), "<absent>"),
    ("9.5", lambda: get({**CMD, "executorResources": {"cpus": 0.2}}, "executorResources"),
     "<absent>"),
    ("9.6", lambda: get({**CMD, "instances": 3}, "maxLaunchDelaySeconds"), 300),
]


@pytest.mark.parametrize(("rule", "compute", "expected"), NORMALISATION,
                         ids=[f"rule-{r[0]}" for r in NORMALISATION])
def test_normalisation_rule(rule: str, compute: Any, expected: Any) -> None:
    assert compute() == expected


def test_canonical_does_not_touch_its_input() -> None:
    app = copy.deepcopy(BRIDGE)
    canonical(app)
    assert app == BRIDGE


# --- refusals of the case folders (the rules themselves: test_app_rules.py) ---

def topo(**agent_data: Any):
    return build_topology({"masters": [("m1", {"ip": "10.0.0.1", "zookeeper_id": 1})],
                           "agents": [("a1", {"ip": "10.0.0.2", **agent_data})]})


# Load balancers apart from the agents: a requirePorts app's own service ports are then free.
SEPARATE_LB = build_topology({"masters": [("m1", {"ip": "10.0.0.1", "zookeeper_id": 1})],
                              "agents": [("a1", {"ip": "10.0.0.2"})],
                              "load_balancers": [("lb1", {"ip": "10.0.0.3"})]})


@pytest.mark.parametrize(("case", "expected"), [
    ("env-not-strings", ["mailer.json: env.SMTP_PORT: must be a string",
                         "mailer.json: env.SMTP_STARTTLS: must be a string",
                         "mailer.json: env.DB_POOL: must be a string"]),
    ("health-check-without-ports", [
        "noports.json: healthChecks[0].portIndex: Health check port indices",
        "tcp-noports-noindex.json: healthChecks[0].portIndex: Health check port indices"]),
    ("nothing-to-run", ["nothing-to-run.json: cmd: AppDefinition must either contain"]),
    ("ipaddress-and-networks", [
        "host-legacy-vs-bridge-new.json: container.docker.network: must not specify both",
        "ipaddress-and-networks.json: ipAddress: must not specify both networks and ipAddress"]),
    ("legacy-host-portmappings/apps-variant", [
        "gateway.json: portDefinitions.port: 8080 is the Marathon HTTP port",
        "gateway.json: portDefinitions.port: 31500 is inside agent a1's ports resource"]),
])
def test_case_refused(case: str, expected: list[str]) -> None:
    found = [p.format() for p in apps.validate_app_dir(str(CASES / case), SEPARATE_LB)
             if p.level == "error"]
    for text in expected:
        assert any(f"{CASES / case}/{text}" in line for line in found), (text, found)
    assert len(found) == len(expected), found


def test_legacy_host_portmappings_passes_with_a_warning() -> None:
    where = str(CASES / "legacy-host-portmappings" / "apps")
    found = apps.validate_app_dir(where, SEPARATE_LB)
    assert found and all(p.level == "warning" for p in found), found
    # With HAProxy on the agents (the default), its requirePorts 4000/11224 are HAProxy's.
    assert [p.field for p in apps.validate_app_dir(where, topo()) if p.level == "error"] == [
        "requirePorts", "requirePorts"]


def test_require_ports_on_a_load_balancer_is_refused() -> None:
    found = [p.format() for p in apps.validate_app_dir(str(CASES / "require-ports-on-lb"),
                                                       topo())]
    assert found == [f"error: {CASES}/require-ports-on-lb/requireports.json: requirePorts: port "
                     "8443 is a service port HAProxy binds on every load balancer, and every "
                     "agent is one (a1): the task can never launch. Use requirePorts false, or "
                     "load_balancers that are not agents"]
    separate = build_topology({"masters": [("m1", {"zookeeper_id": 1})],
                               "agents": [("a1", {})], "load_balancers": [("lb1", {})]})
    assert apps.validate_app_dir(str(CASES / "require-ports-on-lb"), separate) == []


def test_app_id_that_is_another_apps_group(tmp_path: Path) -> None:
    """1.17: Groups and Applications may not have the same identifier."""
    (tmp_path / "a.json").write_text(json.dumps({"id": "/shop", "cmd": "serve",
                                                 "portDefinitions": []}))
    (tmp_path / "b.json").write_text(json.dumps({"id": "/shop/cart", "cmd": "serve",
                                                 "portDefinitions": []}))
    found = [p.format() for p in apps.validate_app_dir(str(tmp_path), topo())]
    assert found == [f"error: {tmp_path}/a.json: id: '/shop' is also the group of '/shop/cart'"
                     ": Groups and Applications may not have the same identifier (Marathon "
                     "1.10 rule 1.17)"]


def test_dependency_cycle(tmp_path: Path) -> None:
    """1.19: Dependency graph has cyclic dependencies."""
    for name, dep in (("a", "b"), ("b", "a")):
        (tmp_path / f"{name}.json").write_text(json.dumps(
            {"id": f"/{name}", "cmd": "serve", "portDefinitions": [], "dependencies": [dep]}))
    found = [p.format() for p in apps.validate_app_dir(str(tmp_path), topo())]
    assert f"error: {tmp_path}/a.json: dependencies: Dependency graph has cyclic dependencies " \
           "(Marathon 1.10 rule 1.19)" in found


def test_ports_with_a_role_are_agent_ports(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"id": "/a", "cmd": "serve",
                                                 "portDefinitions": [{"port": 9500}]}))
    found = apps.validate_app_dir(str(tmp_path), topo(mesos_resources={"ports(*)":
                                                                       "[9000-9999]"}))
    assert "inside agent a1's ports resource [9000-9999]" in found[0].format()


def test_instance_overrides_come_from_the_cluster_data(tmp_path: Path) -> None:
    """check and the deploy run the same validate_app_dir, overrides included."""
    (tmp_path / "a.json").write_text(json.dumps({"id": "/a", "cmd": "serve"}))
    cluster = build_topology({"masters": [("m1", {"zookeeper_id": 1,
                                                  "apps_instances": {"hello": 1}})],
                              "agents": [("a1", {})]})
    assert [p.format() for p in apps.validate_app_dir(str(tmp_path), cluster)] == [
        "error: apps_instances: hello: no app with this id (known: a)"]
