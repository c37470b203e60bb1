"""status_collect against a fake transport, and its shell commands run for real on 127.0.0.1.

The fake plays the cluster: it answers each (host, command) as that host would, and records
every call, so the tests pin where each request runs and what it carries.
"""

from __future__ import annotations

import http.server as http_server
import json
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pyinfra_mesos.remote import RemoteError
from pyinfra_mesos.status_collect import collect, curl_command, port_probe_command, srvr_command
from pyinfra_mesos.status_model import build_status, parse_http
from pyinfra_mesos.status_render import render_table
from tests.unit.test_status_model import LEADER, apps_healthy, http, master_state, srvr, topology

IPS = {"m1": "10.0.5.220", "m2": "10.0.5.221", "m3": "10.0.5.222", "a1": "10.0.0.40",
       "a2": "10.0.6.5"}


class FakeCluster:
    def __init__(self, closed_ports: set[int] = frozenset(), down: set[str] = frozenset()) -> None:
        self.calls: list[tuple[str, str]] = []
        self.closed_ports = closed_ports
        self.down = down

    def __call__(self, host: str, command: str) -> str:
        self.calls.append((host, command))
        if host in self.down:
            raise RemoteError(f"{host}: cannot connect over SSH")
        if "echo srvr" in command:
            return srvr("leader" if host == "m1" else "follower")
        if "/redirect" in command:
            return http("", 307, f"http://{LEADER}/")
        if "/master/state" in command:
            return http(master_state())
        if "/v2/leader" in command:
            return http({"leader": "10.0.5.220:8080"})
        if "/v2/apps" in command:
            return http(apps_healthy())
        ports = re.findall(r"/dev/tcp/[\d.]+/(\d+)", command)
        return "".join(f"{p} {'closed' if int(p) in self.closed_ports else 'open'}\n"
                       for p in ports)


def test_collect_asks_each_host_about_itself() -> None:
    fake = FakeCluster()
    raw = collect(topology(), fake, marathon_auth=True)
    status = build_status(topology(), raw)
    assert status.healthy, status.problems
    for host, command in fake.calls:
        addresses = set(re.findall(r"\d+\.\d+\.\d+\.\d+", command))
        assert addresses == {IPS[host]}, (host, command)
    state_hosts = [h for h, c in fake.calls if "/master/state" in c]
    assert state_hosts == ["m1"]  # the leader's own host


def test_marathon_credentials_come_from_the_hosts_file() -> None:
    fake = FakeCluster()
    collect(topology(), fake, marathon_auth=True)
    marathon = [c for _, c in fake.calls if "/v2/" in c]
    assert marathon and all("-K /etc/pyinfra-mesos/marathon-curl.conf" in c for c in marathon)
    assert not any(" -u " in c or "--user" in c for _, c in fake.calls)
    fake = FakeCluster()
    collect(topology(), fake, marathon_auth=False)
    assert not any("-K" in c for _, c in fake.calls)


def test_collect_reports_a_closed_port_and_an_unreachable_host() -> None:
    fake = FakeCluster(closed_ports={10101}, down={"a2"})
    raw = collect(topology(), fake, marathon_auth=False,
                  unreachable={"a2": "a2: cannot connect over SSH (a2:22)"})
    status = build_status(topology(), raw)
    assert "load balancer a1: not serving port 10101 (/pywebserver)" in status.problems
    assert "load balancer a2: a2: unreachable over SSH" in status.problems
    assert not any(h == "a2" for h, _ in fake.calls)  # never asked again
    table = render_table(status)
    assert table.splitlines()[-1] == f"UNHEALTHY: {len(status.problems)} problems"


def test_no_mesos_leader_means_no_state_request() -> None:
    fake = FakeCluster(down={"m1", "m2", "m3"})
    raw = collect(topology(), fake, marathon_auth=False)
    assert raw.master_state is None
    assert not any("/master/state" in c for _, c in fake.calls)


# -- the commands, run for real on this machine ----------------------------------------------


@pytest.fixture
def redirect_server() -> Iterator[int]:
    class Handler(http_server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == "/redirect":
                self.send_response(307)
                self.send_header("Location", "//10.9.9.9:5050")
                self.end_headers()
            else:
                body = json.dumps({"leader": "x:8080"}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def _sh(command: str) -> str:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=20,
                          check=True).stdout


def test_curl_command_reports_status_location_and_body(redirect_server: int) -> None:
    answer = parse_http(_sh(curl_command(f"http://127.0.0.1:{redirect_server}/redirect")))
    assert not isinstance(answer, Exception)
    assert (answer.status, answer.location, answer.curl_rc) == (307, "http://10.9.9.9:5050/", 0)
    answer = parse_http(_sh(curl_command(f"http://127.0.0.1:{redirect_server}/v2/leader")))
    assert answer.json() == {"leader": "x:8080"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_curl_command_on_a_closed_port_is_an_answer() -> None:
    answer = parse_http(_sh(curl_command(f"http://127.0.0.1:{_free_port()}/redirect")))
    assert (answer.status, answer.curl_rc) == (0, 7)
    assert answer.describe() == "no answer (connection refused or unreachable)"


def test_port_probe_and_srvr_commands() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        open_port = listener.getsockname()[1]
        closed = _free_port()
        out = _sh(port_probe_command("127.0.0.1", [closed, open_port]))
        assert sorted(out.splitlines()) == sorted([f"{open_port} open", f"{closed} closed"])
    assert _sh(srvr_command("127.0.0.1", _free_port())) == ""
