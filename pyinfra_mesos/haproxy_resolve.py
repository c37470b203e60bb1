"""Task host names -> IP literals, resolved by the bridge itself within a time bound. Stdlib only.

Why: a server written as a name makes HAProxy resolve it while parsing, and ONE name it cannot
resolve makes `haproxy -c` (and a reload) refuse the whole file, so no app gets updates
(case unresolvable-task-host). marathon-lb resolves task hosts itself for the same reason
(mesosphere/marathon-lb, utils.py, `resolve_ip`) and skips a host it cannot resolve.

`socket.getaddrinfo` has no timeout, so each look-up runs in a daemon thread and the caller
waits for all of them until one shared deadline; a look-up still running then counts as
unresolved (the thread is abandoned; the bridge is a short-lived oneshot process).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from pyinfra_mesos.haproxy_model import Listener, ip_literal, valid_host

LOG = logging.getLogger("haproxy-bridge")

Lookup = Callable[[str], list[str]]


def system_lookup(name: str) -> list[str]:
    """Every address getaddrinfo gives for `name` (TCP), as text; raises OSError on failure."""
    infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def pick(addresses: Iterable[str]) -> str | None:
    """One stable address: the lowest IPv4, else the lowest IPv6 (round-robin DNS answers in
    any order; a stable pick keeps the config unchanged, so nothing reloads for nothing)."""
    valid = {ipaddress.ip_address(ip) for ip in (ip_literal(a) for a in addresses)
             if ip is not None}
    v4 = sorted(ip for ip in valid if ip.version == 4)
    v6 = sorted(ip for ip in valid if ip.version == 6)
    chosen = (v4 or v6 or [None])[0]
    return None if chosen is None else str(chosen)


def resolve_all(names: Iterable[str], timeout_s: float = 5.0,
                lookup: Lookup = system_lookup) -> dict[str, str | None]:
    """{name: IP literal or None}. IP literals map to themselves without a look-up; every name
    is looked up in parallel, and all of them together take at most `timeout_s` seconds."""
    out: dict[str, str | None] = {}
    threads: dict[str, threading.Thread] = {}
    answers: dict[str, str | None] = {}

    def run(name: str) -> None:
        try:
            answers[name] = pick(lookup(name))
        except (OSError, UnicodeError) as e:
            LOG.debug("%s: %s", name, e)
            answers[name] = None

    for name in sorted(set(names)):
        literal = ip_literal(name)
        if literal is not None:
            out[name] = literal
        elif not valid_host(name):
            out[name] = None
        else:
            threads[name] = threading.Thread(target=run, args=(name,), daemon=True,
                                             name=f"resolve {name}")
            threads[name].start()
    deadline = time.monotonic() + timeout_s
    for name, thread in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        out[name] = answers.get(name) if not thread.is_alive() else None
        if thread.is_alive():
            LOG.warning("%s: no address within %.1f s", name, timeout_s)
    return out


def resolve_listeners(listeners: Iterable[Listener], timeout_s: float = 5.0,
                      lookup: Lookup = system_lookup) -> list[Listener]:
    """The listeners with every server address an IP literal; a server whose host does not
    resolve is left out with one log line per host (the rest of the config still applies)."""
    listeners = list(listeners)
    names = {s.address for listener in listeners for s in listener.servers}
    resolved = resolve_all(names, timeout_s, lookup)
    for name in sorted(n for n, ip in resolved.items() if ip is None):
        users = sorted({lst.app_id for lst in listeners
                        if any(s.address == name for s in lst.servers)})
        LOG.warning("task host %r does not resolve; its servers are left out (%s)",
                    name, ", ".join(users))
    out = []
    for listener in listeners:
        servers = {replace(s, address=resolved[s.address]) for s in listener.servers
                   if resolved.get(s.address) is not None}
        out.append(replace(listener, servers=tuple(sorted(servers))))
    return out
