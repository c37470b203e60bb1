"""Refused: m1 advertises Debian's 127.0.1.1."""

masters = [
    ("m1", {"ip": "127.0.1.1", "zookeeper_id": 1}),
    ("m2", {"ip": "10.0.0.12", "zookeeper_id": 2}),
    ("m3", {"ip": "10.0.0.13", "zookeeper_id": 3}),
]

agents = [
    ("a1", {"ip": "10.0.0.21"}),
    ("a2", {"ip": "10.0.0.22"}),
]
