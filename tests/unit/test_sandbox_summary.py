"""The demo's cluster summary, from documented response shapes."""

import json

from pyinfra_mesos.topology import build_topology
from sandbox.summary import Endpoints, format_summary
from tests.reference import MARATHON_EXAMPLES, MESOS_EXAMPLES

TOPO = build_topology({
    "masters": [("m1", {"ip": "10.0.0.11", "zookeeper_id": 1})],
    "agents": [("a1", {"ip": "10.0.0.21"}), ("a2", {"ip": "10.0.0.22"})],
})
PORTS = Endpoints(5050, 8080)


def test_leader_agents_marathon_and_app_urls() -> None:
    state = json.loads((MESOS_EXAMPLES / "get-master-state.json").read_text())
    state["pid"] = state["leader"]  # this master is the leader
    apps = {"apps": [{"id": "/hello-sinatra", "instances": 3, "tasksRunning": 3,
                      "tasksHealthy": 2,
                      "container": {"portMappings": [{"containerPort": 4567,
                                                      "servicePort": 9000}]}}]}
    leader = json.loads((MARATHON_EXAMPLES / "get-v2-leader.json").read_text())
    lines = format_summary(TOPO, PORTS, [state], leader, apps)
    text = "\n".join(lines)
    assert f"mesos leader    {state['leader']}" in text
    assert "agents active   2 of 2 in the inventory" in text
    assert f"marathon        http://10.0.0.11:8080/  (leader: {leader['leader']})" in text
    assert "app /hello-sinatra: 3/3 running, 2 healthy" in text
    assert "http://10.0.0.21:9000/" in text and "http://10.0.0.22:9000/" in text


def test_nothing_answers_says_so() -> None:
    lines = format_summary(TOPO, PORTS, [None], None, None)
    assert "  mesos: no master answers (not deployed yet?)" in lines
    assert any("leader: none" in line for line in lines)
