"""One running instance: election, the leader's state and loops, and what the API needs."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException

from . import mesos_auth
from .election import Election
from .flags import Flags
from .health import HealthChecker
from .info import build_info
from .libprocess import Endpoint
from .mesos import MesosError, MesosMaster
from .scheduler import Scheduler
from .service import Apps
from .store import Store
from .zk import ZkUrl

log = logging.getLogger("marathon")
SCHEDULE_EVERY = 1.0
HEALTH_EVERY = 0.25


class Node:
    def __init__(self, flags: Flags, client: KazooClient, zk_url: ZkUrl, mesos: MesosMaster,
                 endpoint: Endpoint):
        self.flags = flags
        self.address = f"{flags.hostname}:{flags.number('http_port', 8080)}"
        self.store = Store(client, zk_url.path, zk_url.default_acl)
        self.apps = Apps(self.store, flags.number("local_port_min", 10000),
                         flags.number("local_port_max", 20000), flags.text("default_network_name"))
        self.scheduler = Scheduler(
            self.apps, mesos, flags.text("framework_name") or "marathon", flags.hostname,
            flags.text("webui_url") or f"http://{self.address}",
            flags.number("task_launch_timeout", 300000) / 1000, endpoint.address,
            flags.text("mesos_authentication_principal"), lambda: mesos_auth.credential(flags),
            flags.toggle("maintenance_mode"), float(flags.number("draining_seconds", 0)))
        endpoint.on_registered = self.scheduler.on_registered
        self.health = HealthChecker(self.apps, self.scheduler.mark_unhealthy)
        self.election = Election(client, zk_url, self.address, flags.toggle("ha"),
                                 self._on_leadership)
        # True only once this leader has loaded the state from ZooKeeper.
        self.leading = False
        self._stop = threading.Event()
        self._loop = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self.election.start()
        self._loop.start()

    def stop(self) -> None:
        self._stop.set()
        self.election.stop()
        self._loop.join(timeout=5)

    def _on_leadership(self, leading: bool) -> None:
        if leading:
            self.store.load()
            self.scheduler.new_driver()  # a new leader registers again (failover)
            self.scheduler.last_seen.clear()
            log.info("elected leader: %d apps, %d deployments, %d tasks loaded from ZooKeeper",
                     len(self.store.apps), len(self.store.deployments), len(self.store.tasks))
        self.leading = leading

    def _run(self) -> None:
        next_schedule = 0.0
        while not self._stop.is_set():
            if self.leading:
                try:
                    self.health.tick()
                    if time.time() >= next_schedule:
                        next_schedule = time.time() + SCHEDULE_EVERY
                        self.scheduler.run_once()
                except (MesosError, KazooException) as exc:
                    log.warning("scheduler round failed: %s", exc)
                    self.scheduler.disconnected()
                except Exception:  # keep the loop alive; a bug is logged, not fatal
                    log.exception("scheduler round crashed")
            self._stop.wait(HEALTH_EVERY)

    def info(self) -> dict[str, Any]:
        try:
            framework_id = self.store.framework_id()
        except KazooException:
            framework_id = self.scheduler.framework_id
        return build_info(self.flags, self.leading, self.election.leader, framework_id,
                          self.scheduler.mesos_leader)
