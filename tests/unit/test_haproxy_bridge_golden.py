"""Whole-file goldens for the bridge, as marathon-lb tests its config: Marathon's answer in, the
whole haproxy.cfg out, and HAProxy itself (`haproxy -c`) accepts every golden.

Each folder of tests/data/bridge/ is one case: `apps.json` (a `GET /v2/apps?embed=apps.tasks`
answer), `haproxy.cfg` (the expected output), optional `settings.json` ({"group", "reserved"}),
and `log.txt`: lines that the run must log (each a substring of one log line). The first three
cases are issue 9's. Task hosts are resolved by the real resolver
(`.invalid` names never resolve, RFC 6761; `localhost` comes from /etc/hosts).

To rewrite the goldens after a deliberate change: BRIDGE_GOLDEN_UPDATE=1 pytest this file, then
read the diff before committing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pyinfra_mesos import haproxy_bridge as bridge

CASES = Path(__file__).resolve().parents[1] / "data" / "bridge"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
UPDATE = os.environ.get("BRIDGE_GOLDEN_UPDATE") == "1"


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "apps.json").is_file())


def render_case(name: str) -> str:
    folder = CASES / name
    settings = {}
    if (folder / "settings.json").is_file():
        settings = json.loads((folder / "settings.json").read_text())
    apps = json.loads((folder / "apps.json").read_text(encoding="utf-8"))
    return bridge.render_config(apps, settings.get("group", "*"),
                                reserved=bridge.parse_ports(settings.get("reserved", "22")))


def test_every_shared_bridge_case_is_here() -> None:
    assert {"null-health-result", "ip-per-task", "unresolvable-task-host"} <= set(case_names())


@pytest.mark.parametrize("name", case_names())
def test_golden(name: str, caplog: pytest.LogCaptureFixture) -> None:
    golden = CASES / name / "haproxy.cfg"
    with caplog.at_level(logging.INFO, logger="haproxy-bridge"):
        text = render_case(name)
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text()
    expected_log = (CASES / name / "log.txt").read_text().splitlines()
    messages = [r.getMessage() for r in caplog.records]
    for want in filter(None, expected_log):
        assert any(want in m for m in messages), (want, messages)
    for message in messages:
        assert "\n" not in message, message  # Marathon's text never breaks a log line


@pytest.mark.parametrize("name", case_names())
def test_golden_passes_haproxy_check(name: str) -> None:
    done = subprocess.run([HAPROXY, "-c", "-f", str(CASES / name / "haproxy.cfg")],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ALERT" not in done.stdout + done.stderr
