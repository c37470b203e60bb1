"""Sandbox inventory: local systemd-nspawn hosts made by ``python -m sandbox up``.

    sudo .venv/bin/python -m sandbox up inventory/sandbox.py
    .venv/bin/pyinfra -y inventory/sandbox.py deploy.py
    sudo .venv/bin/python -m sandbox down inventory/sandbox.py

This is the ONLY inventory that turns SSH host-key checking off (sandbox_host adds
``ssh_strict_host_key_checking="no"`` and ``ssh_known_hosts_file="/dev/null"``): sandbox hosts get
fresh host keys on every fresh boot and live on a private bridge of this machine. Real
inventories keep checking on.

Adding an agent is one more line (``sandbox_host(SANDBOX, "agent3")``) and another ``up``: the
sandbox is named by SANDBOX, not by this file's name, so a copy of this file with one more line
is the same sandbox and ``up`` boots only the new host.
"""

import os
import sys

# `sandbox` lives at the repository root. pyinfra appends the working directory to sys.path, and
# e2e tests copy this file elsewhere and run from the repo root, so try this file's repository
# first and the working directory second.
for _root in (os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.getcwd()):
    if os.path.isfile(os.path.join(_root, "sandbox", "inventory.py")):
        if _root not in sys.path:
            sys.path.insert(0, _root)
        break

from sandbox.inventory import sandbox_host  # noqa: E402

SANDBOX = "pyinfra-mesos"

masters = [
    sandbox_host(SANDBOX, "master1", zookeeper_id=1),
    sandbox_host(SANDBOX, "master2", zookeeper_id=2),
    sandbox_host(SANDBOX, "master3", zookeeper_id=3),
]

agents = [
    sandbox_host(SANDBOX, "agent1"),
    sandbox_host(SANDBOX, "agent2"),
]

# The optional private registry (tasks/registry.py): Debian's docker-registry on master1's
# address, port registry_port (5000); every Docker daemon lists it as an insecure registry and
# mirror. pyinfra merges a host's data from every group that lists it (dict.update, group
# order), so this entry is the very call masters makes for master1: same arguments, same state
# file, hence the same data, and nothing depends on which group pyinfra reads last.
registry = [
    sandbox_host(SANDBOX, "master1", zookeeper_id=1),
]
