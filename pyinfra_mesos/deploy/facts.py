"""Custom pyinfra facts: what Marathon currently has, read over SSH on a Marathon host.

The deploy talks to Marathon from the Marathon host itself (127.0.0.1:<marathon_http_port>):
the operator's machine often cannot reach the cluster network, the hosts always can.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyinfra.api import FactBase, QuoteString, StringCommand

from pyinfra_mesos import app_secrets
from pyinfra_mesos.marathon_client import app_path

# app_secrets.py runs on the host as it is (stdlib only): Marathon's answer is masked there,
# before pyinfra sees it, so not even -vvv (fact output) or a failing fact prints a secret.
MASKING_SCRIPT = Path(app_secrets.__file__).read_text(encoding="utf-8")


class MarathonApp(FactBase[dict[str, Any]]):
    """`{"status": <HTTP status, 0 = unreachable>, "app": {...} | None, "message": str,
    "key": "file" | "none" | None}`.

    The app's secret-bearing values arrive as keyed digests (app_secrets.py); `key` says which
    key the host used: "file" the credentials in `key_file`, "none" the empty key (the file did
    not exist yet), None an answer that was not masked (not JSON).

    Never fails the deploy: while Marathon is not up yet (first run, prepare phase) the status
    is 0 and the operation plans a PUT; at execution the fact is read again.
    """

    def requires_command(self, *args: Any, **kwargs: Any) -> str:
        return "curl"

    @staticmethod
    def default() -> dict[str, Any]:
        return {"status": 0, "app": None, "message": "not read"}

    def command(self, app_id: str, urls: Sequence[str],
                curl_config: str = "", key_file: str = "") -> StringCommand:
        """Read the app from the first Marathon in `urls` that has a leader.

        Every instance proxies to the leader, so any answering one is as good; one that is down
        (curl status 000) or has no leader yet (500, 502, 503, 504: marathon_client.NO_LEADER)
        is skipped, and the last such answer is printed when none had one. `-w` appends the
        status on its own line; credentials come from a 0600 curl config file, never argv.
        Everything goes through python3 running app_secrets.py (python3 is in base_packages and
        runs marathon_client.py on this host); without python3 the answer is dropped and the
        status is 000 (unreachable), so nothing unmasked is ever printed.
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
        mask = (f"python3 -c {shlex.quote(MASKING_SCRIPT)} "
                f"{shlex.quote(key_file or '/nonexistent')}")
        script = (f'if ! command -v python3 >/dev/null 2>&1; then printf "\\n000\\n"; exit 0; '
                  f'fi; {{ {script}; }} | {mask}')
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
    key = body.get("pyinfraMesosKey") if isinstance(body, dict) else None
    key = key if key in ("file", "none") else None
    if status == 200 and not isinstance(app, dict):
        return {"status": 0, "app": None, "message": "unexpected answer (not an app)",
                "key": None}
    return {"status": status, "app": app if status == 200 else None, "message": str(message),
            "key": key}
