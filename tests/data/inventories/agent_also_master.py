"""Allowed with a warning: m1 is both a master and an agent."""

masters = [
    ("m1", {"ip": "10.0.0.11", "zookeeper_id": 1}),
    ("m2", {"ip": "10.0.0.12", "zookeeper_id": 2}),
    ("m3", {"ip": "10.0.0.13", "zookeeper_id": 3}),
]

agents = [
    ("a1", {"ip": "10.0.0.21"}),
    ("a2", {"ip": "10.0.0.22"}),
]

agents.append("m1")
