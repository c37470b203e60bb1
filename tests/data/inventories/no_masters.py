"""Refused: no masters at all."""

agents = [
    ("a1", {"ip": "10.0.0.21"}),
    ("a2", {"ip": "10.0.0.22"}),
]
