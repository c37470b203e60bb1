"""The ruleset at work: a TCP scan of a host that loaded it, from a member and from a stranger.

Two throw-away network namespaces (inside a user namespace: no privilege on the machine, nothing
shared with its network) joined by a veth pair. The "host" side loads agent a1's golden ruleset
(a load balancer) and listens on SSH, a service port and cluster ports; the "client" side has a
member's address (a2) and a stranger's, and connects from each. This is the e2e criterion in
miniature: a stranger finds only SSH and the service ports open.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_firewall import GOLDEN, nft

OPEN_TO_ANYONE = [22, 10000, 20000]
CLUSTER = [2181, 2888, 3888, 5050, 5051, 8080, 31000, 32000]
UNLISTED = [9999, 40000]
PORTS = OPEN_TO_ANYONE + CLUSTER + UNLISTED

LISTEN = """
import socket, sys, time
socks = []
for port in map(int, sys.argv[1:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(16); socks.append(s)
print("ready", flush=True)
time.sleep(30)
"""

PROBE = """
import json, socket, sys
source, ports = sys.argv[1], list(map(int, sys.argv[2:]))
found = {}
for port in ports:
    s = socket.socket(); s.settimeout(0.5); s.bind((source, 0))
    try:
        s.connect(("10.0.1.11", port)); found[port] = "open"
    except socket.timeout:
        found[port] = "filtered"
    except OSError:
        found[port] = "closed"
    finally:
        s.close()
print(json.dumps(found))
"""

SCRIPT = """
unshare --net sleep 60 & client=$!
sleep 0.3
ip link set lo up
ip link add h0 type veth peer name c0
ip link set c0 netns "$client"
ip addr add 10.0.1.11/24 dev h0; ip addr add 10.0.9.1/24 dev h0; ip link set h0 up
nsenter -t "$client" -n sh -ec 'ip link set lo up; ip addr add 10.0.1.12/24 dev c0;
  ip addr add 10.0.9.9/24 dev c0; ip link set c0 up'
nft -f rules.nft
{py} listen.py {ports} > listening & listener=$!
for i in $(seq 50); do grep -q ready listening && break; sleep 0.1; done
nsenter -t "$client" -n {py} probe.py 10.0.1.12 {ports} > member.json
nsenter -t "$client" -n {py} probe.py 10.0.9.9 {ports} > stranger.json
kill "$listener" "$client"
"""


def test_a_stranger_finds_only_ssh_and_the_service_ports(tmp_path: Path) -> None:
    nft()
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
            pytest.fail(f"{tool} is not installed (util-linux / iproute2)")
    (tmp_path / "rules.nft").write_text(
        (GOLDEN / "three_masters_two_agents" / "a1.nft").read_text())
    (tmp_path / "listen.py").write_text(LISTEN)
    (tmp_path / "probe.py").write_text(PROBE)
    ports = " ".join(map(str, PORTS))
    script = SCRIPT.format(py=sys.executable, ports=ports)
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "sh", "-ec", script],
                          cwd=tmp_path, capture_output=True, text=True, timeout=90, check=False,
                          env={"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"})
    assert done.returncode == 0, done.stderr

    def scan(name: str) -> dict[int, str]:
        return {int(k): v for k, v in json.loads((tmp_path / name).read_text()).items()}

    assert scan("member.json") == {p: "open" for p in PORTS}
    assert scan("stranger.json") == {**{p: "open" for p in OPEN_TO_ANYONE},
                                     **{p: "filtered" for p in CLUSTER + UNLISTED}}
