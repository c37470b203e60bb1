"""Render a ClusterStatus: a table for people, JSON for scripts.

JSON shape (`status --json`; version 1, keys only ever added):

    {"version": 1, "healthy": bool, "problems": [str, ...],
     "unreachable": {host: reason},
     "zookeeper": {"members": [{"name", "address", "mode", "zxid": str|null}]},
     "mesos": {"leader": "host:port"|null,
               "masters": [{"name", "address", "leader": "host:port"|null, "answer"}],
               "agents": [{"name", "address", "state": "active"|"inactive"|"not registered"
                                                        |"unknown"}],
               "frameworks": [{"name", "id", "active": bool, "connected": bool}]},
     "marathon": {"leader": "host:port"|null,
                  "instances": [{"name", "address", "leader", "answer"}],
                  "apps": [{"id", "instances", "tasksRunning", "tasksHealthy",
                            "healthChecks": int, "servicePorts": [int]}]},
     "load_balancers": [{"name", "address", "error": str,
                         "ports": [{"port", "app", "serving": bool|null}]}]}

`serving` null: the port was not probed (the host or Marathon could not be asked).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pyinfra_mesos.status_model import ClusterStatus

JSON_VERSION = 1


def to_json(status: ClusterStatus) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "healthy": status.healthy,
        "problems": list(status.problems),
        "unreachable": dict(status.unreachable),
        "zookeeper": {"members": [{"name": m.name, "address": m.address, "mode": m.mode,
                                   "zxid": m.zxid} for m in status.zookeeper]},
        "mesos": {
            "leader": status.mesos_leader,
            "masters": [{"name": v.name, "address": v.address, "leader": v.leader,
                         "answer": v.answer} for v in status.masters],
            "agents": [{"name": a.name, "address": a.address, "state": a.state}
                       for a in status.agents],
            "frameworks": [{"name": f.name, "id": f.id, "active": f.active,
                            "connected": f.connected} for f in status.frameworks],
        },
        "marathon": {
            "leader": status.marathon_leader,
            "instances": [{"name": v.name, "address": v.address, "leader": v.leader,
                           "answer": v.answer} for v in status.marathons],
            "apps": [{"id": a.id, "instances": a.instances, "tasksRunning": a.running,
                      "tasksHealthy": a.healthy, "healthChecks": a.health_checks,
                      "servicePorts": list(a.service_ports)} for a in status.apps],
        },
        "load_balancers": [{"name": lb.name, "address": lb.address, "error": lb.error,
                            "ports": [{"port": p.port, "app": p.app_id, "serving": p.serving}
                                      for p in lb.ports]} for lb in status.load_balancers],
    }


def render_json(status: ClusterStatus) -> str:
    return json.dumps(to_json(status), indent=2, sort_keys=False)


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """`== title ==` then aligned columns; `(none)` for an empty section."""
    lines = [f"== {title} =="]
    if not rows:
        return [*lines, "  (none)"]
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                     .rstrip())
    return lines


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def render_table(status: ClusterStatus) -> str:
    out: list[str] = []
    out += _table("ZooKeeper", ["member", "address", "mode", "zxid"],
                  [(m.name, m.address, m.mode, m.zxid or "-") for m in status.zookeeper])
    out += _table(f"Mesos masters (leader: {status.mesos_leader or 'none agreed'})",
                  ["master", "address", "names leader", "answer"],
                  [(v.name, v.address, v.leader or "-", v.answer) for v in status.masters])
    out += _table("Mesos agents", ["agent", "address", "state"],
                  [(a.name, a.address, a.state) for a in status.agents])
    out += _table("Frameworks", ["name", "active", "connected", "id"],
                  [(f.name, _yes(f.active), _yes(f.connected), f.id)
                   for f in status.frameworks])
    out += _table(f"Marathon (leader: {status.marathon_leader or 'none agreed'})",
                  ["instance", "address", "names leader", "answer"],
                  [(v.name, v.address, v.leader or "-", v.answer) for v in status.marathons])
    out += _table("Apps", ["app", "instances", "running", "healthy", "service ports"],
                  [(a.id, a.instances, a.running,
                    a.healthy if a.health_checks else "(no checks)",
                    ",".join(map(str, a.service_ports)) or "-") for a in status.apps])
    lb_rows = []
    for lb in status.load_balancers:
        if not lb.ports:
            lb_rows.append((lb.name, lb.address, "-", "-", lb.error or "no ports to serve"))
        for p in lb.ports:
            state = {True: "serving", False: "NOT SERVING", None: "not probed"}[p.serving]
            lb_rows.append((lb.name, lb.address, p.port, p.app_id, state))
    out += _table("Load balancers", ["load balancer", "address", "port", "app", "state"],
                  lb_rows)
    if status.unreachable:
        out += _table("Unreachable hosts", ["host", "reason"],
                      sorted(status.unreachable.items()))
    if status.healthy:
        out.append("healthy")
    else:
        out.append("== Problems ==")
        out += [f"  - {p}" for p in status.problems]
        count = len(status.problems)
        out.append(f"UNHEALTHY: {count} problem{'' if count == 1 else 's'}")
    return "\n".join(out)
