"""status_model: raw answers -> ClusterStatus and its problems, on fixtures.

Mesos: tests/data/reference/examples/mesos/get-master-state.json (Mesos 1.8 /master/state,
leader master@10.0.5.220:5050, agents 10.0.0.40 and 10.0.6.5, frameworks marathon + metronome).
Marathon: .../marathon/other-repos/marathon-lb_tests_marathon15_apps.json (/pywebserver, 1 of 1
running, servicePort 10101, HAPROXY_GROUP external) and .../marathon/get-v2-apps-list.json
(/myapp, 0 of 3 running). ZooKeeper: tests/data/status/srvr-*.txt.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos.inventory_data import default_data
from pyinfra_mesos.status_model import (
    HTTP_MARK,
    Failed,
    RawAnswers,
    address_of,
    build_status,
    parse_http,
    parse_srvr,
)
from pyinfra_mesos.topology import build_topology

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "data" / "reference" / "examples"
STATUS = ROOT / "tests" / "data" / "status"
LEADER = "10.0.5.220:5050"


def srvr(mode: str) -> str:
    return (STATUS / f"srvr-{mode}.txt").read_text()


def http(body: Any = "", status: int = 200, location: str = "", rc: int = 0) -> str:
    """What status_collect.curl_command prints on the host."""
    text = body if isinstance(body, str) else json.dumps(body)
    return f"{text}\n{HTTP_MARK} {status} {location} {rc}\n"


def master_state() -> dict[str, Any]:
    return json.loads((REF / "mesos" / "get-master-state.json").read_text())


def apps_healthy() -> dict[str, Any]:
    return json.loads((REF / "marathon" / "other-repos" /
                       "marathon-lb_tests_marathon15_apps.json").read_text())


def topology() -> Any:
    """Three masters and two agents, each with group_data/all.py merged in as the inventory
    loaders merge it (the ports come from there)."""
    defaults = default_data()
    masters = [(f"m{i}", {**defaults, "ip": ip, "zookeeper_id": i})
               for i, ip in enumerate(["10.0.5.220", "10.0.5.221", "10.0.5.222"], 1)]
    agents = [("a1", {**defaults, "ip": "10.0.0.40", "haproxy_group": "external"}),
              ("a2", {**defaults, "ip": "10.0.6.5"})]
    return build_topology({"masters": masters, "agents": agents})


def healthy_raw(**changes: Any) -> RawAnswers:
    raw = {
        "srvr": {"m1": srvr("leader"), "m2": srvr("follower"), "m3": srvr("follower")},
        "redirect": {m: http("", 307, f"http://{LEADER}/") for m in ("m1", "m2", "m3")},
        "master_state": http(master_state()),
        "marathon_leader": {m: http({"leader": "10.0.5.220:8080"}) for m in ("m1", "m2", "m3")},
        "apps": http(apps_healthy()),
        "lb_ports": {"a1": "10101 open\n", "a2": "10101 open\n"},
    }
    raw.update(changes)
    return RawAnswers(**raw)


def test_healthy_cluster_has_no_problems() -> None:
    status = build_status(topology(), healthy_raw())
    assert status.problems == ()
    assert status.healthy
    assert [m.mode for m in status.zookeeper] == ["leader", "follower", "follower"]
    assert status.zookeeper[0].zxid == "0x100000042"
    assert status.mesos_leader == LEADER
    assert [(a.name, a.state) for a in status.agents] == [("a1", "active"), ("a2", "active")]
    assert {f.name for f in status.frameworks} == {"marathon", "metronome"}
    assert status.marathon_leader == "10.0.5.220:8080"
    assert [(a.id, a.instances, a.running, a.service_ports) for a in status.apps] == [
        ("/pywebserver", 1, 1, (10101,))]
    assert [(lb.name, [(p.port, p.serving) for p in lb.ports])
            for lb in status.load_balancers] == [("a1", [(10101, True)]), ("a2", [(10101, True)])]


@pytest.mark.parametrize("modes, expected", [
    (("leader", "leader", "follower"), "2 leaders, want exactly 1"),
    (("leader", "follower", "standalone"), "m3 standalone in a 3-member ensemble"),
    (("follower", "not-serving", "follower"), "m2 is not serving"),
])
def test_split_or_broken_zookeeper(modes: tuple[str, str, str], expected: str) -> None:
    raw = healthy_raw(srvr={f"m{i}": srvr(mode) for i, mode in enumerate(modes, 1)})
    problems = build_status(topology(), raw).problems
    assert any(expected in p for p in problems), problems


def test_masters_each_electing_themselves_disagree() -> None:
    """Standalone masters (no --zk) each lead a cluster of their own (src/master/main.cpp)."""
    raw = healthy_raw(redirect={f"m{i}": http("", 307, f"http://10.0.5.22{i - 1}:5050/")
                                for i in (1, 2, 3)})
    status = build_status(topology(), raw)
    assert status.mesos_leader is None
    assert any("masters disagree on the leader" in p for p in status.problems), status.problems


def test_master_without_leader_answers_503() -> None:
    raw = healthy_raw(redirect={"m1": http("", 307, f"http://{LEADER}/"),
                                "m2": http("No leader elected", 503),
                                "m3": http("", 0, rc=7)})
    problems = build_status(topology(), raw).problems
    assert "Mesos: m2 knows no leader (HTTP 503: no leader elected)" in problems
    assert ("Mesos: m3 knows no leader (no answer (connection refused or unreachable))"
            in problems)


def test_leader_outside_the_inventory_is_a_problem() -> None:
    raw = healthy_raw(redirect={m: http("", 307, "http://127.0.1.1:5050/")
                                for m in ("m1", "m2", "m3")})
    problems = build_status(topology(), raw).problems
    assert "Mesos: the leader 127.0.1.1:5050 is not a master of the inventory" in problems


def test_inactive_and_missing_agents() -> None:
    state = master_state()
    state["slaves"][0]["active"] = False  # 10.0.0.40 = a1
    del state["slaves"][1]  # 10.0.6.5 = a2 never registered
    status = build_status(topology(), healthy_raw(master_state=http(state)))
    assert [(a.name, a.state) for a in status.agents] == [("a1", "inactive"),
                                                          ("a2", "not registered")]
    assert "Mesos: agent a1 is inactive" in status.problems
    assert "Mesos: agent a2 is not registered" in status.problems


def test_disconnected_framework() -> None:
    state = master_state()
    marathon = next(f for f in state["frameworks"] if f["name"] == "marathon")
    marathon["connected"] = False
    problems = build_status(topology(), healthy_raw(master_state=http(state))).problems
    assert any(p.startswith("Mesos: framework marathon (") and p.endswith(
        "is active and disconnected") for p in problems), problems


def test_missing_marathon_framework() -> None:
    state = master_state()
    state["frameworks"] = [f for f in state["frameworks"] if f["name"] != "marathon"]
    problems = build_status(topology(), healthy_raw(master_state=http(state))).problems
    assert "Mesos: no framework named marathon is registered" in problems


def test_app_with_fewer_healthy_than_wanted() -> None:
    apps = apps_healthy()
    app = apps["apps"][0]
    app.update(instances=2, tasksRunning=2, tasksHealthy=1,
               healthChecks=[{"protocol": "HTTP", "path": "/", "portIndex": 0}])
    problems = build_status(topology(), healthy_raw(apps=http(apps))).problems
    assert problems == ("Marathon: app /pywebserver: 1 of 2 instances healthy",)


def test_app_with_fewer_running_than_wanted() -> None:
    apps = json.loads((REF / "marathon" / "get-v2-apps-list.json").read_text())
    problems = build_status(topology(), healthy_raw(apps=http(apps))).problems
    assert "Marathon: app /myapp: 0 of 3 instances running" in problems


def test_load_balancer_not_serving_a_port() -> None:
    raw = healthy_raw(lb_ports={"a1": "10101 open\n", "a2": "10101 closed\n"})
    problems = build_status(topology(), raw).problems
    assert problems == ("load balancer a2: not serving port 10101 (/pywebserver)",)


def test_load_balancer_group_decides_its_ports() -> None:
    """a1 serves HAPROXY_GROUP external only: an app in another group is not its to serve."""
    apps = apps_healthy()
    extra = copy.deepcopy(apps["apps"][0])
    extra.update(id="/internal", labels={"HAPROXY_GROUP": "internal"})
    extra["container"]["portMappings"][0]["servicePort"] = 10102
    apps["apps"].append(extra)
    raw = healthy_raw(apps=http(apps), lb_ports={"a1": "10101 open\n",
                                                 "a2": "10101 open\n10102 closed\n"})
    status = build_status(topology(), raw)
    assert [p.port for p in status.load_balancers[0].ports] == [10101]
    assert status.problems == ("load balancer a2: not serving port 10102 (/internal)",)


def test_marathon_instances_disagree_and_401() -> None:
    raw = healthy_raw(marathon_leader={"m1": http({"leader": "10.0.5.220:8080"}),
                                       "m2": http({"leader": "10.0.5.221:8080"}),
                                       "m3": http("", 401)})
    status = build_status(topology(), raw)
    assert status.marathon_leader is None
    assert any("instances disagree on the leader" in p for p in status.problems)
    assert any("m3 names no leader (HTTP 401" in p for p in status.problems)


def test_unreachable_host_is_listed() -> None:
    raw = healthy_raw(unreachable={"a2": "a2: cannot connect over SSH"},
                      lb_ports={"a1": "10101 open\n", "a2": Failed("a2: unreachable over SSH")})
    status = build_status(topology(), raw)
    assert status.unreachable == {"a2": "a2: cannot connect over SSH"}
    assert "unreachable: a2: cannot connect over SSH" in status.problems
    assert "load balancer a2: a2: unreachable over SSH" in status.problems


def test_no_leader_state_means_agents_unknown_without_a_line_each() -> None:
    raw = healthy_raw(master_state=None,
                      redirect={m: http("", 503) for m in ("m1", "m2", "m3")})
    status = build_status(topology(), raw)
    assert {a.state for a in status.agents} == {"unknown"}
    assert not any("agent" in p for p in status.problems)


def test_parse_helpers() -> None:
    assert parse_srvr(srvr("not-serving"))[0] == "not serving"
    assert parse_srvr("")[0] == "unreachable"
    assert parse_srvr(Failed("x")) == ("unreachable", None, "x")
    assert address_of("//m1.example:5050") == "m1.example:5050"
    assert address_of("master@10.0.0.1:5050") == "10.0.0.1:5050"
    assert address_of("http://master:5050/") == "master:5050"
    assert isinstance(parse_http("garbage"), Failed)
    answer = parse_http(http("", 503))
    assert not isinstance(answer, Failed) and (answer.status, answer.location) == (503, "")
