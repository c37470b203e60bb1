"""Refused: an explicit zookeepers group of 4 nodes."""

masters = [
    ("m1", {"ip": "10.0.0.11", "zookeeper_id": 1}),
    ("m2", {"ip": "10.0.0.12", "zookeeper_id": 2}),
    ("m3", {"ip": "10.0.0.13", "zookeeper_id": 3}),
]

agents = [
    ("a1", {"ip": "10.0.0.21"}),
    ("a2", {"ip": "10.0.0.22"}),
]

zookeepers = [(f"zk{i}", {"ip": f"10.0.1.{i}", "zookeeper_id": i}) for i in range(1, 5)]
