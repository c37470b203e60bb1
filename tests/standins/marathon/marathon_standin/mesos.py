"""Talking to the Mesos master (stand-in scheduler API, docs/CONTRACTS.md).

The leader is found the way Mesos' own detector does it: the json.info_ child of the --master
zk path with the lowest sequence, whose MasterInfo JSON carries address.ip/port.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NoAuthError, NoNodeError
from kazoo.security import CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE

from .zk import ZkUrl, connect, parse_zk_url

log = logging.getLogger("marathon.mesos")
TIMEOUT = 3.0
WRITE_TIMEOUT = 15.0


class MesosError(Exception):
    """A call failed; `status` is the HTTP status (0 when there was none), `message` the
    master's `{"message"}` when it sent one."""

    def __init__(self, text: str, status: int = 0, message: str = "") -> None:
        super().__init__(text)
        self.status, self.message = status, message


def master_address(info: dict[str, Any]) -> str:
    address = info.get("address") or {}
    host = address.get("ip") or address.get("hostname") or info.get("hostname")
    port = address.get("port") or info.get("port") or 5050
    return f"{host}:{port}"


def _redirect_target(location: str, leader: str, path: str) -> str:
    """Mesos redirects to '//host:port[/path]'; keep our path when it names only the host."""
    if location.startswith("//"):
        location = "http:" + location
    elif "://" not in location:
        return f"http://{leader}{location}"
    scheme, _, rest = location.partition("://")
    host, slash, rest_path = rest.partition("/")
    return f"{scheme}://{host}/{rest_path}" if slash and rest_path else f"{scheme}://{host}{path}"


class MesosMaster:
    """Resolves the current leading master and calls it."""

    def __init__(self, master_flag: str, zk_client: KazooClient | None, zk_url: ZkUrl | None):
        self.flag = master_flag
        self.zk: KazooClient | None = None
        self.zk_path = ""
        self.static: list[str] = []
        if master_flag.startswith("zk://"):
            url = parse_zk_url(master_flag)
            self.zk_path = url.path
            if zk_url is not None and zk_client is not None and url.hosts == zk_url.hosts \
                    and url.auth == zk_url.auth:
                self.zk = zk_client  # same ensemble: one session is enough
            else:
                self.zk = connect(url, 10.0, 10.0)
            # libmesos' detector is a Mesos ZooKeeper group: it creates its base path, with
            # EVERYONE_READ_CREATOR_ALL when the URL has credentials (apache/mesos 1.11.0
            # src/zookeeper/group.cpp `create`), and a refusal fails detection, which
            # src/sched/sched.cpp `detected` turns into EXIT(1) "Failed to detect a master".
            acl = READ_ACL_UNSAFE + CREATOR_ALL_ACL if url.auth else OPEN_ACL_UNSAFE
            try:
                self.zk.ensure_path(self.zk_path, acl=acl)
            except NoAuthError as exc:
                raise ValueError(f"Failed to detect a master: Failed to create '{self.zk_path}'"
                                 " in ZooKeeper: not authenticated") from exc
        else:
            self.static = [h.strip() for h in master_flag.replace("http://", "").split(",")]

    def leader(self) -> str | None:
        if self.zk is None:
            return self.static[0] if self.static else None
        try:
            children = sorted(c for c in self.zk.get_children(self.zk_path)
                              if c.startswith("json.info_"))
            for child in children:
                try:
                    data, _ = self.zk.get(f"{self.zk_path}/{child}")
                except NoNodeError:
                    continue
                return master_address(json.loads(data.decode()))
        except (KazooException, NoNodeError, ValueError) as exc:
            log.debug("no Mesos leader in ZooKeeper: %s", exc)
        return None

    def call(self, leader: str, method: str, path: str, body: Any = None) -> Any:
        """One JSON call; follows one 307 (a non-leading master points at the leader)."""
        url = f"http://{leader}{path}"
        for _ in range(2):
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(url, data=data, method=method,
                                             headers={"Content-Type": "application/json"})
            try:
                # Launch and kill are forwarded to an agent (docker run/stop): allow longer.
                timeout = TIMEOUT if method == "GET" else WRITE_TIMEOUT
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    raw = response.read()
                    return json.loads(raw) if raw.strip() else None
            except urllib.error.HTTPError as exc:
                location = exc.headers.get("Location")
                if exc.code == 307 and location:
                    url = _redirect_target(location, leader, path)
                    continue
                raw = exc.read()
                detail = raw[:200].decode(errors="replace")
                try:
                    message = str(json.loads(raw).get("message") or "")
                except (ValueError, AttributeError):
                    message = ""
                raise MesosError(f"{method} {url}: HTTP {exc.code} {detail}", exc.code,
                                 message) from exc
            except (OSError, ValueError) as exc:
                raise MesosError(f"{method} {url}: {exc}") from exc
        raise MesosError(f"{method} {url}: too many redirects")
