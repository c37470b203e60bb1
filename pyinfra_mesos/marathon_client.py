"""A small Marathon v2 API client (stdlib only).

Stdlib only on purpose: the deploy copies this one file to the first Marathon host and runs it
there (`python3 marathon_client.py apply ...`), so it must not import anything from the package.

Facts used (shared/reference/marathon-api.md, facts.md):
- `PUT /v2/apps/{id}` creates (201) or updates (200) and answers `{"deploymentId", "version"}`;
  the deployment is over when its id leaves `GET /v2/deployments`.
- 409 = locked by a running deployment (`?force=true` would cancel it: never by default);
  422 = `{"message": "Object is not valid", "details": [{"path", "errors": [...]}]}`.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Keys whose values the user owns completely: Marathon adds nothing to them, so a label or
# variable removed from the file must count as a change (everything else is compared as a subset).
EXACT_KEYS = frozenset({"labels", "env"})
# A 0 here asks Marathon to pick a port; the value Marathon returns is then never 0.
WILDCARD_ZERO_KEYS = frozenset({"servicePort", "port"})


class MarathonError(Exception):
    """An answer from Marathon that is not a success, with its message and details."""

    def __init__(self, status: int, message: str, details: Sequence[Mapping[str, Any]] = (),
                 deployments: Sequence[Mapping[str, Any]] = (), url: str = "") -> None:
        self.status = status
        self.message = message
        self.details = list(details)
        self.deployments = list(deployments)
        self.url = url
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [f"Marathon {self.status}" if self.status else "Marathon", self.message]
        for detail in self.details:
            errors = "; ".join(str(e) for e in detail.get("errors", []))
            parts.append(f"{detail.get('path', '?')}: {errors}")
        if self.deployments:
            ids = ", ".join(str(d.get("id")) for d in self.deployments)
            parts.append(f"locking deployments: {ids}")
        return ": ".join(p for p in parts if p)


class DeploymentTimeout(MarathonError):
    """The deployment did not finish (or the app did not reach its instances) in time."""


@dataclass
class DeployResult:
    action: str  # "unchanged" | "created" | "updated"
    app_id: str
    deployment_id: str | None = None
    app: dict[str, Any] = field(default_factory=dict)


def app_path(app_id: str) -> str:
    """`/v2/apps/<id>` with the id's slashes kept (group ids) and everything else quoted."""
    return "/v2/apps/" + urllib.parse.quote(app_id.strip("/"), safe="/")


def matches(desired: Any, current: Any, key: str = "") -> bool:
    """True when every value the user set in `desired` is what Marathon has in `current`.

    Marathon answers with every default filled in (backoffSeconds, portMappings[].labels, ...),
    so equality would always differ: dicts compare as a subset, lists element by element with
    the same length, numbers by value (64 == 64.0).
    """
    if key in WILDCARD_ZERO_KEYS and desired == 0:
        return True
    if isinstance(desired, Mapping):
        if not isinstance(current, Mapping):
            return False
        if key in EXACT_KEYS and set(desired) != set(current):
            return False
        return all(matches(v, current.get(k), k) for k, v in desired.items()
                   if v is not None or k in current)
    if isinstance(desired, list):
        if not isinstance(current, list) or len(desired) != len(current):
            return False
        return all(matches(d, c, key) for d, c in zip(desired, current, strict=True))
    if key == "id" and isinstance(desired, str) and isinstance(current, str):
        return desired.strip("/") == current.strip("/")
    if isinstance(desired, bool) or isinstance(current, bool):
        return desired is current
    if isinstance(desired, int | float) and isinstance(current, int | float):
        return float(desired) == float(current)
    return bool(desired == current)


class MarathonClient:
    """Talks to one of several Marathon URLs (HA: any instance proxies to the leader)."""

    def __init__(self, urls: str | Sequence[str], timeout_s: float = 10.0,
                 credentials: str = "") -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        if not self.urls:
            raise ValueError("no Marathon URL given")
        self.timeout_s = timeout_s
        self._auth = ""
        if credentials:
            self._auth = "Basic " + base64.b64encode(credentials.encode()).decode()

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request; try the next URL only when a URL cannot be reached at all.

        An HTTP error answer is Marathon speaking: it is raised as MarathonError, not retried.
        """
        data = None if body is None else json.dumps(body).encode()
        last_error = ""
        for base in self.urls:
            url = base.rstrip("/") + path
            req = urllib.request.Request(url, data=data, method=method)
            req.add_header("Accept", "application/json")
            if data is not None:
                req.add_header("Content-Type", "application/json")
            if self._auth:
                req.add_header("Authorization", self._auth)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return resp.status, _parse(resp.read())
            except urllib.error.HTTPError as e:
                raise _error_from(e.code, e.read(), url) from None
            except (urllib.error.URLError, OSError, ValueError) as e:
                last_error = f"{url}: {getattr(e, 'reason', e)}"
        raise MarathonError(0, f"no Marathon reachable ({last_error})")

    def ping(self) -> bool:
        try:
            self.request("GET", "/ping")
            return True
        except MarathonError:
            return False

    def wait_until_up(self, timeout_s: float, poll_s: float = 2.0,
                      clock: Callable[[], float] = time.monotonic,
                      sleep: Callable[[float], None] = time.sleep) -> None:
        """Marathon may still be starting right after the deploy (re)started it."""
        deadline = clock() + timeout_s
        while not self.ping():
            if clock() >= deadline:
                raise DeploymentTimeout(0, f"Marathon did not answer /ping in {timeout_s:g}s")
            sleep(poll_s)

    def get_app(self, app_id: str) -> dict[str, Any] | None:
        """The app as Marathon has it, or None when it does not exist (404)."""
        try:
            _, body = self.request("GET", app_path(app_id))
        except MarathonError as e:
            if e.status == 404:
                return None
            raise
        if not isinstance(body, dict) or not isinstance(body.get("app"), dict):
            raise MarathonError(0, f"unexpected answer for {app_id}: {str(body)[:200]}")
        return body["app"]

    def put_app(self, app: Mapping[str, Any], force: bool = False) -> dict[str, Any]:
        """Create or replace the app; partialUpdate=false makes the file the whole definition."""
        query = "?partialUpdate=false" + ("&force=true" if force else "")
        _, body = self.request("PUT", app_path(str(app["id"])) + query, dict(app))
        if not isinstance(body, dict):
            raise MarathonError(0, f"unexpected answer to PUT {app['id']}: {str(body)[:200]}")
        return body

    def deployments(self) -> list[dict[str, Any]]:
        _, body = self.request("GET", "/v2/deployments")
        if not isinstance(body, list):
            raise MarathonError(0, f"unexpected /v2/deployments answer: {str(body)[:200]}")
        return body

    def wait_for_deployment(self, deployment_id: str | None, app_id: str, instances: int,
                            timeout_s: float, poll_s: float = 2.0,
                            clock: Callable[[], float] = time.monotonic,
                            sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
        """Wait until the deployment is gone AND the app runs `instances` (healthy) tasks.

        A finished deployment alone is not enough: with minimumHealthCapacity < 1 Marathon can
        end it before every new task passes its health check. Bounded by `timeout_s`.
        """
        deadline = clock() + timeout_s
        state = "not polled yet"
        while True:
            try:
                active = {d.get("id") for d in self.deployments()}
                app = self.get_app(app_id) or {}
                running = int(app.get("tasksRunning", 0) or 0)
                healthy = int(app.get("tasksHealthy", 0) or 0)
                has_checks = bool(app.get("healthChecks"))
                in_progress = deployment_id is not None and deployment_id in active
                state = (f"deployment {'running' if in_progress else 'done'}, "
                         f"tasks running {running}/{instances}"
                         + (f", healthy {healthy}/{instances}" if has_checks else ""))
                if (not in_progress and running == instances
                        and (not has_checks or healthy == instances)):
                    return app
            except MarathonError as e:
                if e.status not in (0, 503):  # unreachable or leader election: keep waiting
                    raise
                state = e.describe()
            if clock() >= deadline:
                raise DeploymentTimeout(0, f"{app_id}: not done after {timeout_s:g}s ({state})")
            sleep(poll_s)


def deploy_app(client: MarathonClient, desired: Mapping[str, Any], timeout_s: float,
               poll_s: float = 2.0, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> DeployResult:
    """Make Marathon run `desired` (already normalised): no PUT when it already matches."""
    app_id = str(desired["id"])
    current = client.get_app(app_id)
    if current is not None and matches(desired, current):
        return DeployResult("unchanged", app_id, app=current)
    answer = client.put_app(desired)
    deployment_id = answer.get("deploymentId")
    instances = int(desired.get("instances", 1))
    app = client.wait_for_deployment(deployment_id, app_id, instances, timeout_s, poll_s,
                                     clock=clock, sleep=sleep)
    return DeployResult("created" if current is None else "updated", app_id, deployment_id, app)


def _parse(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # /ping answers plain "pong"


def _error_from(status: int, raw: bytes, url: str) -> MarathonError:
    body = _parse(raw)
    if isinstance(body, dict):
        return MarathonError(status, str(body.get("message", "")), body.get("details") or (),
                             body.get("deployments") or (), url)
    return MarathonError(status, str(body or "")[:300], url=url)


def main(argv: Sequence[str] | None = None) -> int:
    """`apply`: wait for Marathon, PUT the app file unless it already matches, wait for it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    apply = sub.add_parser("apply", help="create or update one app and wait for it")
    apply.add_argument("--url", action="append", required=True, help="Marathon base URL")
    apply.add_argument("--file", required=True, help="normalised app definition (JSON)")
    apply.add_argument("--timeout", type=float, default=300.0)
    apply.add_argument("--poll", type=float, default=2.0)
    apply.add_argument("--credentials-file", default="",
                       help="file holding user:password (kept out of the process list)")
    args = parser.parse_args(argv)

    credentials = ""
    if args.credentials_file:
        with open(args.credentials_file, encoding="utf-8") as f:
            credentials = f.read().strip()
    with open(args.file, encoding="utf-8") as f:
        desired = json.load(f)
    client = MarathonClient(args.url, credentials=credentials)
    started = time.monotonic()
    try:
        client.wait_until_up(args.timeout, args.poll)
        remaining = max(1.0, args.timeout - (time.monotonic() - started))
        result = deploy_app(client, desired, remaining, args.poll)
    except MarathonError as e:
        print(f"error: {desired.get('id')}: {e.describe()}", file=sys.stderr)
        return 2
    print(f"{result.app_id}: {result.action}"
          + (f" (deployment {result.deployment_id})" if result.deployment_id else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
