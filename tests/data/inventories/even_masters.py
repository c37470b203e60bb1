"""Refused: 2 masters (quorum 2 of 2 tolerates no failure; run 1, 3 or 5)."""

masters = [
    ("m1", {"ip": "10.0.0.11", "zookeeper_id": 1}),
    ("m2", {"ip": "10.0.0.12", "zookeeper_id": 2}),
]

agents = [
    ("a1", {"ip": "10.0.0.21"}),
    ("a2", {"ip": "10.0.0.22"}),
]
