"""Refused: a service port range covering 2181..5051."""

masters = [
    ("m1", {"ip": "10.0.0.11", "zookeeper_id": 1, "marathon_service_port_range": (2000, 6000)}),
    ("m2", {"ip": "10.0.0.12", "zookeeper_id": 2}),
    ("m3", {"ip": "10.0.0.13", "zookeeper_id": 3}),
]

agents = [
    ("a1", {"ip": "10.0.0.21"}),
    ("a2", {"ip": "10.0.0.22"}),
]
