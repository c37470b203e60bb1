"""End-to-end tier on the sandbox: `pytest tests/e2e` (root + systemd-nspawn)."""
