"""Read Marathon's apps for the bridge: bounded in total time and size, one URL after another.

Stdlib only. A socket timeout alone bounds each read, not the whole answer: a Marathon that
drips a byte a second (a leader stuck in GC, a proxy in between) would hold the bridge until
systemd kills it, and the next URL would never be tried. So each URL gets one deadline for
connect, headers and body together (the request runs in a daemon thread the caller stops
waiting for), and the body is read in pieces up to a byte limit.

Credentials (Marathon `--http_credentials`, HTTP basic auth on every path, docs/REAL-CONTRACTS.md)
come from a file (0600, written by tasks/haproxy.py), never from the command line; they are
sent as a header and never logged. URLs are logged without any user:password part.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

LOG = logging.getLogger("haproxy-bridge")

APPS_PATH = "/v2/apps?embed=apps.tasks"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # a few thousand apps with tasks fit in a few MB
CHUNK = 64 * 1024


class ReadError(Exception):
    """One URL gave no usable answer; the message is safe to log."""


def shown(url: str) -> str:
    """The URL without user:password, for logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def read_credentials(path: str) -> str:
    """`user:password` from the first line of `path`, or "" when there is none (logged).

    A file that group or others may read is still used, with a warning: refusing would stop
    every update of the load balancer over a mode bit the deploy itself sets to 0600.
    """
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            mode = os.fstat(f.fileno()).st_mode
            line = f.readline().strip()
    except OSError as e:
        LOG.warning("credentials file %s: %s; reading Marathon without credentials",
                    path, e.strerror)
        return ""
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        LOG.warning("credentials file %s is readable by others (mode %o); make it 0600",
                    path, stat.S_IMODE(mode))
    if ":" not in line:
        LOG.warning("credentials file %s holds no user:password line", path)
        return ""
    return line


def _get(url: str, credentials: str, deadline: float, max_bytes: int) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if credentials:
        token = base64.b64encode(credentials.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    timeout = max(0.1, deadline - time.monotonic())
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        # isascii: str.isdigit() alone lets "²" through to int(); stdlib only here (BRIDGE_FILES).
        if length and length.isascii() and length.isdigit() and int(length) > max_bytes:
            raise ReadError(f"answer of {length} bytes is over the {max_bytes} byte limit")
        body = bytearray()
        while True:
            if time.monotonic() > deadline:
                raise ReadError("answer not complete within the time limit")
            piece = response.read1(CHUNK)
            if not piece:
                return bytes(body)
            body += piece
            if len(body) > max_bytes:
                raise ReadError(f"answer is over the {max_bytes} byte limit")


def read_bounded(url: str, credentials: str = "", timeout_s: float = 5.0,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The body of GET `url`, within `timeout_s` seconds in total and `max_bytes` bytes.

    Raises ReadError (time, size, HTTP status, connection) with a message safe to log.
    """
    deadline = time.monotonic() + timeout_s
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["body"] = _get(url, credentials, deadline, max_bytes)
        except urllib.error.HTTPError as e:
            result["error"] = f"HTTP {e.code}"
        except urllib.error.URLError as e:
            result["error"] = str(e.reason)
        except ReadError as e:
            result["error"] = str(e)
        except (OSError, ValueError) as e:
            result["error"] = f"{type(e).__name__}: {e}"

    thread = threading.Thread(target=run, daemon=True, name="marathon read")
    thread.start()
    thread.join(timeout_s + 0.5)  # the socket timeouts end it sooner; this is the backstop
    if thread.is_alive() or not result:
        raise ReadError(f"no complete answer within {timeout_s:g} s")
    if "error" in result:
        raise ReadError(result["error"])
    return result["body"]


def fetch_apps(urls: Sequence[str], timeout_s: float = 5.0, credentials: str = "",
               max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any] | None:
    """Marathon's apps with tasks from the first URL that gives a usable answer, else None.

    Each URL gets its own `timeout_s` budget; a failure is logged and the next URL is tried.
    """
    for base in urls:
        url = base.rstrip("/") + APPS_PATH
        try:
            body = json.loads(read_bounded(url, credentials, timeout_s, max_bytes))
        except ReadError as e:
            LOG.warning("%s: cannot read apps (%s)", shown(url), e)
            continue
        except ValueError as e:
            LOG.warning("%s: answer is not JSON (%s)", shown(url), e)
            continue
        if isinstance(body, dict) and isinstance(body.get("apps"), list):
            return body
        LOG.warning("%s: answer has no 'apps' list; ignored", shown(url))
    return None
