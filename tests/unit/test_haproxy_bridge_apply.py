"""The bridge's run against a REAL HAProxy in master-worker mode (`haproxy -Ws`, as Debian's unit
runs it) on 127.0.0.1 with free ports: check, swap, reload by SIGUSR2, proof on the stats
socket; a failed reload is logged with HAProxy's words and retried, never recorded as applied.

HAProxy runs unprivileged (`--unprivileged` header: no chroot, user or daemon) so the tests
need no root; every process started here is stopped by its pid.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_marathon_client_fakeserver import fake_marathon

from pyinfra_mesos import haproxy_apply, haproxy_render
from pyinfra_mesos import haproxy_bridge as bridge

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app(app_id: str, service_port: int, backend_port: int) -> dict[str, Any]:
    return {"id": app_id, "portDefinitions": [{"port": service_port, "protocol": "tcp"}],
            "tasks": [{"id": f"{app_id}.1", "host": "127.0.0.1", "ports": [backend_port],
                       "state": "TASK_RUNNING"}]}


class LB:
    """A running HAProxy with the bridge's settings for it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.config = tmp / "haproxy.cfg"
        self.state = tmp / "state" / "applied"
        self.socket = tmp / "admin.sock"
        self.log = tmp / "haproxy.log"
        self.counter = tmp / "reloads"
        self.head = haproxy_render.header(str(self.socket), unprivileged=True)
        self.config.write_text(haproxy_render.render([], self.head))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([HAPROXY, "-Ws", "-f", str(self.config)],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while haproxy_apply.stats_proxies(str(self.socket)) is None:
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def reload_script(self, exit_code: int = 0) -> Path:
        assert self.proc is not None
        script = self.tmp / f"reload-{exit_code}.sh"
        script.write_text(f"#!/bin/sh\necho reload >> {self.counter}\n"
                          f"kill -USR2 {self.proc.pid}\nexit {exit_code}\n")
        script.chmod(0o755)
        return script

    def reloads(self) -> int:
        return len(self.counter.read_text().splitlines()) if self.counter.exists() else 0

    def args(self, *urls: str, reload: Path | None = None, haproxy: str = HAPROXY) -> list[str]:
        out = ["--config", str(self.config), "--state", str(self.state), "--haproxy", haproxy,
               "--reload-command", str(reload or self.reload_script()), "--timeout", "2",
               "--stats-socket", str(self.socket), "--unprivileged", "--verify-timeout", "5",
               "--log-command", f"cat {self.log}"]
        for url in urls:
            out += ["--marathon", url]
        return out

    def served(self) -> set[str] | None:
        return haproxy_apply.stats_proxies(str(self.socket))


@pytest.fixture
def lb(tmp_path: Path) -> Iterator[LB]:
    balancer = LB(tmp_path)
    balancer.start()
    try:
        yield balancer
    finally:
        balancer.stop()


def test_applies_once_then_unchanged(lb: LB) -> None:
    port = free_port()
    with fake_marathon() as fake:
        fake.route("GET", "/v2/apps", (200, {"apps": [app("/web", port, free_port())]}))
        assert bridge.main(lb.args("http://127.0.0.1:9", fake.url)) == 0  # first URL down
        assert lb.served() == {f"web_{port}"}
        assert lb.reloads() == 1
        assert lb.state.read_text().strip() == haproxy_apply.digest(lb.config.read_text())
        assert bridge.main(lb.args(fake.url)) == 0
        assert lb.reloads() == 1  # HAProxy runs this text already: no reload
        assert fake.calls("GET", "/v2/apps")[0][1] == "/v2/apps?embed=apps.tasks"


def test_failed_reload_is_not_recorded_and_the_next_run_retries(
        lb: LB, caplog: pytest.LogCaptureFixture) -> None:
    before = lb.config.read_text()
    port = free_port()
    with fake_marathon() as fake:
        fake.route("GET", "/v2/apps", (200, {"apps": [app("/web", port, free_port())]}))
        failing = lb.tmp / "reload-fails.sh"
        failing.write_text("#!/bin/sh\necho 'Job for haproxy.service failed' >&2\nexit 1\n")
        failing.chmod(0o755)
        with caplog.at_level(logging.ERROR):
            assert bridge.main(lb.args(fake.url, reload=failing)) == 1
        assert "Job for haproxy.service failed" in caplog.text
        assert lb.config.read_text() == before  # what HAProxy runs stays on disk
        assert not lb.state.exists()
        assert bridge.main(lb.args(fake.url)) == 0  # retried, not "unchanged"
        assert lb.served() == {f"web_{port}"}


def test_reload_that_exits_0_but_cannot_bind_is_caught(lb: LB) -> None:
    """Debian's reload answers 0 once SIGUSR2 is sent; the new worker then fails to bind a
    port another program took after the probe. The stats socket shows the old proxies."""
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        text = haproxy_render.render(
            [haproxy_apply.Listener("/web", port, 0, (), None)], lb.head)
        verify = haproxy_apply.verify_by_stats(str(lb.socket), 5, f"cat {lb.log}")
        lines: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
        logging.getLogger("haproxy-bridge").addHandler(handler)
        try:
            result = haproxy_apply.install_config(
                text, str(lb.config), str(lb.state),
                check=lambda p: haproxy_apply.run_command([HAPROXY, "-c", "-q", "-f", p]),
                reload=lambda: haproxy_apply.run_command([str(lb.reload_script())]),
                verify=verify)
        finally:
            logging.getLogger("haproxy-bridge").removeHandler(handler)
    finally:
        holder.close()
    assert result == "reload-failed"
    assert lb.served() == set()  # the old worker still serves the old config
    assert not lb.state.exists()
    said = "\n".join(lines)
    assert "cannot bind socket" in said and f":{port}" in said, said


def test_port_held_by_another_program_is_left_out(lb: LB,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    fine = free_port()
    try:
        with fake_marathon() as fake:
            fake.route("GET", "/v2/apps", (200, {"apps": [app("/a", taken, free_port()),
                                                          app("/b", fine, free_port())]}))
            with caplog.at_level(logging.WARNING):
                assert bridge.main(lb.args(fake.url)) == 0
    finally:
        holder.close()
    assert f"/a: servicePort {taken} is held by another program" in caplog.text
    assert lb.served() == {f"b_{fine}"}


def test_keeps_config_when_marathon_unreachable(lb: LB) -> None:
    before = lb.config.read_text()
    assert bridge.main(lb.args("http://127.0.0.1:9")) == 0
    assert lb.config.read_text() == before
    assert lb.reloads() == 0


@pytest.mark.parametrize("answer", [(200, "<html>proxy error</html>"), (200, {"apps": "x"}),
                                    (503, {"message": "no leader"}), (200, [])])
def test_keeps_config_on_garbage(lb: LB, answer: tuple[int, Any]) -> None:
    before = lb.config.read_text()
    with fake_marathon() as fake:
        fake.route("GET", "/v2/apps", answer)
        assert bridge.main(lb.args(fake.url)) == 0
    assert lb.config.read_text() == before
    assert lb.reloads() == 0


def test_refused_candidate_keeps_config(lb: LB) -> None:
    before = lb.config.read_text()
    with fake_marathon() as fake:
        fake.route("GET", "/v2/apps", (200, {"apps": [app("/web", free_port(), 1)]}))
        assert bridge.main(lb.args(fake.url, haproxy="false")) == 1
    assert lb.config.read_text() == before
    assert lb.reloads() == 0
    leftovers = {p.name for p in lb.tmp.iterdir()} - {
        "haproxy.cfg", "admin.sock", "haproxy.log", "state", "reload-0.sh"}
    assert leftovers == set(), leftovers


def test_reserved_ports_setting() -> None:
    assert bridge.parse_ports("22 2181,5050-5052") == {22, 2181, 5050, 5051, 5052}
    for bad in ("22;", "0", "70000", "5-3", "ssh"):
        with pytest.raises(ValueError):
            bridge.parse_ports(bad)
