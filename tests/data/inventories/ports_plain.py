"""Refused: the same agent as ports_with_role.py with a plain "ports" key: the same error."""

masters = [
    ("mesos-master-1.example.net", {"ip": "203.0.113.11", "zookeeper_id": 1}),
]
agents = [
    ("mesos-agent-1.example.net", {"ip": "203.0.113.21"}),
    ("mesos-agent-2.example.net", {"ip": "203.0.113.22",
                                   "mesos_resources": {"cpus": 4, "mem": 8192,
                                                       "ports": "[20000-32000]"}}),
]
