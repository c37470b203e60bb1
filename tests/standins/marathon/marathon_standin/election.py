"""Leader election among instances sharing --zk: Curator's LeaderLatch, lowest sequence leads.

Layout as in Marathon 1.10.26 (d2iq-archive/marathon, core/election/CuratorElectionStream.scala):
the latch directory is `<zk path>/leader-curator` (ACL: zkDefaultCreationACL plus world READ,
zk.py), each candidate an ephemeral sequential `_c_<uuid>-latch-<seq>` (Curator's protected
name) holding its host:port, with the default ACL only. So without the digest the directory can
be listed but no candidate's data read: CuratorElectionStream `emitLeader` then logs "Error
while getting current leader" and reports no leader. A candidate whose latch node is refused
(NoAuth) is logged by Curator's LeaderLatch as "getChildren() failed. rc = -102" and is never
retried until the session reconnects: Marathon runs on, standby, and never leads.

Polling (every 0.3 s) rather than watches keeps session loss simple: after an expired session
the ephemeral node is gone, and the next poll creates a new one (at the back of the queue).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import KazooException, NoAuthError, NoNodeError
from kazoo.handlers.threading import KazooTimeoutError

from .zk import ZkUrl

log = logging.getLogger("marathon.election")
# Leaving the election on shutdown: how long the latch node's delete may hold it up.
STOP_DELETE_WAIT_S = 2.0
LATCH = "-latch-"  # Curator LeaderLatch LOCK_NAME "latch-" behind the protection prefix


def _sequence(name: str) -> str:
    """Curator sorts latch nodes by what follows "latch-" (the zero-padded sequence)."""
    return name.rsplit(LATCH, 1)[-1]


class Election:
    def __init__(self, client: KazooClient, url: ZkUrl, address: str, enabled: bool,
                 on_change: Callable[[bool], None]):
        self.client = client
        self.url = url
        self.dir = url.path.rstrip("/") + "/leader-curator"
        self._refused = False  # our latch node was refused (NoAuth): no retry until reconnect
        self._was_connected = True
        self.address = address
        self.enabled = enabled
        self.on_change = on_change
        self.my_node: str | None = None
        self.leader: str | None = None
        self.is_leader = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="election", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Leave the election. Curator's LeaderLatch.close() deletes the latch node in the
        background and does not wait for it (`delete().guaranteed().inBackground()`): with
        ZooKeeper unreachable, Marathon still shuts down, and the ephemeral node goes with its
        session. So the delete here is tried only while connected, and waited for at most
        STOP_DELETE_WAIT_S (a plain kazoo delete would wait for a reconnection forever)."""
        self._stop.set()
        self._thread.join(timeout=5)
        if self.my_node and self.client.state == KazooState.CONNECTED:
            try:
                self.client.delete_async(f"{self.dir}/{self.my_node}").get(
                    timeout=STOP_DELETE_WAIT_S)
            except (KazooException, NoNodeError, KazooTimeoutError):
                pass

    def abdicate(self) -> None:
        """DELETE /v2/leader: go to the back of the queue (a new node gets a higher number)."""
        node, self.my_node = self.my_node, None
        if node:
            try:
                self.client.delete(f"{self.dir}/{node}")
            except (KazooException, NoNodeError):
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll()
            except KazooException as exc:
                log.warning("election poll failed: %s", exc)
                self._set(False, None)
            self._stop.wait(0.3)

    def _poll(self) -> None:
        if self.client.state != KazooState.CONNECTED:
            # Suspended or lost: we cannot know whether we still lead, so we don't.
            self._was_connected = False
            self._set(False, None)
            return
        if not self._was_connected:  # LeaderLatch resets (and tries again) on RECONNECTED
            self._was_connected, self._refused = True, False
        if not self.enabled:  # --disable_ha: a single instance always leads.
            self._set(True, self.address)
            return
        if not self._refused:
            self._join()
        children = sorted((c for c in self.client.get_children(self.dir) if LATCH in c),
                          key=_sequence)
        for child in children:  # the lowest readable member leads
            try:
                data, _ = self.client.get(f"{self.dir}/{child}")
            except NoNodeError:
                continue
            except NoAuthError as exc:
                log.error("Error while getting current leader: %s", exc)
                break
            self._set(child == self.my_node, data.decode() or None)
            return
        self._set(False, None)

    def _join(self) -> None:
        """Create our latch node (and the directories, with their ACLs) unless it exists."""
        if self.my_node is not None and self.client.exists(f"{self.dir}/{self.my_node}"):
            return
        try:
            self.client.ensure_path(self.url.path, acl=self.url.default_acl)
            self.client.ensure_path(self.dir, acl=self.url.leader_acl)
            path = self.client.create(f"{self.dir}/_c_{uuid.uuid4()}{LATCH}",
                                      self.address.encode(), acl=self.url.default_acl,
                                      ephemeral=True, sequence=True)
        except NoAuthError:
            log.error("getChildren() failed. rc = -102")  # KeeperException.Code.NOAUTH
            self._refused, self.my_node = True, None
            return
        self.my_node = path.rsplit("/", 1)[1]

    def _set(self, leading: bool, leader: str | None) -> None:
        if leading and not self.is_leader:
            # Take over first (load the state), then name ourselves leader: until then /v2/leader
            # must not point here, or requests would be proxied to an instance not yet serving.
            log.info("leadership gained (leader now %s)", leader)
            self.on_change(True)
            self.is_leader = True
            self.leader = leader
            return
        self.leader = leader
        if leading != self.is_leader:
            self.is_leader = leading
            log.info("leadership lost (leader now %s)", leader)
            self.on_change(leading)
