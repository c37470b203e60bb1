"""Marathon stand-in: basic auth on every path (HttpModule.scala) and LeaderProxyFilter on
every path (HttpBindings.scala, LeaderProxyFilter.scala, AsyncUrlConnectionRequestForwarder.scala;
d2iq-archive/marathon v1.10.26), against a real ZooKeeper."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from tests.standins.marathon.marathon_standin.auth import authorised
from tests.standins.marathon.marathon_standin.flags import FlagError, env_to_args, parse
from tests.standins.marathon.marathon_testkit.fake_mesos import free_ports
from tests.standins.marathon.marathon_testkit.proc import Marathon, http, start, wait_for

PATHS = ("/ping", "/v2/info", "/v2/leader", "/v2/apps", "/v2/deployments", "/ui/", "/nope")


def args_for(zookeeper: str, port: int, zk_path: str) -> list[str]:
    return ["--master", "127.0.0.1:1", "--zk", f"zk://{zookeeper}/{zk_path}",
            "--http_port", str(port), "--http_address", "127.0.0.1", "--hostname", "127.0.0.1",
            "--zk_session_timeout", "2000"]


def test_credentials_default_comes_from_mesosphere_variable_only() -> None:
    flags = parse(["--master", "m"], {"MESOSPHERE_HTTP_CREDENTIALS": "ops:s3cret"})
    assert flags.http_credentials == ("ops", "s3cret")
    assert env_to_args({"MESOSPHERE_HTTP_CREDENTIALS": "ops:s3cret"}) == []
    # MARATHON_HTTP_CREDENTIALS is an ordinary flag: it lands on the command line.
    assert env_to_args({"MARATHON_HTTP_CREDENTIALS": "a:b"}) == ["--http_credentials=a:b"]
    both = parse(["--master", "m"], {"MESOSPHERE_HTTP_CREDENTIALS": "x:y",
                                     "MARATHON_HTTP_CREDENTIALS": "a:b"})
    assert both.http_credentials == ("a", "b")
    assert parse(["--master", "m"], {}).http_credentials is None


def test_malformed_credentials_mean_no_auth_and_greedy_split() -> None:
    assert parse(["--master", "m", "--http_credentials", "nocolon"], {}).http_credentials is None
    three = parse(["--master", "m", "--http_credentials", "a:b:c"], {}).http_credentials
    assert three == ("a:b", "c")
    # Jetty splits the presented token at the first colon: "a:b:c" can never log in.
    assert not authorised("Basic " + "YTpiOmM=", three)  # base64("a:b:c")
    assert authorised("basic " + "b3BzOnMzY3JldA==", ("ops", "s3cret"))  # scheme is any case
    assert not authorised("Bearer b3BzOnMzY3JldA==", ("ops", "s3cret"))
    assert not authorised("Basic !!!", ("ops", "s3cret"))


def test_mesos_authentication_flags_accepted_and_cross_checked() -> None:
    flags = parse(["--master", "m", "--mesos_authentication",
                   "--mesos_authentication_principal", "marathon",
                   "--mesos_authentication_secret_file", "/etc/marathon/secret"], {})
    assert flags.text("mesos_authentication_secret_file") == "/etc/marathon/secret"
    assert flags.text("mesos_authentication_principal") == "marathon"
    with pytest.raises(FlagError, match="mesos_authentication_principal"):
        parse(["--master", "m", "--mesos_authentication"], {})
    with pytest.raises(FlagError, match="only one or zero"):
        parse(["--master", "m", "--mesos_authentication_secret", "x",
               "--mesos_authentication_secret_file", "/f"], {})


@pytest.fixture()
def guarded(zookeeper: str, tmp_path: Path) -> Iterator[Marathon]:
    port = free_ports(1)[0]
    proc = start(args_for(zookeeper, port, f"auth-{uuid.uuid4().hex[:8]}"), tmp_path / "m.log",
                 port, env={"MESOSPHERE_HTTP_CREDENTIALS": "ops:s3cret"}, ready=401)
    yield proc
    proc.stop()


def test_every_path_needs_credentials(guarded: Marathon) -> None:
    # Wait until it leads, so each path below is answered by the leader itself.
    wait_for(lambda: http(guarded.url + "/v2/leader", auth="ops:s3cret")[0] == 200, 15)
    for path in PATHS:
        for credentials in (None, "ops:wrong", "other:s3cret"):
            status, body, headers = http(guarded.url + path, auth=credentials)
            assert status == 401, (path, credentials, status)
            assert headers["WWW-Authenticate"] == 'Basic realm="Mesosphere"'
            assert headers["Content-Type"].startswith("text/html")
            assert "Error 401 Unauthorized" in body
        assert http(guarded.url + path, auth="ops:s3cret")[0] in (200, 404), path
    assert http(guarded.url + "/ping", auth="ops:s3cret")[:2] == (200, "pong")
    # A POST without credentials changes nothing.
    app = {"id": "/sneaky", "cmd": "sleep 1"}
    assert http(guarded.url + "/v2/apps", "POST", app)[0] == 401
    assert http(guarded.url + "/v2/apps/sneaky", auth="ops:s3cret")[0] == 404


class GarbageServer:
    """Answers every connection with bytes that are not HTTP (a broken leader)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.port = int(self.sock.getsockname()[1])
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(b"NOT-HTTP garbage\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture()
def foreign_leader(zookeeper: str, tmp_path: Path) -> Iterator[tuple[KazooClient, str, str]]:
    """A ZooKeeper path where a lower election member names another address as leader."""
    zk = KazooClient(hosts=zookeeper, timeout=5)
    zk.start(timeout=10)
    path = f"proxy-{uuid.uuid4().hex[:8]}"
    # Marathon 1.10's latch layout (CuratorElectionStream.scala): <zk>/leader-curator/_c_..-latch-
    node = zk.create(f"/{path}/leader-curator/_c_{uuid.uuid4()}-latch-", b"", ephemeral=True,
                     sequence=True, makepath=True)
    yield zk, path, node
    zk.stop()
    zk.close()


def run_follower(zookeeper: str, path: str, tmp_path: Path, extra_env: dict[str, str] | None = None
                 ) -> Marathon:
    port = free_ports(1)[0]
    return start(args_for(zookeeper, port, path), tmp_path / "f.log", port, env=extra_env,
                 ready=0)


def test_unreachable_leader_502_refused_broken_leader_500_loop_502(
        zookeeper: str, tmp_path: Path, foreign_leader: tuple[KazooClient, str, str]) -> None:
    zk, path, node = foreign_leader
    dead_port = free_ports(1)[0]
    zk.set(node, f"127.0.0.1:{dead_port}".encode())
    follower = run_follower(zookeeper, path, tmp_path)
    garbage = GarbageServer()
    try:
        for probe in PATHS:
            status, body, headers = http(follower.url + probe)
            assert status == 502, (probe, status, body)
            assert "<pre>    Connection to leader refused.</pre>" in body
            assert headers["Content-Type"].startswith("text/html")
        zk.set(node, f"127.0.0.1:{garbage.port}".encode())
        wait_for(lambda: http(follower.url + "/ping")[0] == 500, 10,
                 lambda: f"no 500 from a broken leader:\n{follower.output()[-2000:]}")
        status, body, _ = http(follower.url + "/v2/leader")
        assert status == 500 and "Error 500 Server Error" in body
        # A request that already passed through this instance is a loop.
        via = {"X-Marathon-Via": f"1.1 {follower.address}"}
        status, body, _ = http(follower.url + "/v2/apps", headers=via)
        assert status == 502 and "Detected proxying loop." in body
    finally:
        garbage.close()
        follower.stop()


def test_auth_is_checked_before_proxying(zookeeper: str, tmp_path: Path,
                                         foreign_leader: tuple[KazooClient, str, str]) -> None:
    zk, path, node = foreign_leader
    zk.set(node, b"127.0.0.1:1")  # would answer 502 if the request got as far as the proxy
    follower = run_follower(zookeeper, path, tmp_path,
                            {"MESOSPHERE_HTTP_CREDENTIALS": "ops:s3cret"})
    try:
        status, _, headers = http(follower.url + "/v2/apps")
        assert status == 401 and "X-Marathon-Via" not in headers
        assert http(follower.url + "/v2/apps", auth="ops:s3cret")[0] == 502
    finally:
        follower.stop()
