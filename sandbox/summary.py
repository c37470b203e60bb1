"""``summary``: what a deployed sandbox cluster looks like, read from its own HTTP APIs.

The machine is on the sandbox bridge, so it asks the masters and Marathon directly. The
formatting is pure (``format_summary``) and unit-tested; ``summary`` only fetches.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyinfra_mesos.inventory_loader import load_inventory
from pyinfra_mesos.problems import Problem
from pyinfra_mesos.topology import Topology, topology_from_inventory

HTTP_TIMEOUT_S = 3


@dataclass(frozen=True)
class Endpoints:
    master_port: int
    marathon_port: int


def fetch_json(url: str) -> Any:
    """GET url and parse JSON; None when unreachable or not JSON (a summary never raises)."""
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            return json.loads(response.read().decode())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _first(values: Sequence[Any]) -> Any:
    return next((v for v in values if v is not None), None)


def format_summary(topo: Topology, ports: Endpoints, states: Sequence[Any], leader: Any,
                   apps: Any) -> list[str]:
    """Lines for the operator: Mesos leader and agents, Marathon leader, each app and its URLs.

    `states` are the masters' /master/state bodies (None where unreachable), `leader` the body of
    Marathon's /v2/leader and `apps` the body of /v2/apps?embed=apps.tasks.
    """
    lines = ["cluster"]
    state = _first(states)
    if state is None:
        lines.append("  mesos: no master answers (not deployed yet?)")
    else:
        mesos_leader = str(state.get("leader", "")) or "none elected"
        lines.append(f"  mesos leader    {mesos_leader}")
        leading = next((s for s in states if s and s.get("pid") == state.get("leader")), None)
        if leading is not None:
            active = [s.get("hostname", "?") for s in leading.get("slaves", []) if s.get("active")]
            lines.append(f"  agents active   {len(active)} of {len(topo.agents)} in the "
                         f"inventory: {', '.join(sorted(active)) or '-'}")
    if topo.marathons:
        first = topo.marathons[0]
        lines.append(f"  marathon        http://{first.ip}:{ports.marathon_port}/  (leader: "
                     f"{(leader or {}).get('leader', 'none')})")
    for app in (apps or {}).get("apps", []):
        running = app.get("tasksRunning", 0)
        healthy = app.get("tasksHealthy", 0)
        lines.append(f"  app {app.get('id')}: {running}/{app.get('instances')} running, "
                     f"{healthy} healthy")
        for mapping in (app.get("container") or {}).get("portMappings") or []:
            port = mapping.get("servicePort")
            if port:
                for lb in topo.load_balancers:
                    lines.append(f"      http://{lb.ip}:{port}/")
    return lines


def summary(inventory_path: str, fetch: Callable[[str], Any] = fetch_json) -> int:
    loaded = load_inventory(inventory_path)
    if isinstance(loaded, Problem):
        print(loaded.format())
        return 1
    topo = topology_from_inventory(loaded)
    data: Mapping[str, Any] = topo.masters[0].data if topo.masters else {}
    ports = Endpoints(int(data.get("mesos_master_port", 5050)),
                      int(data.get("marathon_http_port", 8080)))
    states = [fetch(f"http://{m.ip}:{ports.master_port}/master/state") for m in topo.masters]
    marathon = [f"http://{m.ip}:{ports.marathon_port}" for m in topo.marathons]
    leader = _first([fetch(f"{url}/v2/leader") for url in marathon[:1]])
    apps = _first([fetch(f"{url}/v2/apps?embed=apps.tasks") for url in marathon[:1]])
    for line in format_summary(topo, ports, states, leader, apps):
        print(line)
    return 0
