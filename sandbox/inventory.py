"""What sandbox inventories import: ``sandbox_host`` (docs/CONTRACTS.md, section Sandbox).

Stdlib only and cheap: pyinfra loads inventories before it touches anything, on any machine,
also when no sandbox was ever started (then only the names and the given data come back).
"""

from __future__ import annotations

import json
from typing import Any

from sandbox import config
from sandbox.sources import SOURCE_OVERRIDE_KEYS, UPSTREAM, recorded_mode


def _read_state(sandbox: str) -> dict[str, Any]:
    try:
        data = json.loads(config.state_path(sandbox).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sandbox_data(state: dict[str, Any], name: str) -> dict[str, Any]:
    """Connection data and source overrides for one host recorded in ``state`` ({} if not).

    With the upstream sources recorded (sandbox/sources.py) the Mesos/Marathon overrides
    (sources.SOURCE_OVERRIDE_KEYS) are left out, so group_data/all.py's real sources apply. The
    sandbox registry stays a mirror in both modes: it serves the demo app
    (pyinfra-mesos/hello-sinatra), which no public registry has, and dockerd falls back to
    the image's own registry for what a mirror lacks.
    """
    host = (state.get("hosts") or {}).get(name)
    if not isinstance(host, dict) or not host.get("ip") or not state.get("ssh_key"):
        return {}
    repo = state.get("mesos_repo") or {}
    data: dict[str, Any] = {
        "ssh_hostname": host["ip"],
        "ssh_user": "root",
        "ssh_key": state["ssh_key"],
        # Sandbox hosts get fresh host keys on every fresh boot: pinning them cannot work, and
        # the hosts live on a private bridge of this machine. Real inventories keep checking on.
        "ssh_known_hosts_file": "/dev/null",
        "ssh_strict_host_key_checking": "no",
        "ip": host["ip"],
        # What the internet provides to real users, served by the sandbox (stand-ins offline).
        "mesos_apt_repo_urls": {"Debian": config.MESOS_REPO_URL},
        "mesos_apt_key_url": config.MESOS_KEY_URL,
        "mesos_apt_key_fingerprint": repo.get("fingerprint", ""),
        "marathon_image": config.MARATHON_IMAGE,
        "docker_insecure_registries": [config.REGISTRY],
        "docker_registry_mirrors": [f"http://{config.REGISTRY}"],
        # This machine is the operator's: the e2e tier and `make status` read the cluster's
        # ports from it, so its bridge address passes the hosts' firewall like an operator
        # network. Other sandbox hosts (not in the inventory) stay outside.
        "firewall_operator_networks": [f"{config.BRIDGE_IP}/32"],
    }
    if recorded_mode(state) == UPSTREAM:
        for key in SOURCE_OVERRIDE_KEYS:
            del data[key]
    return data


def sandbox_host(sandbox: str, name: str, **data: Any) -> tuple[str, dict[str, Any]]:
    """An inventory item ``(name, data)`` for a sandbox host.

    When the sandbox's state file records the host, its ssh data, address and the sandbox's
    package/image sources are merged in; keys given here win, so an inventory can still
    override anything. Without a state file: just ``(name, data)``.
    """
    merged = sandbox_data(_read_state(sandbox), name)
    merged.update(data)
    return name, merged
