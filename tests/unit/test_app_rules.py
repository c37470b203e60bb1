"""app_rules.validate_app: one row per refusing rule of Marathon 1.10 (app_rules' index).

Each row: the rule it pins, a valid base app, a change that breaks exactly that rule, the field
path the refusal must name, and the rule number the message must cite (the same, except where
Marathon's earlier stage refuses first: then the row says which). Rules that refuse nothing
(normalisation, defaults) are pinned in test_app_canonical.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from pyinfra_mesos.app_canonical import MarathonSettings
from pyinfra_mesos.app_rules import validate_app

CMD: dict[str, Any] = {"id": "/web", "cmd": "serve", "cpus": 0.1, "mem": 32}
DOCKER: dict[str, Any] = {
    "id": "/web", "cpus": 0.1, "mem": 32,
    "container": {"type": "DOCKER", "docker": {"image": "nginx:1"},
                  "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 10080,
                                    "name": "http"}]},
    "networks": [{"mode": "container/bridge"}]}
MESOS: dict[str, Any] = {"id": "/web", "cmd": "serve", "cpus": 0.1, "mem": 32,
                         "container": {"type": "MESOS"}}
RESIDENT_VOLUME = {"containerPath": "data", "mode": "RW", "persistent": {"size": 10}}
FEATURES = MarathonSettings(features=frozenset({"secrets", "gpu_resources",
                                                "external_volumes"}))
NAMED_DEFAULT = MarathonSettings(default_network_name="overlay-a")


def patch(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out.update(changes)
    return out


def nested(base: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    change(out)
    return out


def docker_set(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda app: app["container"]["docker"].update(changes)


def mapping_set(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda app: app["container"]["portMappings"][0].update(changes)


# (rule, app, field named, rule cited, settings)
ROWS: list[tuple[str, dict[str, Any], str, str, MarathonSettings | None]] = [
    ("1.1", patch(CMD, id=None), "id", "1.1", None),
    ("1.2", patch(CMD, id=""), "id", "1.2", None),
    ("1.3", patch(CMD, id="/Web_1"), "id", "1.3", None),
    ("1.7", patch(CMD, id="/a/.."), "id", "1.7", None),
    ("1.8", patch(CMD, id="/"), "id", "1.8", None),
    # 1.9: a segment the raw pattern lets through always matches; the raw pattern refuses first.
    ("1.9", patch(CMD, id="/a/-b"), "id", "1.3", None),
    ("1.10", patch(CMD, id="/web/tasks"), "id", "1.10", None),
    ("1.14", patch(CMD, dependencies=["db_1"]), "dependencies[0]", "1.14", None),
    ("1.15", patch(CMD, dependencies=["/a/../b"]), "dependencies[0]", "1.15", None),
    ("2.3", patch(CMD, instances=1.5), "instances", "2.3", None),
    ("2.4", patch(CMD, unreachableStrategy={"inactiveAfterSeconds": 1.5,
                                            "expungeAfterSeconds": 2}),
     "unreachableStrategy.inactiveAfterSeconds", "2.4", None),
    # 2.6: a literal too long for Jackson; Python reads it, and it is no int32 either.
    ("2.6", patch(CMD, instances=10 ** 400), "instances", "2.3", None),
    ("2.7", patch(CMD, cmd=5), "cmd", "2.7", None),
    ("2.8", nested(MESOS, lambda a: a["container"].update(type="rkt")), "container.type",
     "2.8", None),
    ("2.11", patch(CMD, instances=-1), "instances", "2.11", None),
    ("2.12", patch(CMD, cpus=0), "cpus", "2.12", None),
    ("2.13", patch(CMD, mem=-1), "mem", "2.13", None),
    ("2.14", patch(CMD, disk=-1), "disk", "2.14", None),
    ("2.15", patch(CMD, gpus=-1), "gpus", "2.15", None),
    ("2.16", patch(CMD, cmd=""), "cmd", "2.16", None),
    ("2.17", patch(CMD, cmd="x"), "cmd", "2.17", None),
    ("2.18", patch(DOCKER, args=[1]), "args", "2.18", None),
    ("2.19", patch(CMD, user=0), "user", "2.7", None),
    ("2.20", patch(CMD, env={"PORT": 587}), "env.PORT", "2.20", None),
    ("2.21", patch(CMD, env={"": "x"}), "env", "2.21", None),
    ("2.22", patch(CMD, labels={"tier": 1}), "labels.tier", "2.22", None),
    ("2.23", patch(CMD, labels={"DCOS_MIGRATION_API_VERSION": "v2"}),
     "labels.DCOS_MIGRATION_API_VERSION", "2.23", None),
    ("2.24", patch(CMD, executor="a//b"), "executor", "2.24", None),
    ("2.25", patch(CMD, backoffSeconds=-1), "backoffSeconds", "2.25", None),
    ("2.26", patch(CMD, backoffFactor=0.5), "backoffFactor", "2.26", None),
    ("2.27", patch(CMD, maxLaunchDelaySeconds=-1), "maxLaunchDelaySeconds", "2.27", None),
    ("2.28", patch(CMD, taskKillGracePeriodSeconds=-1), "taskKillGracePeriodSeconds", "2.28",
     None),
    ("2.29", patch(CMD, requirePorts="yes"), "requirePorts", "2.29", None),
    ("2.30", patch(CMD, tty="yes"), "tty", "2.30", None),
    ("2.31", patch(CMD, role=""), "role", "2.31", None),
    ("2.32", patch(CMD, version="yesterday"), "version", "2.32", None),
    ("2.33", patch(CMD, executorResources={"cpus": 0.01}), "executorResources.cpus", "2.33",
     None),
    ("2.34", patch(CMD, resourceLimits={"cpus": "lots"}), "resourceLimits.cpus", "2.34", None),
    ("2.35", patch(CMD, resourceLimits={"cpus": 0.05}), "resourceLimits.cpus", "2.35", None),
    ("2.36", patch(CMD, fetch=[{"uri": ""}]), "fetch[0].uri", "2.36", None),
    ("2.37", patch(CMD, fetch=[{"uri": "https://a b/x.tgz"}]), "fetch[0].uri", "2.37", None),
    ("2.38", patch(CMD, secrets={"db": {"source": ""}}), "secrets.db.source", "2.38", None),
    ("3.1", patch(CMD, args=["serve"]), "cmd", "3.1", None),
    ("3.2", nested(MESOS, lambda a: a.pop("cmd")), "cmd", "3.2", None),
    ("3.3", patch(CMD, uris=["https://a/x.tgz"], fetch=[{"uri": "https://a/y.tgz"}]), "uris",
     "3.3", None),
    ("3.4", patch(MESOS, ipAddress={"networkName": "overlay-a"},
                  networks=[{"mode": "container", "name": "overlay-a"}]), "ipAddress", "3.4",
     None),
    ("3.5", nested(DOCKER, docker_set(network="HOST")), "container.docker.network", "3.5",
     None),
    ("3.6", patch(MESOS, ipAddress={"networkName": "overlay-a"},
                  portDefinitions=[{"port": 10001}]), "ipAddress", "3.6", None),
    ("3.7", patch(CMD, ports=[10001], portDefinitions=[{"port": 10002}]), "ports", "3.7", None),
    ("3.8", patch(CMD, ports=[10001, 10001]), "ports", "3.8", None),
    ("3.9", patch(DOCKER, ipAddress={"discovery": {"ports": []}}, networks=None),
     "ipAddress.discovery", "3.9", None),
    ("3.10", nested(DOCKER, docker_set(portMappings=[{"containerPort": 81}])),
     "container.docker.portMappings", "3.10", None),
    ("3.11", nested(patch(MESOS, ipAddress={"networkName": "overlay-a", "discovery": {
        "ports": [{"number": 80, "name": "http", "protocol": "tcp"}]}}),
        lambda a: a["container"].update(portMappings=[])), "container.portMappings", "3.11",
     None),
    ("3.12", nested(DOCKER, docker_set(network="NONE")), "container.docker.network", "3.12",
     None),
    ("3.13", nested(MESOS, lambda a: a["container"].update(
        docker={"image": "nginx:1", "parameters": [{"key": "a", "value": "b"}]})),
     "container.docker.parameters", "3.13", None),
    ("3.14", nested(DOCKER, docker_set(credential={"principal": "p"})),
     "container.docker.credential", "3.14", None),
    ("3.15", nested(CMD, lambda a: a.update(container={"type": "DOCKER"})),
     "container.docker", "3.15", None),
    ("3.16", nested(DOCKER, docker_set(image="")), "container.docker.image", "3.16", None),
    ("3.17", nested(DOCKER, docker_set(pullConfig={"secret": "s"})),
     "container.docker.pullConfig", "3.17", None),
    ("3.18", nested(MESOS, lambda a: a["container"].update(
        docker={"image": "nginx:1", "pullConfig": {"secret": "s"}})),
     "container.docker.pullConfig.secret", "3.18", None),
    ("3.21", patch(CMD, upgradeStrategy={"minimumHealthCapacity": 0.5}),
     "upgradeStrategy.maximumOverCapacity", "3.21", None),
    ("3.22", patch(DOCKER, check={"http": {"portIndex": 0}}), "check", "3.22", None),
    ("4.1", patch(CMD, networks=[{"mode": "overlay"}]), "networks[0].mode", "4.1", None),
    ("4.2", patch(MESOS, networks=[{"mode": "container", "name": "Bad_"}]), "networks[0].name",
     "4.2", None),
    ("4.4", patch(CMD, networks=[{"mode": "host"}, {"mode": "container/bridge"}]), "networks",
     "4.4", None),
    ("4.5", patch(CMD, networks=[{"mode": "host", "name": "h"}]), "networks[0]", "4.5", None),
    ("4.6", patch(DOCKER, networks=[{"mode": "container/bridge", "name": "b"}]),
     "networks[0].name", "4.6", None),
    ("4.7", patch(MESOS, networks=[{"mode": "container", "name": "a"},
                                   {"mode": "container", "name": "a"}]), "networks", "4.7",
     None),
    ("4.8", patch(MESOS, networks=[{"mode": "container"}]), "networks", "4.8", None),
    ("4.9", patch(DOCKER, networks=[{"mode": "container", "name": "a"},
                                    {"mode": "container", "name": "b"}]), "networks", "4.9",
     None),
    ("4.14", nested(patch(DOCKER, networks=None), lambda a: (
        a["container"]["docker"].update(network="BRIDGE", portMappings=[
            {"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}]),
        a["container"].pop("portMappings"))), "container.docker.portMappings", "4.14", None),
    ("4.15", patch(CMD, portDefinitions=[{"port": 70000}]), "portDefinitions[0].port", "4.15",
     None),
    ("4.18", patch(CMD, portDefinitions=[{"port": 0, "name": "a"}, {"port": 0, "name": "a"}]),
     "portDefinitions", "4.18", None),
    ("4.19", patch(CMD, portDefinitions=[{"port": 10001}, {"port": 10001}]), "portDefinitions",
     "4.19", None),
    ("4.20", nested(DOCKER, mapping_set(containerPort=70000)),
     "container.portMappings[0].containerPort", "4.20", None),
    ("4.24", nested(DOCKER, lambda a: a["container"]["portMappings"].append(
        {"containerPort": 81, "hostPort": 0, "name": "http"})), "container.portMappings",
     "4.24", None),
    ("4.27", nested(patch(MESOS, networks=[{"mode": "container", "name": "a"},
                                           {"mode": "container", "name": "b"}]),
                    lambda a: a["container"].update(portMappings=[
                        {"containerPort": 80, "hostPort": 0}])),
     "container.portMappings[0].networkNames", "4.27", None),
    ("4.28", nested(patch(MESOS, networks=[{"mode": "container", "name": "a"}]),
                    lambda a: a["container"].update(portMappings=[
                        {"containerPort": 80, "networkNames": ["b"]}])),
     "container.portMappings[0].networkNames", "4.28", None),
    ("5.1", patch(CMD, healthChecks=[{"protocol": "FOO"}]), "healthChecks[0].protocol", "5.1",
     None),
    ("5.4", patch(CMD, portDefinitions=[], healthChecks=[{"protocol": "HTTP"}]),
     "healthChecks[0].portIndex", "5.4", None),
    ("5.5", patch(DOCKER, healthChecks=[{"protocol": "MESOS_HTTP", "portIndex": 3}]),
     "healthChecks[0].portIndex", "5.5", None),
    ("5.6", patch(DOCKER, healthChecks=[{"protocol": "MESOS_HTTP"},
                                        {"protocol": "MESOS_TCP"}]), "healthChecks", "5.6",
     None),
    ("5.7", patch(DOCKER, healthChecks=[{"protocol": "HTTP", "ipProtocol": "IPv6"}]),
     "healthChecks[0].ipProtocol", "5.7", None),
    ("5.8", patch(CMD, healthChecks=[{"command": {"value": "true"}}]),
     "healthChecks[0].protocol", "5.8", None),
    ("5.9", patch(CMD, healthChecks=[{"protocol": "COMMAND"}]), "healthChecks[0].command",
     "5.9", None),
    ("5.11", patch(DOCKER, readinessChecks=[{"portName": "http"}, {"portName": "http",
                                                                   "name": "b"}]),
     "readinessChecks", "5.11", None),
    ("5.12", patch(DOCKER, readinessChecks=[{"portName": "Bad_"}]),
     "readinessChecks[0].portName", "5.12", None),
    ("5.13", patch(DOCKER, readinessChecks=[{"portName": "http", "intervalSeconds": 5,
                                             "timeoutSeconds": 5}]),
     "readinessChecks[0].timeoutSeconds", "5.13", None),
    ("5.14", patch(DOCKER, readinessChecks=[{"portName": "admin"}]),
     "readinessChecks[0].portName", "5.14", None),
    ("5.15", patch(CMD, upgradeStrategy={"minimumHealthCapacity": 0.5,
                                         "maximumOverCapacity": 2}),
     "upgradeStrategy.maximumOverCapacity", "5.15", None),
    ("5.16", patch(CMD, residency={}), "upgradeStrategy.maximumOverCapacity", "5.16", None),
    ("5.17", patch(CMD, instances=2, labels={"MARATHON_SINGLE_INSTANCE_APP": "true"},
                   upgradeStrategy={"minimumHealthCapacity": 0, "maximumOverCapacity": 0}),
     "instances", "5.17", None),
    ("5.18", patch(CMD, labels={"MARATHON_SINGLE_INSTANCE_APP": "true"}), "upgradeStrategy",
     "5.18", None),
    ("5.19", nested(MESOS, lambda a: a["container"].update(volumes=[
        {"containerPath": "d", "mode": "RW", "external": {"name": "v", "provider": "dvdi"}}])),
     "upgradeStrategy.maximumOverCapacity", "5.19", FEATURES),
    ("5.20", patch(CMD, killSelection="RANDOM"), "killSelection", "5.20", None),
    ("5.21", patch(CMD, unreachableStrategy={"inactiveAfterSeconds": -1}),
     "unreachableStrategy.inactiveAfterSeconds", "5.21", None),
    ("5.22", patch(CMD, unreachableStrategy={"inactiveAfterSeconds": 10,
                                             "expungeAfterSeconds": 5}),
     "unreachableStrategy.inactiveAfterSeconds", "5.22", None),
    ("5.24", patch(CMD, residency={}, unreachableStrategy={"inactiveAfterSeconds": 0}),
     "unreachableStrategy", "5.24", None),
    ("5.26", patch(MESOS, check={"http": {"portIndex": 5}}), "check.http.portIndex", "5.26",
     None),
    ("6.1", patch(CMD, constraints=[["hostname", 1]]), "constraints[0]", "6.1", None),
    ("6.2", patch(CMD, constraints=[["hostname"]]), "constraints[0]", "6.2", None),
    ("6.3", patch(CMD, constraints=[["", "UNIQUE"]]), "constraints[0]", "6.3", None),
    ("6.4", patch(CMD, constraints=[["hostname", "SPREAD"]]), "constraints[0]", "6.4", None),
    ("6.5", patch(CMD, constraints=[["hostname", "unique"]]), "constraints[0]", "6.5", None),
    ("6.6", patch(CMD, constraints=[["hostname", "UNIQUE", "x"]]), "constraints[0]", "6.6",
     None),
    ("6.8", patch(CMD, constraints=[["rack", "GROUP_BY", "two"]]), "constraints[0]", "6.8",
     None),
    ("6.9", patch(CMD, constraints=[["rack", "MAX_PER"]]), "constraints[0]", "6.9", None),
    ("6.10", patch(CMD, constraints=[["rack", "LIKE"]]), "constraints[0]", "6.10", None),
    ("6.11", patch(CMD, constraints=[["rack", "LIKE", "("]]), "constraints[0]", "6.11", None),
    ("6.12", patch(CMD, constraints=[["rack", "IS", "[1-2]"]]), "constraints[0]", "6.12", None),
    ("6.14", nested(MESOS, lambda a: a["container"].update(volumes=[
        {**RESIDENT_VOLUME, "persistent": {"size": 10, "type": "mount",
                                           "constraints": [["path", "IS", "x"]]}}])),
     "container.volumes[0].persistent.constraints[0]", "6.14", None),
    ("7.2", patch(CMD, role="analytics"), "role", "7.2", None),
    ("7.3", patch(CMD, acceptedResourceRoles=[]), "acceptedResourceRoles", "7.3", None),
    ("7.4", patch(CMD, acceptedResourceRoles=["-x"]), "acceptedResourceRoles[0]", "7.4", None),
    ("7.5", patch(CMD, acceptedResourceRoles=["analytics"]), "acceptedResourceRoles[0]", "7.5",
     None),
    ("7.6", patch(CMD, residency={}, acceptedResourceRoles=["web"]), "acceptedResourceRoles",
     "7.6", MarathonSettings(mesos_role="web")),
    ("7.8", patch(CMD, residency={}, upgradeStrategy={"minimumHealthCapacity": 0.5,
                                                      "maximumOverCapacity": 0}),
     "role", "7.8", None),
    ("7.10", nested(MESOS, lambda a: a["container"].update(volumes=[
        {**RESIDENT_VOLUME, "containerPath": "a/b"}])), "container.volumes[0].containerPath",
     "7.10", None),
    ("7.11", nested(MESOS, lambda a: a["container"].update(volumes=[
        {**RESIDENT_VOLUME, "persistent": {"size": 0}}])), "container.volumes[0].persistent.size",
     "7.11", None),
    ("7.12", nested(MESOS, lambda a: a["container"].update(volumes=[
        {**RESIDENT_VOLUME, "persistent": {"size": 10, "maxSize": 20}}])),
     "container.volumes[0].persistent.maxSize", "7.12", None),
    ("7.15", nested(MESOS, lambda a: a["container"].update(volumes=[
        {"containerPath": "/data", "hostPath": "/srv/data"}])), "container.volumes[0].mode",
     "7.15", None),
    # 7.16: a volume that fits no alternative is reported by the last one tried (host).
    ("7.16", nested(MESOS, lambda a: a["container"].update(volumes=[
        {"containerPath": "/data", "mode": "RW"}])), "container.volumes[0].hostPath", "7.15",
     None),
    ("7.17", nested(MESOS, lambda a: a["container"].update(volumes=[
        {"containerPath": "d", "mode": "RW", "external": {"name": "v", "provider": "x"}}])),
     "container.volumes[0].external", "7.17", None),
    ("7.18", patch(DOCKER, gpus=1), "gpus", "7.18", FEATURES),
    ("7.19", patch(MESOS, gpus=1), "gpus", "7.19", None),
    ("7.20", patch(CMD, secrets={"db": {"source": "db-pass"}}), "secrets", "7.20", None),
    ("7.21", patch(CMD, env={"DB": {"secret": "db"}}), "env.DB", "7.21", None),
    ("7.22", patch(CMD, env={"DB": {"secret": "db"}}), "env.DB", "7.22", FEATURES),
    ("7.23", nested(MESOS, lambda a: a["container"].update(volumes=[
        {"containerPath": "s", "secret": "db"}])), "container.volumes[0].secret", "7.23",
     FEATURES),
    ("7.24", nested(MESOS, lambda a: a["container"].update(linuxInfo={
        "seccomp": {"profileName": "p", "unconfined": True}})), "container.linuxInfo.seccomp",
     "7.24", None),
]


@pytest.mark.parametrize("base", [CMD, DOCKER, MESOS], ids=["cmd", "docker", "mesos"])
def test_bases_are_valid(base: dict[str, Any]) -> None:
    assert validate_app("a.json", base) == []


def test_every_refusing_rule_has_a_row() -> None:
    """Rules of the reference that refuse something and are not pinned here say why."""
    elsewhere = {"1.17": "test_apps.py (across files)", "1.19": "test_apps.py (across files)",
                 "1.18": "pods are never deployed by this project",
                 "3.23": "partial-update bodies are never sent (PUT ?partialUpdate=false)",
                 "4.25": "normalisation fills hostPort 0 first (test_app_canonical.py)",
                 "4.31": "service-port exhaustion is Marathon's state, not the file's",
                 "7.9": "role change of an existing resident app: Marathon's state",
                 "7.14": "update of an existing resident app: Marathon's state"}
    pinned = {row[0] for row in ROWS}
    assert not pinned & set(elsewhere)
    assert len(pinned) == len(ROWS)


@pytest.mark.parametrize(("rule", "app", "field", "cited", "settings"), ROWS,
                         ids=[f"rule-{row[0]}" for row in ROWS])
def test_rule_refuses(rule: str, app: dict[str, Any], field: str, cited: str,
                      settings: MarathonSettings | None) -> None:
    found = validate_app("apps/a.json", app, settings or MarathonSettings())
    lines = [p.format() for p in found if p.level == "error"]
    wanted = f"error: apps/a.json: {field}: "
    assert any(line.startswith(wanted) and line.endswith(f"(Marathon 1.10 rule {cited})")
               for line in lines), lines


# Rules that ACCEPT what one might expect refused: a stricter check would refuse valid apps.
ACCEPTED = [
    ("1.12", patch(CMD, id="/" + "a" * 300)),
    ("2.1", patch(CMD, tasksRunning=3, notAField=1)),
    ("2.3", patch(CMD, instances=2.0)),
    ("2.5", patch(CMD, cpus=1e300)),
    ("2.8", nested(DOCKER, lambda a: a["container"].update(type="docker"))),
    ("2.10", patch(CMD, portDefinitions=None, ports=[0, 0])),
    ("2.13", patch(CMD, mem=0)),
    ("4.30", nested(DOCKER, lambda a: a["container"]["portMappings"].append(
        {"containerPort": 81, "hostPort": 0, "servicePort": 10080}))),
    ("5.1", patch(CMD, healthChecks=[{"protocol": "TCP", "timeoutSeconds": -1}])),
    ("6.7", patch(CMD, constraints=[["rack", "CLUSTER"]])),
    ("6.8", patch(CMD, constraints=[["rack", "GROUP_BY", "-3"]])),
    ("6.10", patch(CMD, constraints=[["rack", "LIKE", ""]])),
    ("4.8", patch(MESOS, networks=[{"mode": "container"}])),
]


@pytest.mark.parametrize(("rule", "app"), ACCEPTED, ids=[f"rule-{r[0]}" for r in ACCEPTED])
def test_rule_accepts(rule: str, app: dict[str, Any]) -> None:
    settings = NAMED_DEFAULT if rule == "4.8" else MarathonSettings()
    assert [p for p in validate_app("a.json", app, settings) if p.level == "error"] == []


@pytest.mark.parametrize(("app", "field"), [
    (patch(CMD, ports=[10001]), "ports"),
    (patch(CMD, uris=["https://a/x.tgz"]), "uris"),
    (patch(MESOS, ipAddress={"networkName": "overlay-a"}), "ipAddress"),
    (nested(patch(DOCKER, networks=None), lambda a: (
        a["container"]["docker"].update(network="BRIDGE",
                                        portMappings=a["container"].pop("portMappings")))),
     "container.docker.network"),
])
def test_deprecated_forms_warn_and_pass(app: dict[str, Any], field: str) -> None:
    found = validate_app("a.json", app)
    assert [p.level for p in found] and all(p.level == "warning" for p in found), found
    assert any(p.field == field and "deprecated" in p.message for p in found)


def test_step_two_errors_hide_later_stages() -> None:
    """9.17: a type error (step 2) hides the combination rules (step 3), as Marathon does."""
    found = validate_app("a.json", patch(CMD, instances="2", args=["x"]))
    assert [p.field for p in found] == ["instances"]


def test_never_a_traceback_for_odd_shapes() -> None:
    for app in ([], "x", {"id": "/a", "cmd": "ab", "container": []},
                {"id": "/a", "cmd": "ab", "networks": [3]},
                {"id": "/a", "cmd": "ab", "healthChecks": [None, 3]}):
        validate_app("a.json", app)
