"""Refused: agent 2 gives its ports with a role, "ports(*)" (issue 9, case ports-with-role).

Copied from the apps-and-bridge cases. [20000-32000] overlaps Marathon's service ports at
20000: with the role the check must still see them as the agent's ports."""

masters = [
    ("mesos-master-1.example.net", {"ip": "203.0.113.11", "zookeeper_id": 1}),
]
agents = [
    ("mesos-agent-1.example.net", {"ip": "203.0.113.21"}),
    ("mesos-agent-2.example.net", {"ip": "203.0.113.22",
                                   "mesos_resources": {"cpus": 4, "mem": 8192,
                                                       "ports(*)": "[20000-32000]"}}),
]
