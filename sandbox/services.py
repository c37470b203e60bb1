"""Services on the bridge address: apt proxy, static HTTP, image registry, a build dockerd.

This machine's policy-rc.d stops packaged services from starting, and the packaged configs do
not fit (the registry's asks for a password and listens everywhere), so the sandbox starts each
one itself with its own config, in the background, and records its pid.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

from sandbox import config
from sandbox.proc import alive, children, ok, pid_record, spawn
from sandbox.sources import UPSTREAM, recorded_mode
from sandbox.state import StateFile

START_WAIT_S = 30


def docker_env(sandbox: str) -> dict[str, str]:
    sock = config.state_dir(sandbox) / "docker.sock"
    # The legacy builder needs no buildx plugin; it warns on success (judge by exit code).
    return dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_BUILDKIT="0")


def exec_root(sandbox: str) -> Path:
    # Short and on tmpfs: containerd puts unix sockets in it (108-byte path limit).
    return Path(f"/run/pms-{sandbox}-docker")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((config.BRIDGE_IP, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(check: Any, rec: dict[str, Any], what: str) -> None:
    deadline = time.monotonic() + START_WAIT_S
    for _ in range(START_WAIT_S * 10):
        if check():
            return
        if not alive(rec):
            raise RuntimeError(f"{what} exited at start; see its log in the state dir")
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {START_WAIT_S} s")


def tinyproxy_conf(sdir: Path, mirror_host: str, upstream: bool = False) -> tuple[str, str]:
    """(config, filter) for the hosts' proxy, which serves only the sandbox subnet.

    Stand-ins: deny by default, the filter lists only the mirror's host. Upstream sources
    (sandbox/sources.py): no filter at all, so the hosts reach whatever the real sources need
    (their hosts are not written anywhere here); the filter text is then empty and unused.
    """
    lines = [
        "# Written by the pyinfra-mesos sandbox: apt proxy for the sandbox hosts.",
        "User nobody",
        "Group nogroup",
        f"Port {config.PROXY_PORT}",
        f"Listen {config.BRIDGE_IP}",
        "Timeout 600",
        "MaxClients 100",
        f"Allow {config.SUBNET_PREFIX}0/{config.PREFIX_LEN}",
        "DisableViaHeader Yes",
    ]
    if not upstream:
        lines += [
            f'Filter "{sdir / "tinyproxy.filter"}"',
            "FilterType ere",
            "FilterURLs Off",
            # Deny by default: the filter file lists the only host the hosts may reach.
            "FilterDefaultDeny Yes",
        ]
    lines += ["ConnectPort 443", "LogLevel Notice", ""]
    return "\n".join(lines), "" if upstream else f"^{re.escape(mirror_host)}$\n"


def registry_conf(sdir: Path) -> str:
    return f"""# Written by the pyinfra-mesos sandbox: no auth, bridge address only, storage here.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {sdir / "registry"}
  delete:
    enabled: true
http:
  addr: {config.REGISTRY}
"""


def ensure_services(st: StateFile, mirror_host: str) -> list[str]:
    sandbox = st.data["sandbox"]
    sdir = config.state_dir(sandbox)
    logs = sdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (sdir / "www").mkdir(exist_ok=True)
    (sdir / "registry").mkdir(exist_ok=True)
    started: list[str] = []

    def start(name: str, cmd: list[str], check: Any, env: dict[str, str] | None = None) -> None:
        if alive(st.services.get(name)):
            return
        pid = spawn(cmd, str(logs / f"{name}.log"), env=env)
        st.services[name] = pid_record(pid, name)
        st.save()
        _wait(check, st.services[name], name)
        started.append(name)

    upstream = recorded_mode(st.data) == UPSTREAM
    conf, filt = tinyproxy_conf(sdir, mirror_host, upstream)
    (sdir / "tinyproxy.conf").write_text(conf)
    if upstream:
        (sdir / "tinyproxy.filter").unlink(missing_ok=True)
    else:
        (sdir / "tinyproxy.filter").write_text(filt)
    start("tinyproxy", ["tinyproxy", "-d", "-c", str(sdir / "tinyproxy.conf")],
          lambda: _port_open(config.PROXY_PORT))

    start("http", [sys.executable, "-m", "http.server", str(config.HTTP_PORT),
                   "--bind", config.BRIDGE_IP, "--directory", str(sdir / "www")],
          lambda: _port_open(config.HTTP_PORT))

    (sdir / "registry.yml").write_text(registry_conf(sdir))
    start("registry", ["docker-registry", "serve", str(sdir / "registry.yml")],
          lambda: _port_open(config.REGISTRY_PORT))

    denv = docker_env(sandbox)
    start("dockerd", [
        "dockerd", "--data-root", str(sdir / "docker-data"),
        "--exec-root", str(exec_root(sandbox)),
        "-H", f"unix://{sdir / 'docker.sock'}", "--pidfile", str(sdir / "docker.pid"),
        # Change nothing on the machine's network.
        "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false",
        "--insecure-registry", config.REGISTRY,
    ], lambda: (sdir / "docker.sock").exists() and ok(["docker", "version"], 5, denv), denv)
    if "dockerd" in started:
        # dockerd's own containerd: recorded too, in case dockerd dies without stopping it.
        st.services["containerd"] = [
            pid_record(p, "containerd") for p in children(st.services["dockerd"]["pid"])
        ]
        st.save()
    return started


def service_records(st: StateFile) -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = []
    for value in st.services.values():
        recs += value if isinstance(value, list) else [value]
    return recs
