"""Durable state in ZooKeeper under the --zk path, so a restart or a failover loses nothing.

Layout (under e.g. /marathon):  state/framework-id, state/apps/<quoted id>,
state/deployments/<uuid>, state/tasks/<task id>. Only the leader writes; it reads everything
back when it is elected. Every node is created with `acl`, Marathon's zkDefaultCreationACL
(CREATOR_ALL_ACL with digest credentials in --zk, else OPEN_ACL_UNSAFE; zk.py).
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import quote

from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError
from kazoo.security import ACL


class Store:
    def __init__(self, client: KazooClient, base: str, acl: list[ACL]):
        self.client = client
        self.acl = acl
        self.base = base.rstrip("/") + "/state"
        self.lock = threading.RLock()
        self.apps: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}

    # -- low level -------------------------------------------------------------------------
    def _path(self, kind: str, key: str) -> str:
        return f"{self.base}/{kind}/{quote(key, safe='')}"

    def _put(self, path: str, value: Any) -> None:
        self._put_raw(path, json.dumps(value, sort_keys=True).encode())

    def _delete(self, path: str) -> None:
        try:
            self.client.delete(path)
        except NoNodeError:
            pass

    def _load_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        path = f"{self.base}/{kind}"
        self.client.ensure_path(path, acl=self.acl)
        out: dict[str, dict[str, Any]] = {}
        for child in self.client.get_children(path):
            try:
                data, _ = self.client.get(f"{path}/{child}")
            except NoNodeError:
                continue
            value = json.loads(data.decode())
            out[value["id"]] = value
        return out

    # -- API -------------------------------------------------------------------------------
    def load(self) -> None:
        with self.lock:
            self.apps = self._load_kind("apps")
            self.deployments = self._load_kind("deployments")
            self.tasks = self._load_kind("tasks")

    def framework_id(self) -> str | None:
        try:
            data, _ = self.client.get(f"{self.base}/framework-id")
        except NoNodeError:
            return None
        return data.decode() or None

    def set_framework_id(self, framework_id: str) -> None:
        self._put_raw(f"{self.base}/framework-id", framework_id.encode())

    def _put_raw(self, path: str, data: bytes) -> None:
        if self.client.exists(path):
            self.client.set(path, data)
            return
        try:
            self.client.create(path, data, acl=self.acl, makepath=True)
        except NodeExistsError:  # another thread (e.g. the master's callback) was first
            self.client.set(path, data)

    def put_app(self, app: dict[str, Any]) -> None:
        with self.lock:
            self._put(self._path("apps", app["id"]), app)
            self.apps[app["id"]] = app

    def delete_app(self, app_id: str) -> None:
        with self.lock:
            self._delete(self._path("apps", app_id))
            self.apps.pop(app_id, None)

    def put_deployment(self, deployment: dict[str, Any]) -> None:
        with self.lock:
            self._put(self._path("deployments", deployment["id"]), deployment)
            self.deployments[deployment["id"]] = deployment

    def delete_deployment(self, deployment_id: str) -> None:
        with self.lock:
            self._delete(self._path("deployments", deployment_id))
            self.deployments.pop(deployment_id, None)

    def put_task(self, task: dict[str, Any]) -> None:
        with self.lock:
            self._put(self._path("tasks", task["id"]), task)
            self.tasks[task["id"]] = task

    def delete_task(self, task_id: str) -> None:
        with self.lock:
            self._delete(self._path("tasks", task_id))
            self.tasks.pop(task_id, None)
