"""SSH to inventory hosts from the operator's machine (paramiko), for `status`, `backup` and
`restore`.

The cluster's own ports (ZooKeeper, Mesos, Marathon) are firewalled from the operator; only SSH
reaches the hosts. So every request runs ON a cluster host (curl, bash /dev/tcp) against that
host's own address, and files move with SFTP.

How a host is reached comes from its pyinfra data, the keys pyinfra's ssh connector reads
(pyinfra 3.10, pyinfra/connectors/ssh.py): `ssh_hostname` (else the inventory name),
`ssh_user`, `ssh_port`, `ssh_key`, `ssh_key_password`, `ssh_password`, `ssh_known_hosts_file`,
`ssh_strict_host_key_checking`, and `_sudo` (commands run through `sudo -n`). ~/.ssh/config
fills what the inventory leaves out, as it does for pyinfra and OpenSSH.

Host keys: checking is ON unless the host's data says "no" (the sandbox inventory does that,
its keys are new on every boot): known keys come from ~/.ssh/known_hosts,
/etc/ssh/ssh_known_hosts and `ssh_known_hosts_file`; an unknown key is refused ("yes", the
default) or accepted for this run only ("accept-new"); a changed key is always refused
(paramiko raises BadHostKeyException). Same policy as tests/cluster/conftest.py.

Bounds (seconds): connect 10, each command 10, and callers pass one deadline for a whole run.
"""

from __future__ import annotations

import os
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pyinfra_mesos.tcp_nodelay import ssh_client_no_delay

CONNECT_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 10.0

# (host name, shell command) -> stdout; raises RemoteError. The collectors take one of these so
# tests can hand them a fake that never touches the network.
Transport = Callable[[str, str], str]

T = TypeVar("T")


class RemoteError(Exception):
    """A host could not be reached, or a command failed or timed out there (message: one line,
    never the command itself: commands can carry paths to secrets, and output stays short)."""


@dataclass(frozen=True)
class SshSpec:
    """Everything needed to open one SSH connection. `host_key_checking`: yes|accept-new|no."""

    name: str
    hostname: str
    port: int = 22
    user: str | None = None
    key_filename: str | None = None
    key_password: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    host_key_checking: str = "yes"
    known_hosts_files: tuple[str, ...] = ()
    sudo: bool = False

    def target(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.hostname}:{self.port}"


def host_key_checking(data: Mapping[str, Any]) -> str:
    """"no" only for an explicit no/off/false (or False); "accept-new" when asked; else "yes"."""
    value = data.get("ssh_strict_host_key_checking")
    if value is False:
        return "no"
    text = str(value).strip().lower() if value is not None else ""
    if text in ("no", "off", "false"):
        return "no"
    return "accept-new" if text == "accept-new" else "yes"


def ssh_spec(name: str, data: Mapping[str, Any],
             ssh_config: Mapping[str, Any] | None = None) -> SshSpec:
    """The SshSpec for an inventory host; `ssh_config` is ~/.ssh/config's lookup for it
    (paramiko.SSHConfig.lookup) and only fills what the inventory data leaves unset."""
    config = ssh_config or {}
    hostname = str(data.get("ssh_hostname") or config.get("hostname") or name)
    port = int(data.get("ssh_port") or config.get("port") or 22)
    user = data.get("ssh_user") or config.get("user")
    key = data.get("ssh_key")
    if not key and config.get("identityfile"):
        key = list(config["identityfile"])[0]
    known = data.get("ssh_known_hosts_file")
    files = (os.path.expanduser(str(known)),) if known and str(known) != "/dev/null" else ()
    sudo = bool(data.get("_sudo")) and str(user or "") != "root"
    return SshSpec(name=name, hostname=hostname, port=port, user=str(user) if user else None,
                   key_filename=os.path.expanduser(str(key)) if key else None,
                   key_password=data.get("ssh_key_password") or None,
                   password=data.get("ssh_password") or None,
                   host_key_checking=host_key_checking(data), known_hosts_files=files,
                   sudo=sudo)


def user_ssh_config(name: str) -> dict[str, Any]:
    """~/.ssh/config's settings for `name` ({} without the file)."""
    import paramiko

    path = Path("~/.ssh/config").expanduser()
    if not path.is_file():
        return {}
    return dict(paramiko.SSHConfig.from_path(str(path)).lookup(name))


def with_sudo(command: str, sudo: bool) -> str:
    """`command` as root through `sudo -n sh -c` (never prompts: a password prompt would hang
    until the timeout) when the host's data asks for sudo."""
    return f"sudo -n sh -c {shlex.quote(command)}" if sudo else command


class Connection:
    """One open SSH connection: run commands, get and put files."""

    def __init__(self, spec: SshSpec, client: Any) -> None:
        self.spec = spec
        self.client = client
        self._lock = threading.Lock()

    def run(self, command: str, timeout_s: float = COMMAND_TIMEOUT_S) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) of `command` (as root when the host uses sudo);
        RemoteError when it does not finish within `timeout_s`."""
        timeout_s = max(0.5, timeout_s)
        try:
            channel = self.client.get_transport().open_session(timeout=timeout_s)
            channel.settimeout(timeout_s)
            channel.exec_command(with_sudo(command, self.spec.sudo))
            deadline = time.monotonic() + timeout_s
            out, err = bytearray(), bytearray()
            while True:
                while channel.recv_ready():
                    out += channel.recv(65536)
                while channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                if channel.exit_status_ready() and not channel.recv_ready() \
                        and not channel.recv_stderr_ready():
                    break
                if time.monotonic() > deadline:
                    channel.close()
                    raise RemoteError(f"{self.spec.name}: a command did not finish within "
                                      f"{timeout_s:g} s")
                time.sleep(0.02)
            status = channel.recv_exit_status()
            channel.close()
        except RemoteError:
            raise
        except Exception as exc:  # paramiko/socket errors: one line naming the host
            raise RemoteError(f"{self.spec.name}: SSH: {type(exc).__name__}: {exc}") from exc
        return status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def check_output(self, command: str, timeout_s: float = COMMAND_TIMEOUT_S) -> str:
        """stdout of `command`; RemoteError (with stderr's last line) unless it exits 0."""
        status, out, err = self.run(command, timeout_s)
        if status != 0:
            last = (err.strip().splitlines() or out.strip().splitlines() or [""])[-1]
            raise RemoteError(f"{self.spec.name}: exit {status}: {last[:300]}")
        return out

    def get(self, remote: str, local: Path, timeout_s: float = 120.0) -> None:
        """Copy a remote file to `local` with SFTP (created 0600)."""
        self._sftp(lambda sftp: sftp.get(remote, str(local)), timeout_s)
        os.chmod(local, 0o600)

    def put(self, local: Path, remote: str, timeout_s: float = 120.0) -> None:
        """Copy a local file to `remote` with SFTP."""
        self._sftp(lambda sftp: sftp.put(str(local), remote), timeout_s)

    def _sftp(self, action: Callable[[Any], Any], timeout_s: float) -> None:
        try:
            with self._lock:
                sftp = self.client.open_sftp()
                try:
                    sftp.get_channel().settimeout(timeout_s)
                    action(sftp)
                finally:
                    sftp.close()
        except Exception as exc:
            raise RemoteError(f"{self.spec.name}: SFTP: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        self.client.close()


def connect(spec: SshSpec, timeout_s: float = CONNECT_TIMEOUT_S) -> Connection:
    """Open an SSH connection with the host-key policy of the spec; RemoteError on failure."""
    import paramiko

    client = paramiko.SSHClient()
    if spec.host_key_checking != "no":
        client.load_system_host_keys()  # ~/.ssh/known_hosts
        for extra in ("/etc/ssh/ssh_known_hosts", *spec.known_hosts_files):
            if os.path.isfile(extra):
                client.load_system_host_keys(extra)
    # accept-new and no: an unknown key is taken for this run and never written anywhere.
    client.set_missing_host_key_policy(paramiko.RejectPolicy() if spec.host_key_checking == "yes"
                                       else paramiko.AutoAddPolicy())
    try:
        client.connect(spec.hostname, port=spec.port, username=spec.user,
                       key_filename=spec.key_filename, passphrase=spec.key_password,
                       password=spec.password, timeout=timeout_s, banner_timeout=timeout_s,
                       auth_timeout=timeout_s, channel_timeout=timeout_s)
    except Exception as exc:  # paramiko, socket, key-file errors: one line naming the host
        client.close()
        raise RemoteError(f"{spec.name}: cannot connect over SSH ({spec.target()}, host-key "
                          f"checking {spec.host_key_checking}): {type(exc).__name__}: "
                          f"{exc}") from exc
    ssh_client_no_delay(client)  # a status reads many small answers (tcp_nodelay.py)
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(15)  # a restore keeps connections open for minutes
    return Connection(spec, client)


def parallel(items: Iterable[T], fn: Callable[[T], Any], deadline: float,
             key: Callable[[T], str] = str) -> dict[str, Any]:
    """`{key(item): fn(item) or the exception it raised}`, every item in its own thread; items
    still running at `deadline` (time.monotonic()) map to a RemoteError saying so."""
    items = list(items)
    results: dict[str, Any] = {}
    if not items:
        return results
    pool = ThreadPoolExecutor(max_workers=min(32, len(items)))
    futures = {pool.submit(fn, item): key(item) for item in items}
    done, _ = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
    for future, name in futures.items():
        if future in done:
            exc = future.exception()
            results[name] = exc if exc is not None else future.result()
        else:
            results[name] = RemoteError(f"{name}: no answer before the run's deadline")
    pool.shutdown(wait=False, cancel_futures=True)
    return results


class Hosts:
    """Open connections by inventory name, with a Transport over them (for the collectors).

    `open()` connects to every host in parallel, once; hosts that failed are in `unreachable`
    ({name: one-line reason}) and raise RemoteError when used.
    """

    def __init__(self, specs: Iterable[SshSpec], deadline: float,
                 connector: Callable[[SshSpec], Connection] = connect) -> None:
        self.specs = {s.name: s for s in specs}
        self.deadline = deadline
        self.connector = connector
        self.connections: dict[str, Connection] = {}
        self.unreachable: dict[str, str] = {}

    def open(self) -> None:
        found = parallel(self.specs.values(), self.connector, self.deadline,
                         key=lambda s: s.name)
        for name, result in found.items():
            if isinstance(result, Connection):
                self.connections[name] = result
            else:
                self.unreachable[name] = str(result)

    def connection(self, name: str) -> Connection:
        if name in self.connections:
            return self.connections[name]
        raise RemoteError(self.unreachable.get(name, f"{name}: not connected"))

    def _output_by(self, name: str, command: str, deadline: float, what: str) -> str:
        """stdout of `command` on `name`, bounded by COMMAND_TIMEOUT_S and `deadline` (a
        time.monotonic() value); RemoteError "no time left in <what>" once it has passed."""
        left = max(0.0, min(COMMAND_TIMEOUT_S, deadline - time.monotonic()))
        if left <= 0:
            raise RemoteError(f"{name}: no time left in {what}")
        return self.connection(name).check_output(command, left)

    def transport(self, name: str, command: str) -> str:
        """The Transport: stdout of `command` on host `name` (bounded by the run's deadline)."""
        return self._output_by(name, command, self.deadline, "the run")

    def transport_until(self, deadline: float) -> Transport:
        """A Transport for one check of a longer run (`remove` waits minutes for the cluster to
        settle): each command bounded by `deadline` (a time.monotonic() value) and
        COMMAND_TIMEOUT_S, not by the run's deadline, which only bounds the connecting."""
        return lambda name, command: self._output_by(name, command, deadline, "this check")

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
