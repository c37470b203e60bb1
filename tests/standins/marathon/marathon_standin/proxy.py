"""Forwarding a request from a non-leader to the leader, as Marathon 1.10.26's
AsyncUrlConnectionRequestForwarder does (d2iq-archive/marathon,
src/main/scala/mesosphere/marathon/api/forwarder/AsyncUrlConnectionRequestForwarder.scala and
RequestForwarder.scala):

- request headers are copied except Connection, Host, Content-Length; `X-Marathon-Via: 1.1
  <me>` and `X-Forwarded-For` are added; a request that already carries our own Via value is a
  loop: 502 "Detected proxying loop.";
- a connection failure (refused, reset, timed out) is 502 "Connection to leader refused.";
  any other failure is a bare 500; both are Jetty HTML pages;
- the leader's status, headers and body come back unchanged, plus our `X-Marathon-Via`.
"""

from __future__ import annotations

import http.client
import logging
from dataclasses import dataclass, field

log = logging.getLogger("marathon.proxy")

VIA = "X-Marathon-Via"
LOOP = "Detected proxying loop."
REFUSED = "Connection to leader refused."
SKIP_REQUEST = {"connection", "host", "content-length"}
# Hop-by-hop or recomputed when we write the answer ourselves.
SKIP_REPLY = {"connection", "content-length", "transfer-encoding", "keep-alive", "server", "date"}


@dataclass
class Forwarded:
    """What to send back: an answer from the leader, or an error to render as Jetty does."""

    status: int
    data: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None  # set: answer with Jetty's error page and this reason


def forward(leader: str, me: str, method: str, target: str, headers: list[tuple[str, str]],
            body: bytes, client: str, timeout: float) -> Forwarded:
    """Send `method target` to `leader` ("host:port"); `target` keeps the query string."""
    via = f"1.1 {me}"
    if any(k.lower() == VIA.lower() and via in v for k, v in headers):
        log.error("Prevent proxy cycle, rejecting request")
        return Forwarded(502, error=LOOP)
    out = [(k, v) for k, v in headers if k.lower() not in SKIP_REQUEST]
    forwarded_for = [v for k, v in headers if k.lower() == "x-forwarded-for"] + [client]
    out = [(k, v) for k, v in out if k.lower() != "x-forwarded-for"]
    out += [(VIA, via), ("X-Forwarded-For", ",".join(forwarded_for))]
    host, _, port = leader.rpartition(":")
    log.info("Proxying request to %s http://%s%s from %s", method, leader, target, me)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
        for key, value in out:
            conn.putheader(key, value)
        if body or method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        data = response.read()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in SKIP_REPLY]
        return Forwarded(response.status, data, kept + [(VIA, via)])
    except OSError as exc:  # refused, reset, timed out: akka's StreamTcpException
        log.error("%s (%s: %s)", REFUSED, leader, exc)
        return Forwarded(502, error=REFUSED)
    except http.client.HTTPException as exc:
        log.error("Failed to successfully establish a connection to the leader: %s", exc)
        return Forwarded(500, error="")
    finally:
        conn.close()
