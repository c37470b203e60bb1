"""``python -m sandbox up|down|status|ssh INVENTORY [HOST [COMMAND...]]`` and ``sources``.

``sources`` prints the one line saying which Mesos/Marathon sources ``up`` would use
(PYINFRA_MESOS_SOURCES, sandbox/sources.py); exit 2 on a value that is not allowed.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from pathlib import Path

from sandbox import config, sources
from sandbox.invfile import InventoryError, load_inventory
from sandbox.state import StateFile


def _lock(sandbox: str) -> int:
    """One up/down at a time per sandbox: both rewrite the state and the machine's network."""
    sdir = config.state_dir(sandbox)
    sdir.mkdir(parents=True, exist_ok=True)
    fd = os.open(sdir / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"error: another `python -m sandbox` is working on {sandbox}", file=sys.stderr)
        raise SystemExit(1) from None
    return fd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("up", "down", "status", "ssh"):
        p = sub.add_parser(name)
        p.add_argument("inventory", type=Path)
        if name == "down":
            p.add_argument("--purge", action="store_true",
                           help="also delete the state dir (built images, registry, ssh key)")
        if name == "ssh":
            p.add_argument("host")
            p.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("sources", help="say which Mesos/Marathon sources `up` would use")
    args = ap.parse_args(argv)

    if args.cmd in ("up", "sources"):
        try:
            mode = sources.mode_from_env()
        except sources.SourcesError as e:
            print(e, file=sys.stderr)
            return 2
        if args.cmd == "sources":
            print(sources.describe(mode))
            return 0

    # Sandbox names become paths and cgroup names: importing the package is not enough, the
    # inventory's SANDBOX decides which state is used (a copied inventory = the same sandbox).
    try:
        inv = load_inventory(args.inventory)
    except InventoryError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    st = StateFile(config.state_path(inv.sandbox), inv.sandbox)

    if args.cmd == "status":
        from sandbox.status import status

        rc = status(inv, st)
        if any(st.hosts.values()):
            # The cluster as the operator's own `status` command sees it, over SSH: ZooKeeper,
            # the Mesos leader, agents, frameworks, Marathon, apps and each load balancer's ports.
            from pyinfra_mesos.cli import main as cluster_main

            rc = rc or cluster_main(["status", str(inv.path)])
        return rc
    if args.cmd == "ssh":
        from sandbox.status import ssh

        return ssh(st, args.host, args.command)

    if os.geteuid() != 0:
        print("error: the sandbox needs root (namespaces, mounts, nspawn)", file=sys.stderr)
        return 1
    _lock(inv.sandbox)
    try:
        if args.cmd == "up":
            from sandbox.up import up

            return up(inv, st, mode)
        from sandbox.down import down

        return down(st, purge=args.purge)
    except sources.SourcesError as e:
        print(e, file=sys.stderr)  # one line, nothing was made
        return 1
    except Exception as e:  # noqa: BLE001 - one clear line plus the way out, not a traceback
        print(f"error: {args.cmd} failed: {type(e).__name__}: {e}", file=sys.stderr)
        print(f"       everything made so far is recorded in {st.path}; "
              f"`python -m sandbox down {args.inventory}` removes it", file=sys.stderr)
        if os.environ.get("SANDBOX_DEBUG"):
            raise
        return 1


if __name__ == "__main__":
    sys.exit(main())
