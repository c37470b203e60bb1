"""Custom pyinfra facts: what Marathon currently has, read over SSH on a Marathon host.

The deploy talks to Marathon from the Marathon host itself (127.0.0.1:<marathon_http_port>):
the operator's machine often cannot reach the cluster network, the hosts always can.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any

from pyinfra.api import FactBase, QuoteString, StringCommand

from pyinfra_mesos.marathon_client import app_path


class MarathonApp(FactBase[dict[str, Any]]):
    """`{"status": <HTTP status, 0 = unreachable>, "app": {...} | None, "message": str}`.

    Never fails the deploy: while Marathon is not up yet (first run, prepare phase) the status
    is 0 and the operation plans a PUT; at execution the fact is read again.
    """

    def requires_command(self, *args: Any, **kwargs: Any) -> str:
        return "curl"

    @staticmethod
    def default() -> dict[str, Any]:
        return {"status": 0, "app": None, "message": "not read"}

    def command(self, app_id: str, urls: Sequence[str] = ("http://127.0.0.1:8080",),
                curl_config: str = "") -> StringCommand:
        """Read the app from the first Marathon in `urls` that has a leader.

        Every instance proxies to the leader, so any answering one is as good; one that is down
        (curl status 000) or has no leader yet (500, 502, 503, 504: marathon_client.NO_LEADER)
        is skipped, and the last such answer is printed when none had one. `-w` appends the
        status on its own line; credentials come from a 0600 curl config file, never argv.
        """
        curl = "curl -sS --max-time 10 -H 'Accept: application/json' -w '\\n%{http_code}'"
        if curl_config:
            curl += f" -K {shlex.quote(curl_config)}"
        targets = " ".join(shlex.quote(url.rstrip("/") + app_path(app_id)) for url in urls)
        script = (f'last=""; for u in {targets}; do out=$({curl} "$u" 2>/dev/null); '
                  'code=$(printf "%s\\n" "$out" | tail -n 1); '
                  'case "$code" in ""|000) continue;; 500|502|503|504) last="$out"; continue;; '
                  'esac; printf "%s\\n" "$out"; exit 0; '
                  'done; if [ -n "$last" ]; then printf "%s\\n" "$last"; '
                  'else printf "\\n000\\n"; fi')
        return StringCommand("sh", "-c", QuoteString(script))

    def process(self, output: list[str]) -> dict[str, Any]:
        return parse_marathon_app_output(output)


def parse_marathon_app_output(output: list[str]) -> dict[str, Any]:
    """Split curl's body and trailing status line; keep Marathon's message on errors."""
    lines = [line for line in output if line is not None]
    if not lines:
        return MarathonApp.default()
    try:
        status = int(lines[-1].strip() or 0)
    except ValueError:
        status = 0
    text = "\n".join(lines[:-1]).strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    app = body.get("app") if isinstance(body, dict) else None
    message = body.get("message", "") if isinstance(body, dict) else text[:200]
    if status == 200 and not isinstance(app, dict):
        return {"status": 0, "app": None, "message": f"unexpected answer: {text[:200]}"}
    return {"status": status, "app": app if status == 200 else None, "message": str(message)}
