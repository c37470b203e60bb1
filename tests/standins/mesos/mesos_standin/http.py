"""Tiny JSON-over-HTTP server and client on the stdlib (no third-party web stack on hosts)."""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("http")


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or str for text/plain
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    raw_query: str = ""  # the query string as sent, for redirects that keep it
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    form: dict[str, list[str]] = field(default_factory=dict)  # an urlencoded body, parsed


Handler = Callable[[Request], Response]


def serve(ip: str, port: int, routes: dict[tuple[str, str], Handler]) -> ThreadingHTTPServer:
    """Start a threaded server on ip:port in a daemon thread; routes map (METHOD, path)."""

    class _Handler(BaseHTTPRequestHandler):
        server_version = "Mesos-STAND-IN/1.11.0"

        def _dispatch(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            form: dict[str, list[str]] = {}
            body: Any = None
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                # Operator endpoints such as /master/teardown take form bodies (master/http.cpp).
                form = parse_qs(raw.decode(errors="replace"))
            else:
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    self._send(Response(400, "Failed to parse body: not JSON"))
                    return
            handler = routes.get((method, parts.path.rstrip("/") or "/"))
            if handler is None:
                self._send(Response(404, ""))
                return
            try:
                resp = handler(Request(method, parts.path, parse_qs(parts.query), body,
                                       parts.query, headers, form))
            except Exception as exc:  # noqa: BLE001 - report, keep serving
                log.exception("handler failed")
                resp = Response(500, f"Internal error: {exc}")
            self._send(resp)

        def _send(self, resp: Response) -> None:
            if isinstance(resp.body, str):
                data = resp.body.encode()
                ctype = "text/plain; charset=utf-8"
            elif resp.body is None:
                data, ctype = b"", "text/plain; charset=utf-8"
            else:
                data = json.dumps(resp.body).encode()
                ctype = "application/json"
            self.send_response(resp.status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._dispatch("POST")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("%s %s", self.address_string(), format % args)

    server = ThreadingHTTPServer((ip, port), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # callers follow 307s themselves so they learn the leader


# Never go through an http_proxy from the environment: the peers are on the local network.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def call(
    method: str, url: str, body: Any = None, timeout: float = 5.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """(status, parsed JSON or text, headers); raises OSError when unreachable.

    `body`: JSON-serialisable, or bytes sent as an urlencoded form; `headers` are added."""
    if isinstance(body, bytes):
        data: bytes | None = body
        ctype = "application/x-www-form-urlencoded"
    else:
        data = json.dumps(body).encode() if body is not None else None
        ctype = "application/json"
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with _opener.open(req, timeout=timeout) as resp:
            status, raw, headers = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        status, raw, headers = err.code, err.read(), dict(err.headers)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        parsed = raw.decode(errors="replace")
    return status, parsed, headers
