"""Refused: a typo in a Marathon flag name."""

masters = [
    ("m1", {"ip": "10.0.0.11", "zookeeper_id": 1, "marathon_flags": {"htp_port": "8080"}}),
    ("m2", {"ip": "10.0.0.12", "zookeeper_id": 2}),
    ("m3", {"ip": "10.0.0.13", "zookeeper_id": 3}),
]

agents = [
    ("a1", {"ip": "10.0.0.21"}),
    ("a2", {"ip": "10.0.0.22"}),
]
