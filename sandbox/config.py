"""Fixed names and paths of the sandbox (docs/CONTRACTS.md, section Sandbox).

Kept in one stdlib-only module so ``sandbox.inventory`` can import it without pulling in the
machinery that boots hosts.
"""

from __future__ import annotations

from pathlib import Path

BRIDGE = "pmsbr0"
# 198.51.100.0/24 (TEST-NET-2) is not this machine's uplink; see shared notes on sandbox hosts.
SUBNET_PREFIX = "198.51.100."
PREFIX_LEN = 24
BRIDGE_IP = SUBNET_PREFIX + "1"
FIRST_HOST_OCTET = 11
LAST_HOST_OCTET = 254

NETNS_PREFIX = "pms-"
# Bridge-side veth names: the kernel allows 15 characters, host names can be longer, so the
# name comes from the host's last address octet (stable for the host's lifetime).
VETH_PREFIX = "pmsv"
HOST_IFACE = "eth0"

STATE_ROOT = Path("/var/lib/pyinfra-mesos-sandbox")
CACHE_ROOT = Path("/var/cache/pyinfra-mesos-sandbox")
STATE_FILE = "state.json"

PROXY_PORT = 8888
HTTP_PORT = 8081
REGISTRY_PORT = 5000
REGISTRY = f"{BRIDGE_IP}:{REGISTRY_PORT}"

SUITE = "bookworm"

MARATHON_IMAGE = f"{REGISTRY}/pyinfra-mesos/marathon-standin:1.10.26"
HELLO_IMAGE = f"{REGISTRY}/pyinfra-mesos/hello-sinatra:1.0"
MESOS_REPO_URL = f"http://{BRIDGE_IP}:{HTTP_PORT}/mesos/"
MESOS_KEY_URL = f"http://{BRIDGE_IP}:{HTTP_PORT}/mesos/key.asc"


def state_dir(sandbox: str) -> Path:
    return STATE_ROOT / sandbox


def state_path(sandbox: str) -> Path:
    return state_dir(sandbox) / STATE_FILE
