"""Put a rendered haproxy.cfg into service: bindable ports only, check, swap, reload, prove it.

Stdlib only. Rules:
- A servicePort that something other than HAProxy already holds on this host (sshd's 22, a
  ZooKeeper or Mesos port) is dropped before rendering: `haproxy -c` does not bind, so it would
  pass, and the reload would then fail for every app. Ports HAProxy serves now (bound in the
  config it runs) are not probed: they are its own.
- Applied means running, not written. The text HAProxy runs is recorded (sha256 in a state
  file) only after the reload is proven; a reload that fails is logged with HAProxy's own
  words, the previous file is put back (a restart then starts what was running), and the next
  round tries again instead of calling the file unchanged.
- Proof of a reload: Debian's `systemctl reload haproxy` (haproxy -Ws, master-worker) checks
  the file and sends SIGUSR2; it answers 0 even when the new worker then fails to bind. So the
  bridge asks the stats socket (`show stat`) until the proxies served are the new config's,
  within a bound.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import shlex
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence

from pyinfra_mesos.haproxy_model import Listener

LOG = logging.getLogger("haproxy-bridge")

BIND = re.compile(r"^\s+bind :(\d+)\s*$", re.MULTILINE)
LISTEN = re.compile(r"^listen (\S+)\s*$", re.MULTILINE)
Check = Callable[[str], tuple[bool, str]]
Reload = Callable[[], tuple[bool, str]]
Verify = Callable[[str], tuple[bool, str]]


def bound_ports(config_text: str | None) -> set[int]:
    """The ports `bind :N` lines of a config the bridge wrote."""
    return {int(p) for p in BIND.findall(config_text or "")}


def listen_names(config_text: str) -> set[str]:
    return set(LISTEN.findall(config_text))


def port_taken(port: int) -> bool:
    """True when binding 0.0.0.0:port fails with EADDRINUSE (someone listens there).

    SO_REUSEADDR as HAProxy sets it, so connections in TIME_WAIT do not count. No permission
    for a port below 1024 (a bridge not run as root) is "not known to be taken": HAProxy's
    master runs as root and binds it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


def bindable(listeners: Iterable[Listener], own_ports: set[int],
             taken: Callable[[int], bool] = port_taken) -> list[Listener]:
    """The listeners whose service port HAProxy holds already or can bind; others logged."""
    out = []
    for listener in listeners:
        if listener.service_port not in own_ports and taken(listener.service_port):
            LOG.warning("%s: servicePort %s is held by another program on this host; not "
                        "bound", listener.app_id, listener.service_port)
            continue
        out.append(listener)
    return out


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write_atomic(path: str, text: str, mode: int = 0o644) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".haproxy-bridge-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def install_config(text: str, config_path: str, state_path: str, check: Check, reload: Reload,
                   verify: Verify) -> str:
    """Bring HAProxy to `text`: "unchanged", "reloaded", "invalid" or "reload-failed".

    "unchanged" only when the file holds `text` AND the state file says HAProxy runs it. The
    candidate is checked next to the config (same file system: the rename is atomic).
    """
    current = read_text(config_path)
    if current == text and (read_text(state_path) or "").strip() == digest(text):
        return "unchanged"
    directory = os.path.dirname(os.path.abspath(config_path))
    fd, candidate = tempfile.mkstemp(prefix=".haproxy-bridge-", suffix=".cfg", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(candidate, 0o644)
        ok, output = check(candidate)
        if not ok:
            LOG.error("generated config refused by haproxy -c, keeping the current one:\n%s",
                      output.strip())
            return "invalid"
        os.replace(candidate, config_path)
    finally:
        if os.path.exists(candidate):
            os.unlink(candidate)
    ok, output = reload()
    if ok:
        ok, output = verify(text)
    if not ok:
        LOG.error("haproxy reload failed; the previous config stays and the next run retries:"
                  "\n%s", output.strip())
        if current is not None:
            _write_atomic(config_path, current)
        return "reload-failed"
    _write_atomic(state_path, digest(text) + "\n")
    return "reloaded"


def run_command(argv: Sequence[str], timeout_s: float = 60.0) -> tuple[bool, str]:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return done.returncode == 0, done.stdout + done.stderr


def stats_proxies(socket_path: str, timeout_s: float = 2.0) -> set[str] | None:
    """The `listen` proxies the HAProxy worker behind `socket_path` serves, or None."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout_s)
            s.connect(socket_path)
            s.sendall(b"show stat\n")
            data = bytearray()
            while len(data) < 16 * 1024 * 1024:
                piece = s.recv(65536)
                if not piece:
                    break
                data += piece
    except OSError:
        return None
    rows = data.decode("utf-8", "replace").splitlines()
    return {row.split(",", 1)[0] for row in rows
            if row and not row.startswith("#") and ",FRONTEND," in row}


def verify_by_stats(socket_path: str, timeout_s: float = 10.0,
                    log_command: str = "") -> Verify:
    """A Verify that waits (bounded) until the stats socket serves the text's proxies; on
    failure its message carries HAProxy's own ALERT lines from `log_command`'s output."""

    def verify(text: str) -> tuple[bool, str]:
        wanted = listen_names(text)
        deadline = time.monotonic() + timeout_s
        served: set[str] | None = None
        while time.monotonic() < deadline:
            served = stats_proxies(socket_path)
            if served == wanted:
                return True, ""
            time.sleep(0.2)
        if served is None:
            reason = f"no answer on the stats socket {socket_path} within {timeout_s:g} s"
        else:
            reason = (f"after {timeout_s:g} s HAProxy serves {sorted(served)}, not the new "
                      f"config's {sorted(wanted)}")
        if log_command:
            ok, output = run_command(shlex.split(log_command), timeout_s=10)
            alerts = [line for line in output.splitlines() if "ALERT" in line]
            reason += "\nHAProxy says:\n" + "\n".join(alerts[-10:] or [output.strip()[-2000:]])
        return False, reason

    return verify
