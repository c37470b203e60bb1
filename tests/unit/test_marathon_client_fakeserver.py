"""A scripted fake Marathon on 127.0.0.1 for the client, deploy and bridge tests.

Named test_* only so it sits with its users; it holds no tests. Each route answers from a list
of (status, body) in order and repeats the last one, so a test scripts "404, then the app".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.reference import MARATHON_EXAMPLES

EXAMPLES = MARATHON_EXAMPLES


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


class FakeMarathon:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.authorizations: list[str | None] = []  # the Authorization header of each request
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, *answers: tuple[int, Any]) -> None:
        self.routes[(method, path)] = list(answers)

    def calls(self, method: str, path: str) -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if r[0] == method and r[1].split("?")[0] == path]

    def answer(self, method: str, full_path: str, body: Any) -> tuple[int, Any]:
        with self._lock:
            self.requests.append((method, full_path, body))
            answers = self.routes.get((method, full_path.split("?")[0]))
            if not answers:
                return 404, {"message": f"no route {method} {full_path}"}
            return answers.pop(0) if len(answers) > 1 else answers[0]


def _handler(fake: FakeMarathon) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            fake.authorizations.append(self.headers.get("Authorization"))
            status, answer = fake.answer(self.command, self.path, body)
            data = answer if isinstance(answer, bytes) else (
                answer.encode() if isinstance(answer, str) else json.dumps(answer).encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:  # keep pytest output quiet
            pass

    return Handler


@contextmanager
def fake_marathon() -> Iterator[FakeMarathon]:
    fake = FakeMarathon()
    fake.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=fake.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
        thread.join(timeout=5)
