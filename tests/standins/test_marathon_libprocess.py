"""Marathon stand-in: the libprocess pid it registers with, and registration only after the
leading master's callback (apache/mesos 1.11.0 3rdparty/libprocess/src/process.cpp; the stand-in
contract in docs/CONTRACTS.md), against a real ZooKeeper and a fake master."""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.marathon.marathon_standin.libprocess import advertised_ip, bind_address
from tests.standins.marathon.marathon_testkit.fake_mesos import FakeMaster, free_ports
from tests.standins.marathon.marathon_testkit.proc import Marathon, http, start, wait_for

APP = {"id": "/lp/app", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 1}


def test_advertised_ip_order() -> None:
    assert advertised_ip({"LIBPROCESS_IP": "10.0.0.5"}) == "10.0.0.5"
    assert advertised_ip({"LIBPROCESS_IP": "10.0.0.5",
                          "LIBPROCESS_ADVERTISE_IP": "198.51.100.9"}) == "198.51.100.9"
    # Unset: the first address the host name resolves to (127.0.1.1 on a stock Debian host).
    assert advertised_ip({}) == socket.gethostbyname(socket.gethostname())
    assert bind_address({}) == ("0.0.0.0", 0)
    assert bind_address({"LIBPROCESS_IP": "10.0.0.5", "LIBPROCESS_PORT": "5060"}) == (
        "10.0.0.5", 5060)


def run(zookeeper: str, master: FakeMaster, tmp_path: Path, libprocess_port: int) -> Marathon:
    port = free_ports(1)[0]
    args = ["--master", master.address, "--zk", f"zk://{zookeeper}/lp-{uuid.uuid4().hex[:8]}",
            "--http_port", str(port), "--http_address", "127.0.0.1", "--hostname", "127.0.0.1"]
    env = {"LIBPROCESS_IP": "127.0.0.1", "LIBPROCESS_PORT": str(libprocess_port)}
    return start(args, tmp_path / "m.log", port, env)


@pytest.fixture()
def lp_port() -> int:
    return free_ports(1)[0]


@pytest.fixture()
def confirming(zookeeper: str, tmp_path: Path, lp_port: int
               ) -> Iterator[tuple[FakeMaster, Marathon]]:
    master = FakeMaster(agents=1)
    proc = run(zookeeper, master, tmp_path, lp_port)
    yield master, proc
    proc.stop()
    master.close()


def test_registers_with_pid_and_launches_after_callback(
        confirming: tuple[FakeMaster, Marathon], lp_port: int) -> None:
    master, proc = confirming
    registration = wait_for(lambda: master.registrations and master.registrations[0], 15)
    assert re.fullmatch(rf"scheduler-[0-9a-f-]{{36}}@127\.0\.0\.1:{lp_port}",
                        registration["pid"]), registration
    wait_for(lambda: master.callbacks, 10)
    assert master.callbacks[0] == (f"127.0.0.1:{lp_port}", 202)
    assert http(proc.url + "/v2/apps", "POST", APP)[0] == 201
    wait_for(lambda: master.launches, 15, lambda: proc.output()[-2000:])


@pytest.mark.parametrize("kind", ["no callback", "callback from another master"])
def test_no_launch_without_confirmed_registration(zookeeper: str, tmp_path: Path, lp_port: int,
                                                  kind: str) -> None:
    master = (FakeMaster(agents=1, callback=False) if kind == "no callback"
              else FakeMaster(agents=1, callback_as="127.0.0.1:1"))
    proc = run(zookeeper, master, tmp_path, lp_port)
    try:
        assert http(proc.url + "/v2/apps", "POST", APP)[0] == 201
        time.sleep(6)
        assert master.launches == []
        # It keeps trying every few seconds, and says why nothing runs.
        assert len(master.registrations) >= 2
        assert "not registered with Mesos master" in proc.output()
        assert http(proc.url + "/v2/apps/lp/app")[1]["app"]["tasksRunning"] == 0
    finally:
        proc.stop()
        master.close()
