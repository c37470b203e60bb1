"""The leader's app and deployment logic behind /v2/apps and /v2/deployments.

Every change is written to ZooKeeper (Store) before it is answered, so whatever a client was told
survives a failover. Responses use the canonical 1.5+ form only.
"""

from __future__ import annotations

import copy
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from . import appdef
from .store import Store

LOCKED = ("App is locked by one or more deployments. Override with the option '?force=true'. "
          "View details at '/v2/deployments/<DEPLOYMENT_ID>'.")


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def iso(ts: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def not_found(app_id: str) -> ApiError:
    return ApiError(404, {"message": f"App '{app_id}' does not exist"})


class Apps:
    def __init__(self, store: Store, port_min: int, port_max: int, default_network: str | None):
        self.store = store
        self.port_min = port_min
        self.port_max = port_max
        self.default_network = default_network
        self._last_version = ""
        # Runtime data the scheduler fills in (not persisted: recomputed after a failover).
        self.health: dict[str, list[dict[str, Any]]] = {}
        self.last_failure: dict[str, dict[str, Any]] = {}

    # -- helpers ---------------------------------------------------------------------------
    def _version(self) -> str:
        version = iso()
        while version <= self._last_version:  # versions must be unique and increasing
            time.sleep(0.001)
            version = iso()
        self._last_version = version
        return version

    def locking(self, app_id: str) -> list[str]:
        return [d["id"] for d in self.store.deployments.values() if app_id in d["affectedApps"]]

    def _check_lock(self, app_id: str, force: bool) -> None:
        locks = self.locking(app_id)
        if locks and not force:
            raise ApiError(409, {"message": LOCKED, "deployments": [{"id": i} for i in locks]})
        for deployment_id in locks:  # force: the running deployment is cancelled, not rolled back
            self.store.delete_deployment(deployment_id)

    def _deployment(self, app_id: str, action: str, version: str,
                    original: dict[str, Any] | None) -> dict[str, Any]:
        deployment = {
            "id": str(uuid.uuid4()),
            "version": version,
            "affectedApps": [app_id],
            "affectedPods": [],
            "steps": [{"actions": [{"action": action, "app": app_id}]}],
            "currentActions": [{"action": action, "app": app_id, "readinessCheckResults": []}],
            "currentStep": 1,
            "totalSteps": 1,
            "_original": original,  # kept for DELETE /v2/deployments/{id} (rollback)
        }
        self.store.put_deployment(deployment)
        return deployment

    # -- writes ----------------------------------------------------------------------------
    def put(self, app_id: str, body: Any, partial: bool, force: bool,
            create_only: bool = False) -> tuple[int, dict[str, Any], dict[str, Any]]:
        """Create (201) or update (200); returns (status, deployment, app)."""
        if not isinstance(body, dict):
            raise appdef.Invalid([{"path": "/", "errors": ["error.expected.jsobject"]}])
        with self.store.lock:
            existing = self.store.apps.get(app_id)
            if existing is not None and create_only:
                raise ApiError(409, {"message": f"An app with id [{app_id}] already exists."})
            merged = existing is not None and partial
            if merged:
                body = appdef.merge_partial(existing, body)
            # AppsResource.scala 1.13: the id comes from the URL (a body id is overwritten).
            body = dict(body, id=app_id)
            app = appdef.normalise(body, self.default_network, update=merged)
            others = [a for a in self.store.apps.values() if a["id"] != app_id]
            appdef.assign_service_ports(app, others, existing, self.port_min, self.port_max)
            # Also for a new id: a deletion of the same id may still be running.
            self._check_lock(app_id, force)
            config_change = existing is None or appdef.is_config_change(existing, app)
            unchanged = existing is not None and not config_change and \
                existing.get("instances") == app.get("instances")
            if unchanged:
                version = existing["version"]
                app["version"], app["versionInfo"] = version, existing["versionInfo"]
            else:
                version = self._version()
                app["version"] = version
                last_config = version if config_change else existing["versionInfo"][
                    "lastConfigChangeAt"]
                app["versionInfo"] = {"lastScalingAt": version, "lastConfigChangeAt": last_config}
            if existing is None:
                action = "StartApplication"
            elif config_change:
                action = "RestartApplication"
            else:
                action = "ScaleApplication"
            self.store.put_app(app)
            deployment = self._deployment(app_id, action, version, existing)
            return (200 if existing is not None else 201), deployment, app

    def delete(self, app_id: str, force: bool) -> dict[str, Any]:
        with self.store.lock:
            existing = self.store.apps.get(app_id)
            if existing is None:
                raise not_found(app_id)
            # The server default for DELETE is force=true (d2iq-archive/marathon v1.10.26
            # src/main/scala/mesosphere/marathon/api/v2/AppsResource.scala, `delete`).
            self._check_lock(app_id, force)
            self.store.delete_app(app_id)
            return self._deployment(app_id, "StopApplication", self._version(), existing)

    def cancel_deployment(self, deployment_id: str, force: bool) -> dict[str, Any] | None:
        """force: just forget it (202). Otherwise roll back to the app before it (200)."""
        with self.store.lock:
            deployment = self.store.deployments.get(deployment_id)
            if deployment is None:
                raise ApiError(404, {"message": f"DeploymentPlan {deployment_id} does not exist"})
            self.store.delete_deployment(deployment_id)
            if force:
                return None
            app_id = deployment["affectedApps"][0]
            original = deployment.get("_original")
            if original is None:
                if app_id in self.store.apps:
                    self.store.delete_app(app_id)
                return self._deployment(app_id, "StopApplication", self._version(), None)
            current = self.store.apps.get(app_id)
            restored = copy.deepcopy(original)
            version = self._version()
            restored["version"] = version
            restored["versionInfo"] = {"lastScalingAt": version,
                                       "lastConfigChangeAt": original["versionInfo"][
                                           "lastConfigChangeAt"]}
            self.store.put_app(restored)
            return self._deployment(app_id, "RestartApplication", version, current)

    # -- reads -----------------------------------------------------------------------------
    def tasks_of(self, app_id: str) -> list[dict[str, Any]]:
        return sorted((t for t in self.store.tasks.values() if t["appId"] == app_id),
                      key=lambda t: t["stagedAt"])

    def render_task(self, task: dict[str, Any], app: dict[str, Any] | None) -> dict[str, Any]:
        out = {
            "id": task["id"],
            "appId": task["appId"],
            "host": task["host"],
            "ports": task["ports"],
            "servicePorts": task["servicePorts"],
            "slaveId": task["agentId"],
            "state": task["state"],
            "stagedAt": task["stagedAt"],
            "startedAt": task.get("startedAt"),
            "version": task["version"],
            "ipAddresses": [],
            "localVolumes": [],
            "role": "*",
        }
        if app is not None and app.get("healthChecks"):
            results = self.health.get(task["id"], [])
            # Checks that have not run yet have no entry (HealthCheckActor.scala).
            out["healthCheckResults"] = [copy.deepcopy(r) for r in results if r is not None]
        return out

    def is_healthy(self, task: dict[str, Any], app: dict[str, Any]) -> bool | None:
        """True/False when the app has health checks and results exist, None when unknown."""
        checks = app.get("healthChecks") or []
        if not checks:
            return None
        results = [r for r in self.health.get(task["id"], []) if r is not None]
        if any(not r["alive"] for r in results):
            return False
        if len(results) == len(checks):
            return True
        return None

    def render_app(self, app: dict[str, Any], embed_tasks: bool) -> dict[str, Any]:
        out = copy.deepcopy(app)
        tasks = [t for t in self.tasks_of(app["id"]) if not t.get("killing")]
        health = [self.is_healthy(t, app) for t in tasks if t["state"] == "TASK_RUNNING"]
        out["tasksStaged"] = sum(t["state"] in ("TASK_STAGING", "TASK_STARTING") for t in tasks)
        out["tasksRunning"] = sum(t["state"] == "TASK_RUNNING" for t in tasks)
        out["tasksHealthy"] = sum(h is True for h in health)
        out["tasksUnhealthy"] = sum(h is False for h in health)
        out["deployments"] = [{"id": i} for i in self.locking(app["id"])]
        if app["id"] in self.last_failure:
            out["lastTaskFailure"] = self.last_failure[app["id"]]
        if embed_tasks:
            out["tasks"] = [self.render_task(t, app) for t in tasks]
        return out

    def get(self, app_id: str, embed_tasks: bool = True) -> dict[str, Any]:
        with self.store.lock:
            app = self.store.apps.get(app_id)
            if app is None:
                raise not_found(app_id)
            return self.render_app(app, embed_tasks)

    def list(self, embed_tasks: bool, id_filter: str | None = None) -> list[dict[str, Any]]:
        with self.store.lock:
            apps = sorted(self.store.apps.values(), key=lambda a: a["id"])
            return [self.render_app(a, embed_tasks) for a in apps
                    if not id_filter or id_filter in a["id"]]

    def app_tasks(self, app_id: str) -> list[dict[str, Any]]:
        with self.store.lock:
            app = self.store.apps.get(app_id)
            if app is None:
                raise not_found(app_id)
            return [self.render_task(t, app) for t in self.tasks_of(app_id)
                    if not t.get("killing")]

    def deployments(self) -> list[dict[str, Any]]:
        with self.store.lock:
            items = sorted(self.store.deployments.values(), key=lambda d: d["version"])
            return [{k: v for k, v in d.items() if not k.startswith("_")} for d in items]
