"""Marathon stand-in shutdown: SIGTERM ends it promptly even when ZooKeeper is gone.

Real Marathon leaves the election through Curator's LeaderLatch.close(), which deletes its latch
node in the background without waiting (the ephemeral node goes with the session anyway), and
bounds the whole shutdown by --graceful_shutdown_timeout (45 s). A whole cluster stopping at
once (a host shutdown, the sandbox's teardown) stops ZooKeeper beside Marathon: a shutdown that
waited for ZooKeeper would hold marathon.service until `docker stop -t 60` killed it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

from tests.standins.marathon.marathon_testkit.fake_mesos import FakeMaster, free_ports
from tests.standins.marathon.marathon_testkit.proc import http, start, wait_for

# The stand-in must exit well inside real Marathon's bound; kazoo's own close waits at most
# max(10 s, the session timeout) for its connection thread.
EXIT_WITHIN_S = 15.0


class Relay:
    """A TCP relay 127.0.0.1:port -> `target` whose `cut()` closes every connection and stops
    listening: to a client behind it, ZooKeeper is then gone (connection refused)."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                return
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


def test_sigterm_ends_leader_and_standby_promptly_when_zookeeper_is_gone(
        zookeeper: str, tmp_path: Path) -> None:
    relay = Relay(zookeeper)
    master = FakeMaster(agents=1)
    zk = f"zk://{relay.address}/shutdown-{uuid.uuid4().hex[:8]}"
    procs = []
    try:
        for i, port in enumerate(free_ports(2)):
            procs.append(start(["--master", master.address, "--zk", zk, "--http_port", str(port),
                                "--http_address", "127.0.0.1", "--hostname", "127.0.0.1"],
                               tmp_path / f"marathon{i}.log", port))
        wait_for(lambda: http(procs[0].url + "/v2/leader")[1].get("leader"), 15, "no leader")
        app = {"id": "/shutdown", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 1}
        assert http(procs[1].url + "/v2/apps", "POST", app)[0] == 201
        wait_for(lambda: master.launches, 15, "the app never launched")
        relay.cut()
        time.sleep(3.0)  # both have seen the connection drop and are reconnecting
        started = time.monotonic()
        for proc in procs:
            proc.popen.send_signal(signal.SIGTERM)
        for proc in procs:
            left = max(0.1, EXIT_WITHIN_S - (time.monotonic() - started))
            try:
                code = proc.popen.wait(timeout=left)
            except subprocess.TimeoutExpired as exc:
                raise AssertionError(f"still running {EXIT_WITHIN_S} s after SIGTERM with "
                                     f"ZooKeeper gone:\n{proc.output()[-2000:]}") from exc
            assert code == 0, proc.output()[-2000:]
        print(f"[standins] both Marathons exited {time.monotonic() - started:.1f} s after "
              "SIGTERM with ZooKeeper gone")
    finally:
        for proc in procs:
            proc.stop(signal.SIGKILL)
        master.close()
        relay.cut()
