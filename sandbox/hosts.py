"""Per-host root filesystems (overlayfs on the golden root) and their systemd-nspawn processes."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox import config, hostfiles
from sandbox.addressing import hosts_file, netns_name, veth_name
from sandbox.mounts import is_mounted, mounts_under, umount
from sandbox.proc import alive, pid_record, run, say, spawn
from sandbox.state import StateFile

CGROUP_CONTROLLERS = ("systemd", "unified", "memory", "pids")
SSH_WAIT_S = 90


def host_record(st: StateFile, name: str, ip: str, golden: Path) -> dict[str, Any]:
    """The host's entry, filled in (and saved) before anything for it is created."""
    rec = st.host(name)
    if rec.get("ip") and rec["ip"] != ip:
        raise RuntimeError(f"{name}: recorded address {rec['ip']} differs from {ip}")
    base = config.state_dir(st.data["sandbox"]) / "hosts" / name
    rec.setdefault("ip", ip)
    rec.setdefault("netns", netns_name(name))
    rec.setdefault("veth", veth_name(ip))
    rec.setdefault("dir", str(base))
    rec.setdefault("root", str(base / "root"))
    rec.setdefault("lower", str(golden))
    rec.setdefault(
        "cgroups",
        [f"/sys/fs/cgroup/{c}/{st.data['sandbox']}/{name}" for c in CGROUP_CONTROLLERS
         if Path(f"/sys/fs/cgroup/{c}").is_dir()],
    )
    st.save()
    return rec


def ensure_root(rec: dict[str, Any]) -> list[str]:
    made: list[str] = []
    base = Path(rec["dir"])
    root = Path(rec["root"])
    for sub in ("upper", "work", "root", "docker"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    if not is_mounted(root):
        opts = f"lowerdir={rec['lower']},upperdir={base / 'upper'},workdir={base / 'work'}"
        run(["mount", "-t", "overlay", "overlay", "-o", opts, str(root)])
        made.append("overlay")
    return made


def write_source_files(root: Path, upstream: bool) -> list[str]:
    """Write the proxy files of the upstream mode into a host root (none for the stand-ins).

    Returns the paths written, relative to ``root`` (hostfiles.source_files).
    """
    written: list[str] = []
    for rel, text in hostfiles.source_files(upstream).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_text(text)
        os.chmod(path, 0o644)
        written.append(rel)
    return written


def seed(rec: dict[str, Any], name: str, all_hosts: dict[str, str], pubkey: str,
         upstream: bool = False, apt_lines: Sequence[str] = ()) -> bool:
    """Write the host's identity and config once; later boots keep what the host changed.

    ``upstream``: also the proxy files for the upstream sources (sandbox/sources.py).
    ``apt_lines``: apt sources beside the golden root's one suite (mirror.point_release_lines).
    """
    marker = Path(rec["dir"]) / ".seeded"
    if marker.exists():
        return False
    root = Path(rec["root"])

    def write(rel: str, text: str, mode: int = 0o644) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_text(text)
        os.chmod(path, mode)

    write("etc/machine-id", "")
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    run(["ssh-keygen", "-A", "-f", str(root)])
    (root / "root/.ssh").mkdir(parents=True, exist_ok=True)
    os.chmod(root / "root/.ssh", 0o700)
    write("root/.ssh/authorized_keys", pubkey, 0o600)
    write("etc/hostname", name + "\n")
    write("etc/hosts", hosts_file(all_hosts))
    write("etc/resolv.conf", hostfiles.RESOLV_CONF)
    write("etc/systemd/network/10-sandbox.network", hostfiles.network_file(rec["ip"]))
    write("etc/apt/apt.conf.d/01sandbox-proxy", hostfiles.apt_proxy_conf())
    if apt_lines:
        write("etc/apt/sources.list.d/sandbox-point-releases.list",
              hostfiles.point_release_sources(apt_lines))
    write("usr/local/sbin/sandbox-cgroup-rw", hostfiles.CGROUP_RW_SCRIPT, 0o755)
    write("etc/systemd/system/sandbox-cgroup-rw.service", hostfiles.CGROUP_RW_UNIT)
    write_source_files(root, upstream)
    sysctl = ["systemctl", f"--root={root}", "--quiet"]
    run([*sysctl, "enable", "systemd-networkd.service", "ssh.service",
         "sandbox-cgroup-rw.service"])
    # wait-online would hold boot for 2 minutes; tty1 does not exist in a container.
    run([*sysctl, "disable", "systemd-networkd-wait-online.service"])
    run([*sysctl, "mask", "getty@tty1.service"])
    marker.write_text("")
    return True


def _enter_cgroups(paths: list[str]) -> None:
    """preexec: own session, own cgroup per controller (else all hosts share one 'payload')."""
    os.setsid()
    for path in paths:
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))


def start(st: StateFile, name: str, rec: dict[str, Any]) -> bool:
    if alive(rec.get("proc")):
        return False
    for path in rec["cgroups"]:
        os.makedirs(path, exist_ok=True)
    cmd = [
        "systemd-nspawn", "-D", rec["root"], "-M", name, "-b",
        # no system bus on this machine: do not register, stay in our own cgroup
        "--register=no", "--keep-unit",
        f"--network-namespace-path=/run/netns/{rec['netns']}",
        # Docker inside (agents run tasks, masters run Marathon) needs all of these.
        "--capability=all", "--system-call-filter=@keyring bpf",
        f"--bind={Path(rec['dir']) / 'docker'}:/var/lib/docker",
        "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=read-only",
    ]
    env = dict(os.environ, SYSTEMD_NSPAWN_API_VFS_WRITABLE="network")
    cgroups = list(rec["cgroups"])
    pid = spawn(cmd, str(Path(rec["dir"]) / "nspawn.log"), env=env,
                preexec=lambda: _enter_cgroups(cgroups))
    rec["proc"] = pid_record(pid, f"systemd-nspawn {name}")
    st.save()
    return True


def ssh_banner(ip: str, timeout: float = 2) -> bool:
    try:
        with socket.create_connection((ip, 22), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def wait_ssh(hosts: dict[str, dict[str, Any]], limit_s: float = SSH_WAIT_S) -> list[str]:
    """Wait until every host's sshd answers; returns the hosts that never did."""
    pending = dict(hosts)
    failed: list[str] = []
    deadline = time.monotonic() + limit_s
    for _ in range(int(limit_s * 4)):
        for name in list(pending):
            if not alive(pending[name].get("proc")):
                say(f"   {name}: systemd-nspawn exited; see {pending[name]['dir']}/nspawn.log")
                failed.append(name)
                del pending[name]
            elif ssh_banner(pending[name]["ip"], timeout=0.5):
                del pending[name]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    return sorted(failed + list(pending))


def remove_root(rec: dict[str, Any]) -> list[str]:
    """Unmount and delete a host's directory (never across a mount that is still there)."""
    gone: list[str] = []
    base = Path(rec.get("dir", ""))
    if not rec.get("dir") or not str(base).startswith(str(config.STATE_ROOT) + "/"):
        return gone
    for m in mounts_under(base):
        if umount(m):
            gone.append(f"mount {m}")
    if mounts_under(base):
        say(f"   {base}: still has mounts, left in place")
        return gone
    if base.exists():
        remove_tree(base)
        gone.append(f"dir {base}")
    return gone


# A host's dockerd and container shims can outlive its systemd-nspawn by a moment and delete
# their own overlay layers while we walk the tree: an entry gone under us is what we wanted.
REMOVE_TREE_TRIES = 5
REMOVE_TREE_PAUSE_S = 1.0


def remove_tree(base: Path) -> None:
    """shutil.rmtree that takes an entry vanishing under it as removed, and tries again (at
    most REMOVE_TREE_TRIES times, REMOVE_TREE_PAUSE_S apart) while something else still writes
    in the tree; the last try's error is raised."""
    def vanished_is_fine(_func: Any, _path: str, exc_info: Any) -> None:
        if not isinstance(exc_info[1], FileNotFoundError):
            raise exc_info[1]

    for attempt in range(1, REMOVE_TREE_TRIES + 1):
        try:
            shutil.rmtree(base, onerror=vanished_is_fine)
        except OSError:
            if attempt == REMOVE_TREE_TRIES:
                raise
        if not base.exists():
            return
        time.sleep(REMOVE_TREE_PAUSE_S)
    raise OSError(f"{base}: still there after {REMOVE_TREE_TRIES} removals (something keeps "
                  "writing in it)")


def remove_cgroups(rec: dict[str, Any]) -> None:
    """rmdir the host's cgroups bottom-up (systemd inside made sub-groups; they are empty now)."""
    for top in rec.get("cgroups", []):
        if not os.path.isdir(top):
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
        parent = os.path.dirname(top)
        try:
            os.rmdir(parent)  # the sandbox's own level, once its last host is gone
        except OSError:
            pass
