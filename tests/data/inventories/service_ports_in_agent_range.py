"""Refused: a1 offers task ports inside Marathon's service ports."""

masters = [
    ("m1", {"ip": "10.0.0.11", "zookeeper_id": 1}),
    ("m2", {"ip": "10.0.0.12", "zookeeper_id": 2}),
    ("m3", {"ip": "10.0.0.13", "zookeeper_id": 3}),
]

agents = [
    ("a1", {"ip": "10.0.0.21",
            "mesos_resources": {"cpus": 2, "mem": 2048, "ports": "[15000-16000]"}}),
    ("a2", {"ip": "10.0.0.22"}),
]
