"""``status`` and ``ssh``: read-only views of a sandbox."""

from __future__ import annotations

import os
import socket

from sandbox import config
from sandbox.hosts import ssh_banner
from sandbox.invfile import SandboxInventory
from sandbox.proc import alive
from sandbox.services import service_records
from sandbox.sources import describe, recorded_mode
from sandbox.state import StateFile

SERVICE_PORTS = {"tinyproxy": config.PROXY_PORT, "http": config.HTTP_PORT,
                 "registry": config.REGISTRY_PORT}


def _port(port: int) -> bool:
    try:
        with socket.create_connection((config.BRIDGE_IP, port), timeout=0.5):
            return True
    except OSError:
        return False


def status(inv: SandboxInventory, st: StateFile) -> int:
    print(f"sandbox {inv.sandbox}  state {st.path}  bridge "
          f"{(st.data.get('bridge') or {}).get('name', '-')} {config.BRIDGE_IP}")
    print(describe(recorded_mode(st.data)))
    order = inv.hosts + sorted(set(st.hosts) - set(inv.hosts))
    for name in order:
        rec = st.hosts.get(name)
        if not rec:
            print(f"  {name:<12} {'-':<15} not created")
            continue
        proc = rec.get("proc") or {}
        running = alive(proc)
        sshd = running and ssh_banner(rec["ip"], timeout=1)
        note = "" if name in inv.hosts else "  (not in the inventory)"
        print(f"  {name:<12} {rec['ip']:<15} nspawn pid {proc.get('pid', '-')} "
              f"{'alive' if running else 'DOWN'}, sshd {'up' if sshd else 'no'}{note}")
    for name, rec in st.services.items():
        if isinstance(rec, list):
            continue
        port = SERVICE_PORTS.get(name)
        listening = f", :{port} {'open' if _port(port) else 'closed'}" if port else ""
        print(f"  service {name:<10} pid {rec.get('pid')} "
              f"{'alive' if alive(rec) else 'DOWN'}{listening}")
    for key, rec in st.artifacts.items():
        print(f"  artifact {key:<15} {rec.get('image', rec.get('dir', ''))}")
    live = any(alive(r.get("proc")) for r in st.hosts.values())
    live = live or any(alive(r) for r in service_records(st))
    print("  (nothing running)" if not live else "")
    return 0


def ssh(st: StateFile, host: str, command: list[str]) -> int:
    rec = st.hosts.get(host)
    if not rec or not st.data.get("ssh_key"):
        print(f"error: {host}: not in the sandbox state (run `up` first)")
        return 1
    argv = [
        "ssh", "-i", st.data["ssh_key"],
        # Fresh host keys on every fresh boot; private bridge of this machine only.
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
        f"root@{rec['ip']}", *command,
    ]
    os.execvp("ssh", argv)
    return 1  # not reached
