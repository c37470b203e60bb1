"""Does this host lead? pyinfra facts for ZooKeeper, the Mesos masters and Marathon.

Each fact asks the host's own service, on the host, and answers a Leadership: `leads` True (it
is the leader), False (it serves, and another member leads, or it names another leader), None
(unknown: no answer, no quorum, no leader elected, refused). The rolling restarts
(pyinfra_mesos/deploy/rolling.py) restart a leader last; unknown falls back to inventory order.

What each answer means, by its upstream source (the same reading as `status`,
pyinfra_mesos/status_model.py):
- ZooKeeper `srvr` on the client port: `Mode: leader|follower|standalone`; "This ZooKeeper
  instance is not currently serving requests" without a quorum (apache/zookeeper 3.8,
  zookeeper-docs/.../zookeeperAdmin.md, "The Four Letter Words"; `srvr` is always in the
  deploy's 4lw.commands.whitelist, schema._PROBE_WORDS).
- Mesos `GET /redirect` (never authenticated): 307 to `//<leader hostname>:<port>`, on the
  leader too; 503 with no leader elected (apache/mesos 1.11.0 src/master/http.cpp `redirect`).
  The deploy sets each master's --hostname to its address (flags.master_flags).
- Marathon `GET /v2/leader` with the deploy's 0600 curl config (basic auth covers every path):
  `{"leader": "<hostname>:<http_port>"}`, proxied to the leader by a non-leader; 404 on a
  leader-less leader, 502 from a non-leader that knows no leader (d2iq-archive/marathon v1.10.26
  HttpBindings.scala LeaderProxyFilter, docs/.../v2/leader.raml). --hostname is the address.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyinfra.api import FactBase

from pyinfra_mesos.status_collect import curl_command, srvr_command
from pyinfra_mesos.status_model import Failed, address_of, parse_http, parse_srvr


@dataclass(frozen=True)
class Leadership:
    """`leads`: True, False or None (unknown); `detail`: what the host answered, one line."""

    leads: bool | None
    detail: str


UNKNOWN = Leadership(None, "no answer")


def zookeeper_leadership(lines: list[str]) -> Leadership:
    """From `srvr` output lines: leads when `Mode: leader`; a follower (or an observer) does
    not; `standalone` leads nothing to hand over (a one-member ensemble): not the leader."""
    mode, _, detail = parse_srvr("\n".join(lines))
    if mode == "leader":
        return Leadership(True, "Mode: leader")
    if mode in ("follower", "observer", "standalone"):
        return Leadership(False, f"Mode: {mode}")
    return Leadership(None, f"{mode}: {detail}" if detail else mode)


def mesos_leadership(lines: list[str], address: str) -> Leadership:
    """From status_collect.curl_command output for `http://<address>/redirect`: leads when the
    redirect names `address` (`ip:port`) itself."""
    answer = parse_http("\n".join(lines))
    if isinstance(answer, Failed):
        return Leadership(None, answer.reason)
    if answer.status in (301, 302, 303, 307, 308) and answer.location:
        leader = address_of(answer.location)
        return Leadership(leader == address, f"leading master {leader}")
    if answer.status == 503:
        return Leadership(None, "HTTP 503: no leader elected")
    return Leadership(None, answer.describe())


def marathon_leadership(lines: list[str], address: str) -> Leadership:
    """From status_collect.curl_command output for `http://<address>/v2/leader`: leads when
    the leader it names is `address` (`ip:port`)."""
    answer = parse_http("\n".join(lines))
    if isinstance(answer, Failed):
        return Leadership(None, answer.reason)
    if answer.status == 200:
        try:
            leader = answer.json().get("leader")
        except (ValueError, AttributeError):
            return Leadership(None, "HTTP 200 but not a JSON object")
        if leader:
            return Leadership(str(leader) == address, f"leader {leader}")
        return Leadership(None, "HTTP 200 without a leader")
    if answer.status == 404:
        return Leadership(None, "HTTP 404: no leader")
    if answer.status == 401:
        return Leadership(None, "HTTP 401: the credentials on the host are not Marathon's")
    return Leadership(None, answer.describe())


class ZookeeperLeadership(FactBase[Leadership]):
    """`srvr` on 127.0.0.1:`port` (bash's /dev/tcp, bounded by status_collect's timeout)."""

    def command(self, port: int) -> str:
        return srvr_command("127.0.0.1", port)

    def process(self, output: list[str]) -> Leadership:
        return zookeeper_leadership(output)

    @staticmethod
    def default() -> Leadership:
        # No output at all: nothing listens on the client port (or bash could not connect).
        return Leadership(None, "unreachable: no answer on the client port")


class MesosMasterLeadership(FactBase[Leadership]):
    """`GET http://<address>/redirect` on the master, `address` its `ip:port`."""

    address = ""

    def command(self, address: str) -> str:
        # Kept for process(), as pyinfra's own facts keep their arguments (facts/files.py).
        self.address = address
        return curl_command(f"http://{address}/redirect")

    def process(self, output: list[str]) -> Leadership:
        return mesos_leadership(output, self.address)

    @staticmethod
    def default() -> Leadership:
        return UNKNOWN


class MarathonLeadership(FactBase[Leadership]):
    """`GET http://<address>/v2/leader` on the instance, credentials from `curl_config` (a
    0600 `curl -K` file, never the command line; "" when Marathon has no credentials)."""

    address = ""

    def command(self, address: str, curl_config: str = "") -> str:
        self.address = address
        return curl_command(f"http://{address}/v2/leader", curl_config or None)

    def process(self, output: list[str]) -> Leadership:
        return marathon_leadership(output, self.address)

    @staticmethod
    def default() -> Leadership:
        return UNKNOWN
