"""Leader election among instances sharing --zk: ephemeral sequential znodes, lowest leads.

Polling (every 0.3 s) rather than watches keeps session loss simple: after an expired session
the ephemeral node is gone, and the next poll creates a new one (at the back of the queue).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import KazooException, NoNodeError

log = logging.getLogger("marathon.election")


class Election:
    def __init__(self, client: KazooClient, base: str, address: str, enabled: bool,
                 on_change: Callable[[bool], None]):
        self.client = client
        self.dir = base.rstrip("/") + "/leader"
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
        self._stop.set()
        self._thread.join(timeout=5)
        if self.my_node:
            try:
                self.client.delete(f"{self.dir}/{self.my_node}")
            except (KazooException, NoNodeError):
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
            self._set(False, None)
            return
        if not self.enabled:  # --disable_ha: a single instance always leads.
            self._set(True, self.address)
            return
        self.client.ensure_path(self.dir)
        children = sorted(c for c in self.client.get_children(self.dir) if c.startswith("member_"))
        if self.my_node not in children:
            path = self.client.create(f"{self.dir}/member_", self.address.encode(),
                                      ephemeral=True, sequence=True)
            self.my_node = path.rsplit("/", 1)[1]
            children = sorted(children + [self.my_node])
        for child in children:  # the lowest readable member leads
            try:
                data, _ = self.client.get(f"{self.dir}/{child}")
            except NoNodeError:
                continue
            self._set(child == self.my_node, data.decode() or None)
            return
        self._set(False, None)

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
