"""The bridge on the machine, and per host a network namespace plus a veth pair.

No NAT and no forwarding: hosts reach the machine's bridge address and each other, nothing else.
Each thing is recorded in the state before it is created (see sandbox.state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox import config
from sandbox.proc import ok, run
from sandbox.state import StateFile


def link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def netns_exists(name: str) -> bool:
    return Path(f"/run/netns/{name}").exists()


def ensure_bridge(st: StateFile) -> bool:
    name = config.BRIDGE
    recorded = st.data.get("bridge", {}).get("name") == name
    if link_exists(name):
        if not recorded:
            raise RuntimeError(
                f"{name} exists but this sandbox did not record it (another sandbox running?); "
                f"run its `down` first, or remove it: ip link del {name}"
            )
        return False
    st.data["bridge"] = {"name": name, "ip": config.BRIDGE_IP}
    st.save()
    run(["ip", "link", "add", name, "type", "bridge"])
    run(["ip", "addr", "add", f"{config.BRIDGE_IP}/{config.PREFIX_LEN}", "dev", name])
    run(["ip", "link", "set", name, "up"])
    return True


def ensure_host_net(st: StateFile, host: str, rec: dict[str, Any]) -> list[str]:
    """Namespace and veth for one host; returns what was created."""
    made: list[str] = []
    ns, veth = rec["netns"], rec["veth"]
    if not netns_exists(ns):
        run(["ip", "netns", "add", ns])
        made.append("netns")
    if not link_exists(veth):
        # The peer is born inside the namespace already named eth0: the host's networkd matches it.
        run(["ip", "link", "add", veth, "type", "veth", "peer", "name", config.HOST_IFACE,
             "netns", ns])
        made.append("veth")
    # Idempotent either way: attach to the bridge and bring both ends up.
    run(["ip", "link", "set", veth, "master", config.BRIDGE, "up"])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    return made


def delete_host_net(rec: dict[str, Any]) -> list[str]:
    gone: list[str] = []
    veth = rec.get("veth")
    if veth and link_exists(veth) and ok(["ip", "link", "del", veth]):
        gone.append(f"veth {veth}")
    ns = rec.get("netns")
    if ns and netns_exists(ns) and ok(["ip", "netns", "del", ns]):
        gone.append(f"netns {ns}")
    return gone


def delete_bridge(st: StateFile) -> list[str]:
    name = (st.data.get("bridge") or {}).get("name")
    if name and link_exists(name) and ok(["ip", "link", "del", name]):
        return [f"bridge {name}"]
    return []
