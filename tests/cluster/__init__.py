"""Cluster checks (testinfra) that prove a deployed cluster is healthy.

Run: ``pytest tests/cluster --inventory inventory/<env>.py``. A package so its conftest is
importable as ``tests.cluster.conftest`` (the unit tests exercise its pure helpers).
"""
