"""The leader facts (pyinfra_mesos/deploy/leader_facts.py) against recorded answers, and for real.

Fixtures (tests/unit/leader_facts/<fact>__<case>.json, like pyinfra's own fact tests: `arg`,
`output` lines, `fact` {leads, detail}; `fact` null means no output, pyinfra's default):
- zookeeper__*: real `srvr` answers of a ZooKeeper 3.8.0 ensemble of three on 127.0.0.1 (Debian's
  package), through status_collect.srvr_command; `not_serving` is the last member left running,
  `closed` a stopped member.
- mesos__* and marathon__*: real runs of status_collect.curl_command against a local HTTP
  server giving the upstream answers (307 with `Location: //<leader>:<port>`, 503; 200
  `{"leader": ...}`, 404, 401, 502), and against a closed port.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos.deploy.leader_facts import (
    Leadership,
    MarathonLeadership,
    MesosMasterLeadership,
    ZookeeperLeadership,
)
from pyinfra_mesos.status_collect import curl_command, srvr_command
from tests.standins.conftest import free_port

FIXTURES = Path(__file__).parent / "leader_facts"
FACTS = {"zookeeper": ZookeeperLeadership, "mesos": MesosMasterLeadership,
         "marathon": MarathonLeadership}
COMMANDS = {
    "zookeeper": lambda arg: srvr_command("127.0.0.1", arg["port"]),
    "mesos": lambda arg: curl_command(f"http://{arg['address']}/redirect"),
    "marathon": lambda arg: curl_command(f"http://{arg['address']}/v2/leader",
                                         arg["curl_config"] or None),
}


def _answer(fact: Any, output: list[str]) -> Leadership:
    """What pyinfra makes of the output: process() on lines, default() on none."""
    return fact.process(output) if output else fact.default()


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_fact_command_and_process(path: Path) -> None:
    kind = path.stem.split("__")[0]
    case = json.loads(path.read_text())
    fact = FACTS[kind]()
    assert fact.command(**case["arg"]) == COMMANDS[kind](case["arg"])
    expected = fact.default() if case["fact"] is None else Leadership(**case["fact"])
    assert _answer(fact, case["output"]) == expected


def test_every_leader_fact_has_a_leader_a_non_leader_and_an_unknown_case() -> None:
    seen: dict[str, set[Any]] = {kind: set() for kind in FACTS}
    for path in FIXTURES.glob("*.json"):
        case = json.loads(path.read_text())
        seen[path.stem.split("__")[0]].add(None if case["fact"] is None
                                           else case["fact"]["leads"])
    assert all(found >= {True, False, None} for found in seen.values()), seen


class _Server(BaseHTTPRequestHandler):
    """Answers like a Marathon instance with --http_credentials admin:pw (basic auth first)."""

    leader = "127.0.0.1:8080"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        wanted = "Basic " + base64.b64encode(b"admin:pw").decode()
        if self.headers.get("Authorization") != wanted:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"leader": self.leader}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def marathon_like() -> Iterator[int]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _run(command: str) -> list[str]:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                          timeout=30).stdout.splitlines()


def test_marathon_fact_runs_for_real_with_the_credentials_from_a_curl_config(
        marathon_like: int, tmp_path: Path) -> None:
    """The fact's own command, run here: credentials from a `curl -K` file (never argv)."""
    config = tmp_path / "curl.conf"
    config.write_text('user = "admin:pw"\n')
    address = f"127.0.0.1:{marathon_like}"
    fact = MarathonLeadership()
    command = fact.command(address=address, curl_config=str(config))
    assert "admin" not in command
    _Server.leader = address
    assert _answer(fact, _run(command)) == Leadership(True, f"leader {address}")
    _Server.leader = "10.0.0.13:8080"
    assert _answer(fact, _run(command)) == Leadership(False, "leader 10.0.0.13:8080")
    anonymous = fact.command(address=address, curl_config="")
    assert _answer(fact, _run(anonymous)).leads is None


def test_mesos_fact_runs_for_real_against_a_closed_port() -> None:
    fact = MesosMasterLeadership()
    command = fact.command(address=f"127.0.0.1:{free_port()}")
    assert _answer(fact, _run(command)) == Leadership(
        None, "no answer (connection refused or unreachable)")
