"""HTTP: basic auth on every path, then every path served by the leader and proxied to it by
the others (Marathon 1.10.26's Jetty chain; see Handler)."""

from __future__ import annotations

import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from . import appdef, auth, jetty, proxy
from .service import ApiError

if TYPE_CHECKING:
    from .node import Node

log = logging.getLogger("marathon.http")
# LeaderProxyFilter.scala: ERROR_STATUS_NO_CURRENT_LEADER, after 11 checks 250 ms apart.
NO_LEADER = "Could not determine the current leader"
LEADER_WAIT_ROUNDS = 11
LEADER_WAIT_STEP = 0.25
UI_PAGE = "<html><body><h1>Marathon STAND-IN</h1><p>Not Marathon; no UI.</p></body></html>\n"


class Reply:
    """One answer: JSON `body`, or plain `text`, or a Jetty `html` error page."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                 text: str | None = None, html: str | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.text = text
        self.html = html


class RawReply(Reply):
    """A proxied answer: the leader's status, bytes and headers, unchanged."""

    def __init__(self, status: int, data: bytes, headers: list[tuple[str, str]]):
        super().__init__(status, None)
        self.data = data
        self.raw_headers = headers


def _flag(query: dict[str, list[str]], name: str, default: bool) -> bool:
    values = query.get(name)
    return default if not values else values[-1].lower() in ("true", "1", "")


def _deployment_reply(status: int, deployment: dict[str, Any]) -> Reply:
    return Reply(status, {"deploymentId": deployment["id"], "version": deployment["version"]},
                 {"Marathon-Deployment-Id": deployment["id"]})


def route_v2(node: Node, method: str, path: str, query: dict[str, list[str]],
             body: Any) -> Reply:
    """The leader's /v2 routes (everything except info and leader)."""
    apps = node.apps
    embed = " ".join(query.get("embed", []))
    force = _flag(query, "force", False)
    if path == "/v2/apps":
        if method == "GET":
            return Reply(200, {"apps": apps.list("tasks" in embed, (query.get("id") or [""])[0])})
        if method == "POST":
            app_id = appdef.canonical_id(body["id"]) if isinstance(body, dict) and isinstance(
                body.get("id"), str) else None
            if app_id is None:
                raise appdef.Invalid([{"path": "/id", "errors": ["error.path.missing"]}])
            status, deployment, app = apps.put(app_id, body, partial=False, force=False,
                                               create_only=True)
            rendered = apps.get(app_id, embed_tasks=False)
            return Reply(status, rendered, {"Location": app_id,
                                            "Marathon-Deployment-Id": deployment["id"]})
    elif path.startswith("/v2/apps/"):
        rest = path[len("/v2/apps"):]
        if "/tasks/" in rest and method == "DELETE":
            app_part, _, task_id = rest.rpartition("/tasks/")
            return _kill_task(node, appdef.canonical_id(app_part), task_id, query)
        if rest.endswith("/tasks") and method == "GET":
            return Reply(200, {"tasks": apps.app_tasks(appdef.canonical_id(rest[:-6]))})
        app_id = appdef.canonical_id(rest)
        if method == "GET":
            return Reply(200, {"app": apps.get(app_id, embed_tasks=True)})
        if method == "PUT":
            status, deployment, _ = apps.put(app_id, body, _flag(query, "partialUpdate", True),
                                             force)
            return _deployment_reply(status, deployment)
        if method == "DELETE":
            return _deployment_reply(200, apps.delete(app_id, _flag(query, "force", True)))
    elif path == "/v2/tasks" and method == "GET":
        tasks = [t for a in apps.list(True) for t in a.get("tasks", [])]
        return Reply(200, {"tasks": tasks})
    elif path == "/v2/deployments" and method == "GET":
        return Reply(200, apps.deployments())
    elif path.startswith("/v2/deployments/") and method == "DELETE":
        deployment = apps.cancel_deployment(path.rsplit("/", 1)[1], force)
        return Reply(202, {}) if deployment is None else _deployment_reply(200, deployment)
    return Reply(404, {"message": f"No route for {method} {path}"})


def _kill_task(node: Node, app_id: str, task_id: str, query: dict[str, list[str]]) -> Reply:
    """DELETE /v2/apps/{appId}/tasks/{taskId} (AppTasksResource.deleteOne, marathon v1.10.26):
    with scale=false (the default) the task is killed and its instance launched again; 200
    `{"task": ...}` with its health results, 404 "App '<id>' does not exist" or
    "Task '<id>' does not exist" (RestResource.scala). The stand-in has no scale=true or
    wipe=true (nothing uses them): 400 says so."""
    scale, wipe = _flag(query, "scale", False), _flag(query, "wipe", False)
    if scale and wipe:
        return Reply(400, {"message": "You cannot use scale and wipe at the same time."})
    if scale or wipe:
        return Reply(400, {"message": "STAND-IN: scale=true and wipe=true are not implemented"})
    apps = node.apps
    with apps.store.lock:
        app = apps.store.apps.get(app_id)
        if app is None:
            return Reply(404, {"message": f"App '{app_id}' does not exist"})
        task = apps.store.tasks.get(task_id)
        if task is None or task["appId"] != app_id:
            return Reply(404, {"message": f"Task '{task_id}' does not exist"})
        rendered = apps.render_task(task, app)
    node.scheduler.kill_via_api(task_id)
    log.info("killing task %s of %s through the API (scale=false)", task_id, app_id)
    return Reply(200, {"task": rendered})


class Handler(BaseHTTPRequestHandler):
    """Jetty's chain in Marathon 1.10.26, in order: the basic-auth constraint on `/*`
    (HttpModule.scala), LeaderProxyFilter on `/*` (HttpBindings.scala, LeaderProxyFilter.scala),
    then the resources. Every path goes through both filters, /ping included."""

    node: Node  # set on the subclass made by make_server
    protocol_version = "HTTP/1.1"
    server_version = "marathon-standin/1.10.26"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s %s", self.address_string(), format % args)

    def version_string(self) -> str:
        return ""  # HttpModule.scala: setSendServerVersion(false)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def send_response(self, code: int, message: str | None = None) -> None:
        # Without a Server header (stdlib always adds one otherwise).
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def _send(self, reply: Reply) -> None:
        headers: list[tuple[str, str]]
        if isinstance(reply, RawReply):
            data, headers = reply.data, list(reply.raw_headers)
        else:
            if reply.html is not None:
                data, ctype = reply.html.encode("iso-8859-1", "replace"), jetty.CONTENT_TYPE
            elif reply.text is not None:
                data, ctype = reply.text.encode(), "text/plain; charset=utf-8"
            elif reply.body is None:
                data, ctype = b"", "application/json"
            else:
                data, ctype = json.dumps(reply.body).encode(), "application/json; charset=utf-8"
            headers = [("Content-Type", ctype), *reply.headers.items()]
        self.send_response(reply.status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self, method: str) -> None:
        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(self._dispatch(method, raw))
        except Exception:  # a handler bug must answer 500, not kill the connection silently
            log.exception("request %s %s failed", method, self.path)
            self._send(Reply(500, html=jetty.error_page(500, urlsplit(self.path).path)))

    def _dispatch(self, method: str, raw: bytes) -> Reply:
        node = self.node
        uri = urlsplit(self.path).path
        if not auth.authorised(self.headers.get("Authorization"), node.flags.http_credentials):
            realm = node.flags.text("http_realm") or "Mesosphere"
            return Reply(401, html=jetty.error_page(401, uri), headers=auth.challenge(realm))
        if not node.leading:
            leader = self._consistent_leader()
            if leader is None:
                return Reply(502, html=jetty.error_page(502, uri, NO_LEADER))
            if not node.leading:
                return self._proxy(method, raw, leader)
        reply = self._serve(method, raw)
        # LeaderProxyFilter adds these on the leader only; a proxied answer carries the leader's.
        reply.headers.setdefault("X-Marathon-Leader", f"http://{node.address}")
        reply.headers.setdefault("X-Frame-Options", "DENY")
        reply.headers.setdefault("X-XSS-Protection", "1; mode=block")
        return reply

    def _consistent_leader(self) -> str | None:
        """LeaderProxyFilter.waitForConsistentLeadership: while no other leader is known (or
        ZooKeeper names us but we are not serving yet), re-check 11 times 250 ms apart.
        Returns the leader to proxy to, our own address once we lead, or None (-> 502)."""
        node = self.node
        for attempt in range(LEADER_WAIT_ROUNDS + 1):
            leader = node.election.leader
            if node.leading:
                return node.address
            if leader is not None and leader != node.address:
                return leader
            if attempt < LEADER_WAIT_ROUNDS:
                time.sleep(LEADER_WAIT_STEP)
        log.error("inconsistent leadership state, refusing request for ourselves at %s",
                  node.address)
        return None

    def _serve(self, method: str, raw: bytes) -> Reply:
        """The leader's resources."""
        node = self.node
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        if path == "/ping" and method in ("GET", "HEAD"):
            return Reply(200, text="pong")
        if path in ("/", "/ui"):
            return Reply(200, html=UI_PAGE)
        if path == "/v2/info" and method == "GET":
            return Reply(200, node.info())
        if path == "/v2/leader":
            if method == "DELETE":
                node.election.abdicate()
                return Reply(200, {"message": "Leadership abdicated"})
            if method == "GET":
                leader = node.election.leader
                if leader is None:
                    return Reply(404, {"message": "There is no leader"})
                return Reply(200, {"leader": leader})
        if not path.startswith("/v2/"):
            return Reply(404, html=jetty.error_page(404, url.path))
        body: Any = None
        if method in ("POST", "PUT", "PATCH"):
            try:
                body = json.loads(raw.decode() or "null")
            except ValueError as exc:
                # MarathonExceptionMapper.scala: details is the parser's message, a string.
                return Reply(400, {"message": "Invalid JSON", "details": str(exc)})
        try:
            return route_v2(node, method, path, parse_qs(url.query, keep_blank_values=True),
                            body)
        except appdef.Invalid as exc:
            return Reply(422, {"message": exc.message, "details": exc.details})
        except ApiError as exc:
            return Reply(exc.status, exc.body)

    def _proxy(self, method: str, raw: bytes, leader: str) -> Reply:
        node = self.node
        timeout = node.flags.number("leader_proxy_read_timeout", 10000) / 1000
        result = proxy.forward(leader, node.address, method, self.path,
                               list(self.headers.items()), raw, self.client_address[0], timeout)
        if result.error is not None:
            page = jetty.error_page(result.status, urlsplit(self.path).path, result.error or None)
            return Reply(result.status, html=page)
        return RawReply(result.status, result.data, result.headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(node: Node, address: str, port: int) -> Server:
    handler = type("BoundHandler", (Handler,), {"node": node})
    return Server((address, port), handler)
