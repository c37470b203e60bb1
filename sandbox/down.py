"""``down``: remove everything the state records, in reverse order, tolerating partial state."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sandbox import config, hosts, network, services
from sandbox.limits import restore_limits
from sandbox.mounts import mounts_under, umount
from sandbox.proc import phase, say, stop
from sandbox.state import StateFile

# Hosts running containers take 12-18 s to power off (dockerd waits for them); a master's
# Marathon leaves at once even when ZooKeeper stops beside it (docs/REAL-CONTRACTS.md).
HOST_STOP_S = 45
SERVICE_STOP_S = 20
# Host trees removed at once: the removal waits on the filesystem more than on the CPU.
REMOVE_WORKERS = 4
# Kept across `down` so the next `up` is fast: built artifacts, the ssh key, the mirror.
KEEP = ("version", "sandbox", "artifacts", "ssh_key", "mesos_repo")


def down(st: StateFile, purge: bool = False) -> int:
    timings: dict[str, float] = {}
    removed: list[str] = []
    with phase("hosts", timings):
        procs = [r["proc"] for r in st.hosts.values() if isinstance(r.get("proc"), dict)]
        stop(procs, HOST_STOP_S, "host ")
        # Each host's tree is its own (root, Docker's layers): removed side by side, the state
        # file written from here only, in the recorded order.
        names = list(st.hosts)
        with ThreadPoolExecutor(max_workers=REMOVE_WORKERS) as pool:
            results = pool.map(_remove_host, [st.hosts[name] for name in names])
            for name, gone in zip(names, results, strict=True):
                say(f"   {name}: {', '.join(gone) if gone else 'nothing left to remove'}")
                removed += gone
                del st.hosts[name]
                st.save()
    with phase("services and bridge", timings):
        stop(services.service_records(st), SERVICE_STOP_S, "service ")
        st.services.clear()
        st.save()
        sandbox = st.data["sandbox"]
        xroot = services.exec_root(sandbox)
        for m in mounts_under(xroot) + mounts_under(config.state_dir(sandbox)):
            if umount(m):
                removed.append(f"mount {m}")
        if xroot.exists() and not mounts_under(xroot):
            shutil.rmtree(xroot)
        removed += network.delete_bridge(st)
        st.data.pop("bridge", None)
        for path in st.data.pop("created_dirs", []):
            _rmdir_empty_tree(path)
        st.save()
        removed += restore_limits(st)
    if purge:
        sdir = config.state_dir(st.data["sandbox"])
        if not mounts_under(sdir):
            shutil.rmtree(sdir, ignore_errors=True)
            say(f"   purged {sdir} (the golden-root cache in {config.CACHE_ROOT} stays)")
    else:
        st.data = {k: v for k, v in st.data.items() if k in KEEP}
        st.data.setdefault("hosts", {})
        st.data.setdefault("services", {})
        st.save()
    say("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    say(f"down: removed {len(removed)} things" if removed else "down: nothing was running")
    return 0


def _remove_host(rec: dict[str, Any]) -> list[str]:
    """A stopped host's cgroups, network and tree; what was removed, as `down` prints it."""
    hosts.remove_cgroups(rec)
    return network.delete_host_net(rec) + hosts.remove_root(rec)


def _rmdir_empty_tree(top: str) -> None:
    """Remove a runtime dir we created, but only its empty directories (never files).

    `ip netns add` bind-mounts /run/netns onto itself: unmount it once it holds nothing.
    """
    if os.path.isdir(top) and not os.listdir(top) and top in mounts_under(Path(top)):
        umount(top)
    for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass
