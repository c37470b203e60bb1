"""Reachability of the upstream sources (sandbox/reach.py), on 127.0.0.1 ports only."""

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from sandbox import sources
from sandbox.reach import (
    image_endpoint,
    reachability_problem,
    unreachable,
    upstream_endpoints,
    url_endpoint,
)


@pytest.mark.parametrize(("url", "endpoint"), [
    ("http://repo.example.org/Debian/", ("repo.example.org", 80)),
    ("https://keys.example.org/a.asc", ("keys.example.org", 443)),
    ("http://repo.example.org:8081/Ubuntu/{codename}", ("repo.example.org", 8081)),
    ("http://127.0.0.1:9/x", ("127.0.0.1", 9)),
    ("ftp://repo.example.org/", None),
    ("not a url", None),
    ("http://h.example.org:99999/", None),
])
def test_url_endpoint(url: str, endpoint: tuple[str, int] | None) -> None:
    assert url_endpoint(url) == endpoint


@pytest.mark.parametrize(("image", "endpoint"), [
    ("mesosphere/marathon:v1.10.26", None),  # a Docker Hub name: its host is not written here
    ("marathon:1", None),
    ("registry.example.org/team/marathon:1", ("registry.example.org", 443)),
    ("127.0.0.1:5000/pyinfra-mesos/marathon-standin:1", ("127.0.0.1", 5000)),
    ("localhost/marathon:1", ("localhost", 443)),
])
def test_image_endpoint(image: str, endpoint: tuple[str, int] | None) -> None:
    assert image_endpoint(image) == endpoint


def test_group_data_endpoints_are_its_url_hosts_deduplicated() -> None:
    data = sources.upstream_data()
    urls = [*data["mesos_apt_repo_urls"].values(), data["mesos_apt_key_url"]]
    found = upstream_endpoints(data)
    assert {h for h, _ in found} == {urlsplit(u).hostname for u in urls}
    assert len(found) == len(set(found))


@pytest.fixture
def open_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose accept queue is full: Linux drops further SYNs, a connect hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    time.sleep(0.2)
    try:
        yield port
    finally:
        for c in fillers:
            c.close()
        server.close()


def test_open_port_is_reachable(open_port: int) -> None:
    assert unreachable([("127.0.0.1", open_port)]) == []


def test_closed_port_is_reported_with_the_reason(closed_port: int, open_port: int) -> None:
    assert unreachable([("127.0.0.1", open_port), ("127.0.0.1", closed_port)]) == [
        f"127.0.0.1:{closed_port} (Connection refused)"]


def test_a_silent_endpoint_is_given_up_within_the_budget(silent_port: int,
                                                         closed_port: int) -> None:
    start = time.monotonic()
    failed = unreachable([("127.0.0.1", silent_port), ("127.0.0.1", closed_port)],
                         budget_s=1.0)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0
    assert len(failed) == 2 and failed[0].startswith(f"127.0.0.1:{silent_port} (")
    assert failed[1] == f"127.0.0.1:{closed_port} (Connection refused)"


def test_reachability_problem_is_one_line_or_none(open_port: int, closed_port: int) -> None:
    def data(port: int) -> dict:
        return {"mesos_apt_repo_urls": {"Debian": f"http://127.0.0.1:{port}/Debian/"},
                "mesos_apt_key_url": f"https://127.0.0.1:{port}/key.asc",
                "marathon_image": "mesosphere/marathon:v1.10.26"}

    assert reachability_problem(data(open_port)) is None
    line = reachability_problem(data(closed_port))
    assert line is not None and "\n" not in line
    assert line.startswith("error: environment: PYINFRA_MESOS_SOURCES: ")
    assert f"127.0.0.1:{closed_port} (Connection refused)" in line
    assert "unset PYINFRA_MESOS_SOURCES to use the stand-ins" in line
