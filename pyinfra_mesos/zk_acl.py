"""Close the /mesos and /marathon znodes of a cluster deployed before zookeeper_acls existed.

    .venv/bin/python -m pyinfra_mesos.zk_acl inventory/production.py

prints, for one ZooKeeper host, the two `zkCli.sh setAcl -R` commands that give existing znodes
the ACLs Mesos and Marathon give the znodes they create once their zk:// URLs carry digest
credentials: `/mesos` readable by anyone and writable by the Mesos digest
(EVERYONE_READ_CREATOR_ALL, apache/mesos 1.11.0 src/zookeeper/authentication.cpp), `/marathon`
for the Marathon digest alone (CREATOR_ALL_ACL, d2iq-archive/marathon v1.10.26
ZookeeperConf.scala). Neither product changes the ACL of a node that already exists.

A digest ACL names its user as `user:base64(sha1("user:password"))`
(ZooKeeper's DigestAuthenticationProvider.generateDigest), which ZooKeeper shows to any client
(`getAcl`): the commands carry that id, never the password. Nothing is printed when
zookeeper_acls is off or a secret was never generated (run the deploy first).
"""

from __future__ import annotations

import base64
import hashlib
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pyinfra_mesos.credentials import zookeeper_credentials
from pyinfra_mesos.inventory_loader import default_data, load_inventory, project_root
from pyinfra_mesos.problems import Problem
from pyinfra_mesos.topology import topology_from_inventory

ZK_CLI = "/usr/share/zookeeper/bin/zkCli.sh"


def digest_id(credentials: str) -> str:
    """`user:password` -> `user:base64(sha1(user:password))`, ZooKeeper's digest ACL id."""
    user = credentials.partition(":")[0]
    digest = base64.b64encode(hashlib.sha1(credentials.encode()).digest()).decode()
    return f"{user}:{digest}"


def setacl_commands(data: Mapping[str, Any], project_root_dir: str | Path) -> list[str]:
    """The zkCli commands (client on 127.0.0.1 of a ZooKeeper host) that close both paths; []
    when zookeeper_acls is off or the secrets do not exist yet (never generated here)."""
    mesos = zookeeper_credentials(data, project_root_dir, "mesos")
    marathon = zookeeper_credentials(data, project_root_dir, "marathon")
    if not (mesos and marathon):
        return []
    server = f"127.0.0.1:{int(data['zookeeper_client_port'])}"
    acls = ((str(data["zookeeper_mesos_path"]), f"digest:{digest_id(mesos)}:cdrwa,world:anyone:r"),
            (str(data["zookeeper_marathon_path"]), f"digest:{digest_id(marathon)}:cdrwa"))
    return [shlex.join([ZK_CLI, "-server", server, "setAcl", "-R", path, acl])
            for path, acl in acls]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the commands for the inventory's first ZooKeeper host; 2 on a bad inventory."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m pyinfra_mesos.zk_acl INVENTORY", file=sys.stderr)
        return 2
    loaded = load_inventory(args[0])
    if isinstance(loaded, Problem):
        print(str(loaded), file=sys.stderr)
        return 2
    topo = topology_from_inventory(loaded)
    if not topo.zookeepers:
        print(f"error: {args[0]}: zookeepers: no ZooKeeper host in the inventory", file=sys.stderr)
        return 2
    member = topo.zookeepers[0]
    commands = setacl_commands({**default_data(), **member.data}, project_root())
    if not commands:
        print("nothing to do: zookeeper_acls is off, or the deploy has not generated the "
              "ZooKeeper secrets yet", file=sys.stderr)
        return 0
    print(f"# on {member.name}, after a deploy restarted every master and Marathon:")
    for command in commands:
        print(command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
