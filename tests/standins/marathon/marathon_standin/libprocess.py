"""The scheduler's libprocess endpoint: where it says it is, and where the master calls back.

libprocess (apache/mesos 1.11.0, 3rdparty/libprocess/src/process.cpp) binds to LIBPROCESS_IP
if set (else 0.0.0.0) on LIBPROCESS_PORT (default 0: any free port) and advertises
LIBPROCESS_ADVERTISE_IP, else LIBPROCESS_IP, else the FIRST address that gethostname()
resolves to, which is 127.0.1.1 on a stock Debian host (/etc/hosts). The master talks back to
the framework at that advertised `scheduler-<uuid>@ip:port` pid, so a loopback pid works only
when the leading master shares the host.

Stand-in contract with the Mesos master stand-in (docs/CONTRACTS.md): the register call carries
`"pid"`; the leading master confirms with `POST http://<ip>:<port>/standin/v1/scheduler/registered`
`{"framework_id": ..., "master": "ip:port"}`; only then is the framework registered.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("marathon.libprocess")
REGISTERED_PATH = "/standin/v1/scheduler/registered"


def advertised_ip(env: dict[str, str]) -> str:
    """The IP in our pid: LIBPROCESS_ADVERTISE_IP, LIBPROCESS_IP, or gethostname()'s first."""
    explicit = env.get("LIBPROCESS_ADVERTISE_IP") or env.get("LIBPROCESS_IP")
    if explicit:
        return explicit
    return socket.gethostbyname(socket.gethostname())


def bind_address(env: dict[str, str]) -> tuple[str, int]:
    """(ip, port) to listen on: LIBPROCESS_IP or 0.0.0.0, LIBPROCESS_PORT or 0 (ValueError if
    the port is not a number, as libprocess refuses to start)."""
    return env.get("LIBPROCESS_IP") or "0.0.0.0", int(env.get("LIBPROCESS_PORT") or 0)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Endpoint:
    """The listening socket plus the advertised "ip:port"; `on_registered(framework_id,
    master)` is called for each callback from a master."""

    def __init__(self, env: dict[str, str],
                 on_registered: Callable[[str, str], None] | None = None):
        self.on_registered = on_registered
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug(format, *args)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = endpoint._receive(self.path, raw)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = _Server(bind_address(env), Handler)
        self.port = int(self.server.server_address[1])
        self.ip = advertised_ip(env)
        self.address = f"{self.ip}:{self.port}"

    def _receive(self, path: str, raw: bytes) -> int:
        if path.split("?")[0] != REGISTERED_PATH:
            return 404
        try:
            body = json.loads(raw or b"{}")
            framework_id, master = str(body["framework_id"]), str(body["master"])
        except (ValueError, KeyError, TypeError):
            return 400
        if self.on_registered is not None:
            self.on_registered(framework_id, master)
        return 202  # libprocess messages are fire-and-forget

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, name="libprocess",
                         daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
