"""status_render: the people's table (sections, final verdict line) and the JSON shape."""

from __future__ import annotations

import json

from pyinfra_mesos.status_model import build_status
from pyinfra_mesos.status_render import render_json, render_table
from tests.unit.test_status_model import healthy_raw, http, srvr, topology


def test_healthy_table_ends_with_healthy() -> None:
    table = render_table(build_status(topology(), healthy_raw()))
    lines = table.splitlines()
    assert lines[-1] == "healthy"
    for title in ("== ZooKeeper ==", "== Mesos masters (leader: 10.0.5.220:5050) ==",
                  "== Mesos agents ==", "== Frameworks ==",
                  "== Marathon (leader: 10.0.5.220:8080) ==", "== Apps ==",
                  "== Load balancers =="):
        assert title in lines
    assert any(line.split() == ["m1", "10.0.5.220", "leader", "0x100000042"] for line in lines)
    assert any(line.split() == ["a2", "10.0.6.5", "10101", "/pywebserver", "serving"]
               for line in lines)


def test_unhealthy_table_lists_problems_then_the_count() -> None:
    raw = healthy_raw(srvr={"m1": srvr("leader"), "m2": srvr("leader"), "m3": srvr("follower")},
                      lb_ports={"a1": "10101 open\n", "a2": "10101 closed\n"})
    lines = render_table(build_status(topology(), raw)).splitlines()
    assert lines[-1] == "UNHEALTHY: 2 problems"
    assert lines[-2] == "  - load balancer a2: not serving port 10101 (/pywebserver)"
    assert lines[-3].startswith("  - ZooKeeper: 2 leaders")
    assert "NOT SERVING" in "\n".join(lines)


def test_json_shape() -> None:
    raw = healthy_raw(marathon_leader={m: http("", 404) for m in ("m1", "m2", "m3")})
    doc = json.loads(render_json(build_status(topology(), raw)))
    assert doc["version"] == 1 and doc["healthy"] is False
    assert set(doc) == {"version", "healthy", "problems", "unreachable", "zookeeper", "mesos",
                        "marathon", "load_balancers"}
    assert doc["zookeeper"]["members"][1] == {"name": "m2", "address": "10.0.5.221",
                                              "mode": "follower", "zxid": "0x100000042"}
    assert doc["mesos"]["leader"] == "10.0.5.220:5050"
    assert {a["state"] for a in doc["mesos"]["agents"]} == {"active"}
    assert doc["marathon"]["leader"] is None
    assert doc["marathon"]["instances"][0]["answer"] == "HTTP 404: no leader"
    assert doc["marathon"]["apps"] == [{"id": "/pywebserver", "instances": 1, "tasksRunning": 1,
                                        "tasksHealthy": 0, "healthChecks": 0,
                                        "servicePorts": [10101]}]
    assert doc["load_balancers"][0]["ports"] == [{"port": 10101, "app": "/pywebserver",
                                                  "serving": True}]
    assert len(doc["problems"]) == 3
