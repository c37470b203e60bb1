"""Can this machine reach the upstream sources? Checked by ``up`` before anything is made.

With ``PYINFRA_MESOS_SOURCES=upstream`` the hosts fetch aventer-mesos, its key and the Marathon
image through the proxy on this machine, so the machine itself must reach them. Without this
check an offline machine would boot the hosts and fail halfway through the deploy (apt update);
with it, ``up`` stops first with one line.

Host names come only from the configured URLs (group_data/all.py, parsed with urllib.parse) and
from an image reference that names its registry; none is written here.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sandbox.sources import ENV_VAR

BUDGET_S = 5.0
DEFAULT_PORTS = {"http": 80, "https": 443}


def url_endpoint(url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s) URL, None for anything else; port from the scheme if absent.

    ``{codename}`` placeholders live in paths (group_data/all.py) and do not disturb the host.
    """
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def image_endpoint(image: str) -> tuple[str, int] | None:
    """(registry host, port) when an image reference names its registry, else None.

    The first path component is a registry when it contains "." or ":" or is "localhost"
    (distribution/reference, normalize.go: splitDockerDomain); otherwise the reference is a
    Docker Hub name, whose host is not spelled out anywhere in this project, so it is not probed
    (the deploy's own pull then fails with its one-line error).
    """
    first, sep, _rest = image.partition("/")
    if not sep or not ("." in first or ":" in first or first == "localhost"):
        return None
    host, _, port = first.rpartition(":") if ":" in first else (first, "", "")
    return (host, int(port)) if port.isdigit() else (first, 443)


def upstream_endpoints(data: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Every distinct (host, port) the upstream sources in ``data`` need, in a stable order."""
    urls: list[str] = []
    repos = data.get("mesos_apt_repo_urls") or {}
    if isinstance(repos, Mapping):
        urls += [str(u) for u in repos.values()]
    if data.get("mesos_apt_key_url"):
        urls.append(str(data["mesos_apt_key_url"]))
    found = [url_endpoint(u) for u in urls]
    found.append(image_endpoint(str(data.get("marathon_image") or "")))
    return list(dict.fromkeys(e for e in found if e is not None))


def unreachable(endpoints: Iterable[tuple[str, int]], budget_s: float = BUDGET_S) -> list[str]:
    """``host:port (reason)`` for each endpoint a TCP connection did not reach within the budget.

    All endpoints are tried at once in daemon threads (a name lookup cannot be given a timeout,
    so a hanging one is abandoned, not waited for); the whole check returns within ``budget_s``
    seconds plus scheduling slack.
    """
    todo = list(endpoints)
    results: dict[tuple[str, int], str] = {}
    lock = threading.Lock()

    def probe(endpoint: tuple[str, int]) -> None:
        try:
            with socket.create_connection(endpoint, timeout=budget_s):
                outcome = ""
        except OSError as e:
            outcome = e.strerror or type(e).__name__
        with lock:
            results[endpoint] = outcome

    threads = [threading.Thread(target=probe, args=(e,), daemon=True) for e in todo]
    for t in threads:
        t.start()
    deadline = time.monotonic() + budget_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    with lock:
        done = dict(results)
    late = f"no answer within {budget_s:g} s"
    return [f"{host}:{port} ({done.get((host, port), late)})"
            for host, port in todo if done.get((host, port), late) != ""]


def reachability_problem(data: Mapping[str, Any], budget_s: float = BUDGET_S) -> str | None:
    """One ``error: ...`` line when an upstream source is out of reach from this machine."""
    failed = unreachable(upstream_endpoints(data), budget_s)
    if not failed:
        return None
    return (
        f"error: environment: {ENV_VAR}: the upstream sources are not reachable from this "
        f"machine: {', '.join(failed)}; unset {ENV_VAR} to use the stand-ins"
    )
