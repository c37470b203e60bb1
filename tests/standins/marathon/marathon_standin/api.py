"""HTTP: /ping, /v2/info, /v2/leader served by every instance; the rest of /v2 by the leader,
and proxied to it by the others (as Marathon's LeaderProxyFilter does)."""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from . import appdef
from .service import ApiError

if TYPE_CHECKING:
    from .node import Node

log = logging.getLogger("marathon.http")
PROXY_HEADERS = ("Content-Type", "Authorization", "Accept")
REPLY_HEADERS = ("Content-Type", "Location", "Marathon-Deployment-Id")


class Reply:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                 text: str | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.text = text


class RawReply(Reply):
    """A proxied answer: the leader's bytes and headers, unchanged."""

    def __init__(self, status: int, data: bytes, headers: dict[str, str]):
        super().__init__(status, None, headers)
        self.data = data


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


class Handler(BaseHTTPRequestHandler):
    node: Node  # set on the subclass made by make_server
    protocol_version = "HTTP/1.1"
    server_version = "marathon-standin/1.10.26"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _send(self, reply: Reply) -> None:
        if isinstance(reply, RawReply):
            data = reply.data
            ctype = reply.headers.pop("Content-Type", "application/json")
        elif reply.text is not None:
            data, ctype = reply.text.encode(), "text/plain; charset=utf-8"
        elif reply.body is None:
            data, ctype = b"", "application/json"
        else:
            data, ctype = json.dumps(reply.body).encode(), "application/json; charset=utf-8"
        self.send_response(reply.status)
        headers = {"Content-Type": ctype, **reply.headers}
        leader = self.node.election.leader
        if leader:
            headers.setdefault("X-Marathon-Leader", f"http://{leader}")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        credentials = self.node.flags.http_credentials
        if not credentials:
            return True
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            return base64.b64decode(header[6:]).decode() == credentials
        except ValueError:
            return False

    def _handle(self, method: str) -> None:
        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(self._dispatch(method, raw))
        except Exception:  # a handler bug must answer 500, not kill the connection silently
            log.exception("request %s %s failed", method, self.path)
            self._send(Reply(500, {"message": "internal error in the Marathon stand-in"}))

    def _dispatch(self, method: str, raw: bytes) -> Reply:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        if path == "/ping":
            return Reply(200, text="pong")
        if not self._authorised():
            return Reply(401, {"message": "Invalid username or password."},
                         {"WWW-Authenticate": 'Basic realm="Mesosphere"'})
        node = self.node
        if path == "/v2/info" and method == "GET":
            return Reply(200, node.info())
        if path == "/v2/leader":
            if method == "DELETE" and node.leading:
                node.election.abdicate()
                return Reply(200, {"message": "Leadership abdicated"})
            if method == "GET":
                leader = node.election.leader
                if leader is None:
                    return Reply(404, {"message": "There is no leader"})
                return Reply(200, {"leader": leader})
        if not path.startswith("/v2/"):
            return Reply(404, {"message": f"No route for {method} {path}"})
        if not node.leading:
            return self._proxy(method, raw)
        body: Any = None
        if method in ("POST", "PUT"):
            try:
                body = json.loads(raw.decode() or "null")
            except ValueError as exc:
                return Reply(400, {"message": "Invalid JSON",
                                   "details": [{"path": "/", "errors": [str(exc)]}]})
        try:
            return route_v2(node, method, path, parse_qs(url.query, keep_blank_values=True),
                            body)
        except appdef.Invalid as exc:
            return Reply(422, {"message": "Object is not valid", "details": exc.details})
        except ApiError as exc:
            return Reply(exc.status, exc.body)

    def _proxy(self, method: str, raw: bytes) -> Reply:
        leader = self.node.election.leader
        me = self.node.address
        if leader is None or leader == me or me in self.headers.get("X-Marathon-Via", ""):
            return Reply(503, {"message": "Could not determine the current leader"})
        headers = {k: self.headers[k] for k in PROXY_HEADERS if self.headers.get(k)}
        headers["X-Marathon-Via"] = f"1.1 {me}"
        request = urllib.request.Request(f"http://{leader}{self.path}", data=raw or None,
                                         method=method, headers=headers)
        timeout = self.node.flags.number("leader_proxy_read_timeout", 10000) / 1000
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, data, reply_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, data, reply_headers = exc.code, exc.read(), exc.headers
        except OSError as exc:
            return Reply(502, {"message": f"leader {leader} did not answer: {exc}"})
        kept = {k: reply_headers[k] for k in REPLY_HEADERS if reply_headers.get(k)}
        return RawReply(status, data, kept)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(node: Node, address: str, port: int) -> Server:
    handler = type("BoundHandler", (Handler,), {"node": node})
    return Server((address, port), handler)
