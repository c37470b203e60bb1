"""Gather the raw answers for `status`: every request runs ON a cluster host, against that
host's own address, through a Transport `(host name, command) -> stdout` (pyinfra_mesos/remote.py
over SSH; a fake in the unit tests).

Three rounds, each one host per thread: (1) `srvr` on each ZooKeeper member, `/redirect` on each
Mesos master, `/v2/leader` on each Marathon instance; (2) `/master/state` on the leader's host,
`/v2/apps` on the Marathon leader's host (else any Marathon host); (3) a TCP connect from each
load balancer to its own address on each servicePort it must serve.

Commands always exit 0 and print what they saw (curl's status line, `<port> open|closed`), so
a refused connection is an answer to report, not a failed command. Marathon's credentials are
read by curl from the deploy's 0600 file on the Marathon host (`curl -K`), never passed on a
command line (any local user can read those in `ps`).
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Iterable, Mapping
from typing import Any

from pyinfra_mesos.marathon import MARATHON_CURL_CONFIG
from pyinfra_mesos.remote import RemoteError, Transport, parallel
from pyinfra_mesos.status_model import (
    HTTP_MARK,
    Failed,
    Raw,
    RawAnswers,
    exposed_ports,
    marathon_view,
    master_view,
    member_for_address,
    mesos_leader,
    parse_http,
)
from pyinfra_mesos.topology import (
    Member,
    Topology,
    marathon_url,
    member_port,
    mesos_master_url,
)

REQUEST_TIMEOUT_S = 5  # each HTTP request / four-letter word, on the host
PORT_PROBE_TIMEOUT_S = 3  # each TCP connect to a servicePort, all ports probed at once


def curl_command(url: str, credentials_file: str | None = None,
                 timeout_s: int = REQUEST_TIMEOUT_S) -> str:
    """GET `url` without following redirects; prints the body, then
    `@@pyinfra-mesos-http <code> [<redirect url>] <curl exit status>` (status_model.parse_http)."""
    auth = f"-K {shlex.quote(credentials_file)} " if credentials_file else ""
    write_out = shlex.quote(f"\n{HTTP_MARK} %{{http_code}} %{{redirect_url}}")
    return (f"curl -sS --max-time {timeout_s} {auth}-w {write_out} {shlex.quote(url)} "
            f"2>/dev/null; echo \" $?\"")


def srvr_command(address: str, port: int, timeout_s: int = REQUEST_TIMEOUT_S) -> str:
    """ZooKeeper's `srvr` through bash's /dev/tcp (no nc on the hosts); empty output when
    nothing answers."""
    script = f"exec 3<>/dev/tcp/{address}/{port} && echo srvr >&3 && cat <&3"
    return f"timeout {timeout_s} bash -c {shlex.quote(script)} 2>/dev/null; true"


def port_probe_command(address: str, ports: Iterable[int],
                       timeout_s: int = PORT_PROBE_TIMEOUT_S) -> str:
    """`<port> open|closed` per port: a TCP connect to `address:port`, all ports at once (so a
    firewall that drops costs `timeout_s`, not `timeout_s` per port)."""
    probes = []
    for port in sorted(set(ports)):
        script = f"exec 3<>/dev/tcp/{address}/{port}"
        probes.append(f"(if timeout {timeout_s} bash -c {shlex.quote(script)} 2>/dev/null; "
                      f"then echo '{port} open'; else echo '{port} closed'; fi) &")
    return " ".join(probes) + " wait"


def _run(transport: Transport, host: str, command: str) -> Raw:
    try:
        return transport(host, command)
    except Exception as exc:  # RemoteError, or anything a transport raises: an answer to report
        return Failed(str(exc))


def _round(transport: Transport, jobs: Mapping[str, tuple[str, str]],
           deadline: float) -> dict[str, Raw]:
    """Run `{key: (host, command)}` in parallel; `{key: stdout or Failed}`."""
    results = parallel(jobs.items(), lambda job: _run(transport, *job[1]), deadline,
                       key=lambda job: job[0])
    return {key: value if isinstance(value, str | Failed) else Failed(str(value))
            for key, value in results.items()}


def collect(topo: Topology, transport: Transport, marathon_auth: bool,
            deadline: float | None = None,
            unreachable: Mapping[str, str] | None = None) -> RawAnswers:
    """Every raw answer `status_model.build_status` needs. `marathon_auth`: Marathon wants
    credentials (curl then reads the host's 0600 config). `deadline`: time.monotonic() value
    after which no more answers are awaited (default: 60 s from now)."""
    deadline = time.monotonic() + 60.0 if deadline is None else deadline
    auth_file = MARATHON_CURL_CONFIG if marathon_auth else None
    down = dict(unreachable or {})
    reach = transport

    def transport(host: str, command: str) -> str:
        # The reason is listed once under unreachable; each answer just says so.
        if host in down:
            raise RemoteError(f"{host}: unreachable over SSH")
        return reach(host, command)

    jobs: dict[str, tuple[str, str]] = {}
    for m in topo.zookeepers:
        jobs[f"srvr/{m.name}"] = (m.name, srvr_command(
            m.ip, member_port(m, "zookeeper_client_port")))
    for m in topo.masters:
        jobs[f"redirect/{m.name}"] = (m.name, curl_command(
            f"{mesos_master_url(m)}/redirect"))
    for m in topo.marathons:
        jobs[f"leader/{m.name}"] = (m.name, curl_command(
            f"{marathon_url(m)}/v2/leader", auth_file))
    first = _round(transport, jobs, deadline)

    def pick(prefix: str) -> dict[str, Raw]:
        return {key.partition("/")[2]: value for key, value in first.items()
                if key.startswith(prefix + "/")}

    redirect, marathon_leaders = pick("redirect"), pick("leader")

    second: dict[str, tuple[str, str]] = {}
    leader, _ = mesos_leader([master_view(m, member_port(m, "mesos_master_port"),
                                          redirect.get(m.name, Failed("not asked")))
                              for m in topo.masters])
    leader_member = member_for_address(topo.masters, leader) if leader else None
    if leader and leader_member is not None:
        second["state"] = (leader_member.name, curl_command(f"http://{leader}/master/state"))
    apps_host = _marathon_host(topo, marathon_leaders)
    if apps_host is not None:
        second["apps"] = (apps_host.name, curl_command(
            f"{marathon_url(apps_host)}/v2/apps", auth_file))
    answers = _round(transport, second, deadline)

    apps_json = _apps_json(answers.get("apps"))
    third: dict[str, tuple[str, str]] = {}
    if apps_json is not None:
        for m in topo.load_balancers:
            wanted = exposed_ports(apps_json, str(m.data.get("haproxy_group") or "*"))
            if wanted:
                third[m.name] = (m.name, port_probe_command(m.ip, [p for p, _ in wanted]))
    lb_ports = _round(transport, third, deadline)

    return RawAnswers(srvr=pick("srvr"), redirect=redirect, master_state=answers.get("state"),
                      marathon_leader=marathon_leaders, apps=answers.get("apps"),
                      lb_ports=lb_ports, unreachable=down)


def _marathon_host(topo: Topology, leaders: Mapping[str, Raw]) -> Member | None:
    """The Marathon leader's inventory host, else the first instance that named a leader, else
    the first instance (it proxies to the leader when it knows one)."""
    views = [marathon_view(m, member_port(m, "marathon_http_port"),
                           leaders.get(m.name, Failed("not asked"))) for m in topo.marathons]
    for view in views:
        if view.leader:
            found = member_for_address(topo.marathons, view.leader)
            if found is not None:
                return found
    named = [m for m, v in zip(topo.marathons, views, strict=True) if v.leader]
    return (named or list(topo.marathons) or [None])[0]


def _apps_json(raw: Raw | None) -> Mapping[str, Any] | None:
    answer = parse_http(raw) if raw is not None else None
    if answer is None or isinstance(answer, Failed) or answer.status != 200:
        return None
    try:
        value = json.loads(answer.body)
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None

