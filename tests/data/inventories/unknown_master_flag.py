"""Refused: a typo in a Mesos master flag name."""

masters = [
    ("m1", {"ip": "10.0.0.11", "zookeeper_id": 1,
            "mesos_master_flags": {"work_dri": "/srv/mesos"}}),
    ("m2", {"ip": "10.0.0.12", "zookeeper_id": 2}),
    ("m3", {"ip": "10.0.0.13", "zookeeper_id": 3}),
]

agents = [
    ("a1", {"ip": "10.0.0.21"}),
    ("a2", {"ip": "10.0.0.22"}),
]
