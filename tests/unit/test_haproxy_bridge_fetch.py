"""haproxy_marathon: Marathon reads bounded in total time and size, then the next URL; basic auth
from a 0600 file, never logged. Real sockets on 127.0.0.1 with free ports."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_marathon_client_fakeserver import fake_marathon

from pyinfra_mesos import haproxy_marathon as marathon

APPS = {"apps": []}


@contextmanager
def dripping_server(headers: bytes, drip: bytes, every_s: float) -> Iterator[str]:
    """Answers one connection at a time: the headers, then `drip` every `every_s` seconds,
    forever (each piece well inside any socket timeout). Stops within about a second."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(headers)
                    while not stop.wait(every_s):
                        conn.sendall(drip)
                except OSError:
                    continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_slow_marathon_bounded_in_total_then_next_url(caplog: pytest.LogCaptureFixture) -> None:
    headers = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
    with dripping_server(headers, b" ", 0.2) as slow, fake_marathon() as fake:
        fake.route("GET", "/v2/apps", (200, APPS))
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            assert marathon.fetch_apps([slow, fake.url], timeout_s=1.5) == APPS
        elapsed = time.monotonic() - started
    assert elapsed < 3.5, elapsed  # the drip alone would never end
    assert "within the time limit" in caplog.text or "no complete answer" in caplog.text


def test_oversized_answer_refused_then_next_url(caplog: pytest.LogCaptureFixture) -> None:
    big = {"apps": [{"id": f"/a{i}", "padding": "x" * 1000} for i in range(200)]}
    with fake_marathon() as first, fake_marathon() as second:
        first.route("GET", "/v2/apps", (200, big))
        second.route("GET", "/v2/apps", (200, APPS))
        with caplog.at_level(logging.WARNING):
            assert marathon.fetch_apps([first.url, second.url], 5, max_bytes=50_000) == APPS
    assert "over the 50000 byte limit" in caplog.text


def test_oversized_answer_without_length_refused() -> None:
    headers = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
    with dripping_server(headers, b"x" * 4096, 0.001) as flood:
        with pytest.raises(marathon.ReadError, match="byte limit"):
            marathon.read_bounded(flood + "/v2/apps", timeout_s=5, max_bytes=100_000)


def test_every_url_failing_gives_none() -> None:
    assert marathon.fetch_apps(["http://127.0.0.1:9", "http://127.0.0.1:9"], 1) is None


def test_credentials_sent_as_basic_auth_and_never_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "marathon-credentials"
    secret.write_text("bridge:s3cr3t-value\n")
    secret.chmod(0o600)
    with fake_marathon() as fake:
        fake.route("GET", "/v2/apps", (401, {"message": "unauthorized"}))
        with caplog.at_level(logging.DEBUG):
            credentials = marathon.read_credentials(str(secret))
            assert marathon.fetch_apps([fake.url], 2, credentials) is None
    assert credentials == "bridge:s3cr3t-value"
    assert "s3cr3t" not in caplog.text and "HTTP 401" in caplog.text


def test_authorization_header_reaches_the_server(tmp_path: Path) -> None:
    seen: list[str] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            seen.append(conn.recv(65536).decode())
            body = json.dumps(APPS).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(body)).encode()
                         + b"\r\nConnection: close\r\n\r\n" + body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        assert marathon.fetch_apps([url], 5, "bridge:s3cr3t-value") == APPS
    finally:
        thread.join(5)
        listener.close()
    assert "Authorization: Basic YnJpZGdlOnMzY3IzdC12YWx1ZQ==" in seen[0]
    assert "GET /v2/apps?embed=apps.tasks " in seen[0]


def test_credentials_file_problems_are_logged_not_fatal(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    loose = tmp_path / "loose"
    loose.write_text("u:p\n")
    loose.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert marathon.read_credentials(str(loose)) == "u:p"
        assert marathon.read_credentials(str(tmp_path / "missing")) == ""
        empty = tmp_path / "empty"
        empty.write_text("no colon here\n")
        assert marathon.read_credentials(str(empty)) == ""
    assert "readable by others (mode 644)" in caplog.text
    assert "no colon here" not in caplog.text  # a malformed secret is not echoed either
    assert marathon.read_credentials("") == ""


def test_url_userinfo_never_logged() -> None:
    assert marathon.shown("http://u:pw@10.0.0.1:8080/v2/apps") == "http://10.0.0.1:8080/v2/apps"
    assert marathon.shown("http://10.0.0.1:8080/x") == "http://10.0.0.1:8080/x"
