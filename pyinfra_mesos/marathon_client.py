"""A small Marathon v2 API client (stdlib only).

Stdlib only on purpose: the deploy copies this one file to the first Marathon host and runs it
there (`python3 marathon_client.py apply ...`), so it must not import anything from the package.

Facts used (d2iq-archive/marathon v1.10.26 under src/main/scala/mesosphere/marathon/, the file
named with each; docs/REAL-CONTRACTS.md, Marathon rows):
- `PUT /v2/apps/{id}?partialUpdate=false` creates (201) or replaces (200) the whole app and
  answers `{"deploymentId", "version"}` (without the flag 1.10 MERGES, so a field removed from
  the file would stay: AppsResource.scala); the deployment is over when its id leaves
  `GET /v2/deployments`.
- No leader yet: while Marathon elects a leader its leader proxy answers 502 ("Could not
  determine the current leader", an HTML page), other proxy failures 500, a starting instance
  503 or 504, and a stopped one does not answer (status 0 here). Each means "try the next
  Marathon, then again", within the call's total time budget (LeaderProxyFilter, HttpBindings).
- 409 = locked by a running deployment (`?force=true` would cancel it: never by default);
  422 = `{"message": "Object is not valid", "details": [{"path", "errors": [...]}]}`, and
  400 = `{"message": "Invalid JSON", "details": "<parser message>"}` (details a string).
- HTTP basic auth (`--http_credentials`) guards every path, /ping included (401 without).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# HTTP statuses that mean "no leader yet" (0 = no answer at all): retried on every URL.
NO_LEADER = frozenset({0, 500, 502, 503, 504})
# Fields Marathon owns in an app answer; never part of a comparison.
MARATHON_OWNED = frozenset({
    "version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
    "deployments", "tasks", "lastTaskFailure", "taskStats", "tasksStats",
    "readinessCheckResults",
})


class MarathonError(Exception):
    """An answer from Marathon that is not a success, with its message and details."""

    def __init__(self, status: int, message: str, details: Any = (),
                 deployments: Any = (), url: str = "") -> None:
        self.status = status
        self.message = message
        # 422 details are a list of {path, errors}; a 400 "Invalid JSON" has a string.
        self.details: list[Any] = ([details] if isinstance(details, str | Mapping)
                                   else list(details) if isinstance(details, list | tuple)
                                   else [details] if details else [])
        self.deployments = list(deployments) if isinstance(deployments, list | tuple) else []
        self.url = url
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [f"Marathon {self.status}" if self.status else "Marathon", self.message]
        for detail in self.details:
            if isinstance(detail, Mapping):
                errors = detail.get("errors", [])
                if not isinstance(errors, list | tuple):
                    errors = [errors]
                parts.append(f"{detail.get('path', '?')}: "
                             + "; ".join(str(e) for e in errors))
            else:
                parts.append(str(detail)[:300])
        if self.deployments:
            ids = ", ".join(str(d.get("id")) if isinstance(d, Mapping) else str(d)
                            for d in self.deployments)
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


def same_definition(desired: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """True when `current` (Marathon's answer) holds exactly `desired` (a canonical app).

    Strict: every key of either side except the Marathon-owned ones must be equal (numbers
    by value, 64 == 64.0). The deploy decides with the canonical comparison of apps.compare;
    this stdlib check only saves a PUT when Marathon already has the very same app, and can
    only err towards one PUT too many (a set in another order), never towards a missed change.
    """
    keys = (set(desired) | set(current)) - MARATHON_OWNED
    return all(_equal(desired.get(k), current.get(k)) for k in keys)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) == set(b) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def read_credentials(path: str) -> str:
    """`user:password` from a file that only its owner can read (mode 0600 or stricter).

    Raises MarathonError (status 0) when the file is readable by group or others: a secret
    other users could read is refused rather than used.
    """
    info = os.stat(path)
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise MarathonError(0, f"credentials file {path} must be mode 0600 "
                               f"(is {stat.S_IMODE(info.st_mode):04o})")
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


class MarathonClient:
    """Talks to one of several Marathon URLs (HA: any instance proxies to the leader)."""

    def __init__(self, urls: str | Sequence[str], timeout_s: float = 10.0,
                 credentials: str = "", credentials_file: str = "",
                 call_timeout_s: float = 60.0, retry_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """urls: every Marathon base URL; timeout_s: per HTTP attempt; call_timeout_s: total
        time one `request` may take across URLs and retries; credentials `user:password`, or
        credentials_file, a 0600 file holding it (never a command-line argument)."""
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        if not self.urls:
            raise ValueError("no Marathon URL given")
        self.timeout_s = timeout_s
        self.call_timeout_s = call_timeout_s
        self.retry_s = retry_s
        self._clock = clock
        self._sleep = sleep
        if credentials_file:
            credentials = read_credentials(credentials_file)
        self._auth = ""
        if credentials:
            self._auth = "Basic " + base64.b64encode(credentials.encode()).decode()

    def _once(self, url: str, method: str, data: bytes | None,
              timeout_s: float) -> tuple[int, Any]:
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self._auth:
            req.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                return resp.status, _parse(resp.read())
        except urllib.error.HTTPError as e:
            raise _error_from(e.code, e.read(), url) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise MarathonError(0, f"{url}: {getattr(e, 'reason', e)}", url=url) from None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request to the first Marathon that has a leader, bounded in total time.

        A "no leader yet" answer (NO_LEADER: 0, 500, 502, 503, 504) moves on to the next URL,
        and after the last one starts again, until `call_timeout_s` is spent; then the last
        such error is raised. Any other HTTP error is Marathon's answer: raised at once.
        """
        data = None if body is None else json.dumps(body).encode()
        deadline = self._clock() + self.call_timeout_s
        last: MarathonError | None = None
        while True:
            for base in self.urls:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    break
                try:
                    return self._once(base.rstrip("/") + path, method, data,
                                      min(self.timeout_s, remaining))
                except MarathonError as e:
                    if e.status not in NO_LEADER:
                        raise
                    last = e
            if self._clock() + self.retry_s >= deadline:
                break
            self._sleep(self.retry_s)
        assert last is not None
        if last.status == 0:
            raise MarathonError(0, f"no Marathon reachable in {self.call_timeout_s:g}s "
                                   f"({last.message})", url=last.url)
        last.message = (f"no Marathon leader in {self.call_timeout_s:g}s: "
                        f"{last.message or 'no message'}")
        raise MarathonError(last.status, last.message, last.details, last.deployments,
                            last.url)

    def ping(self) -> bool:
        """True when a Marathon answers /ping; False while none has a leader (NO_LEADER).
        Any other error (401: wrong credentials) is raised, not waited out."""
        try:
            self.request("GET", "/ping")
            return True
        except MarathonError as e:
            if e.status not in NO_LEADER:
                raise
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
                if e.status not in NO_LEADER:  # unreachable or leader election: keep waiting
                    raise
                state = e.describe()
            if clock() >= deadline:
                raise DeploymentTimeout(0, f"{app_id}: not done after {timeout_s:g}s ({state})")
            sleep(poll_s)


def deploy_app(client: MarathonClient, desired: Mapping[str, Any], timeout_s: float,
               poll_s: float = 2.0, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> DeployResult:
    """Make Marathon run `desired` (a canonical app, apps.compare's PUT body): PUT it with
    `?partialUpdate=false` unless Marathon already has exactly it, then wait for it."""
    app_id = str(desired["id"])
    current = client.get_app(app_id)
    if current is not None and same_definition(desired, current):
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
    if isinstance(body, str) and "<" in body:
        # The leader proxy's HTML page: keep its text, not the markup.
        body = " ".join(re.sub(r"<[^>]*>", " ", body).split())
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

    with open(args.file, encoding="utf-8") as f:
        desired = json.load(f)
    started = time.monotonic()
    try:
        client = MarathonClient(args.url, credentials_file=args.credentials_file,
                                call_timeout_s=min(60.0, args.timeout))
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
