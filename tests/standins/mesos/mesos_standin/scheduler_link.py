"""Can the master reach a framework's scheduler? (libprocess in place of the stand-in HTTP API.)

Real Mesos sends FrameworkRegisteredMessage to the scheduler's libprocess pid
(`scheduler-<uuid>@<ip>:<port>`), the address the framework ADVERTISES: LIBPROCESS_IP if set,
else the first address its host name resolves to (127.0.1.1 on a stock Debian host)
(apache/mesos 1.11.0 3rdparty/libprocess/src/process.cpp). If the master cannot connect, it
logs "Failed to send '<message>' to '<ip>:<port>', connect: ..." (SocketManager::send_connect)
and the framework stays disconnected: it gets no offers (src/master/master.cpp, `_exited`,
`disconnect`, `deactivate`).

The stand-in keeps that with one real HTTP call per registration:
`POST http://<ip>:<port>/standin/v1/scheduler/registered` with
`{"framework_id": str, "master": "<ip>:<port>"}` and a 2 s timeout (docs/CONTRACTS.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .http import call

REGISTERED_PATH = "/standin/v1/scheduler/registered"
TIMEOUT_S = 2.0
MESSAGE = "mesos.internal.FrameworkRegisteredMessage"
_PID = re.compile(r"^(?P<id>[^@\s]+)@(?P<ip>[^:@\s]+):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class Pid:
    """A libprocess UPID `id@ip:port`."""

    id: str
    ip: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def __str__(self) -> str:
        return f"{self.id}@{self.address}"


def parse_pid(text: str) -> Pid | None:
    """`scheduler-1f0e@10.0.0.5:39437` -> Pid; None when it is not a UPID."""
    m = _PID.match(text.strip())
    if m is None or not 0 < int(m["port"]) < 65536:
        return None
    return Pid(m["id"], m["ip"], int(m["port"]))


def send_registered(pid: Pid, framework_id: str, master: str) -> str | None:
    """Tell the scheduler at `pid` it is registered; None on success, else the log line.

    Success is a 2xx answer within TIMEOUT_S. The failure line follows libprocess's wording;
    the reason is the connect error (e.g. "Connection refused", "timed out") or the HTTP status.
    """
    body = {"framework_id": framework_id, "master": master}
    url = f"http://{pid.address}{REGISTERED_PATH}"
    try:
        status, _, _ = call("POST", url, body, timeout=TIMEOUT_S)
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc
        reason = getattr(reason, "strerror", None) or str(reason)
        return (f"Failed to send '{MESSAGE}' to '{pid.address}', connect: Failed to connect to "
                f"{pid.address}: {reason}")  # fmt: skip
    if 200 <= status < 300:
        return None
    return f"Failed to send '{MESSAGE}' to '{pid.address}': scheduler answered HTTP {status}"
