"""e2e phase: an agent drained under load with `python -m pyinfra_mesos drain`, then brought
back with `undrain` (issue 12, "Removing hosts").

    with phase(e2e_run, "an agent drained under load"):
        phase_drain(e2e_run)

While the app is requested through every load balancer once a second (the e2e
AvailabilityMonitor), the app is scaled to one instance per agent so the drained agent (the
last one of the inventory) runs one, then `drain INVENTORY HOST --yes` runs. It must exit 0 with
0 failed requests; afterwards Mesos no longer lists the agent, its mesos-agent is inactive and
disabled, its machine is DOWN in /master/maintenance/status, and Marathon runs every instance on
the other agents, healthy. Then `undrain` brings the machine UP and starts the agent again, the
agent is active again, and the app goes back to one instance. Timings: the drain, the undrain.

Imports from test_sandbox_e2e happen inside the function: that module imports this one.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.cluster import conftest as checks

DRAIN_TIMEOUT_S = 900.0  # per task: kill, relaunch, health, the bridge's next rounds
AGENT_BACK_TIMEOUT_S = 120.0  # systemd start + registration


def _mesos_get(hosts: Any, path: str) -> Any:
    """GET `path` on the leading master, asked on a master host (the master's ports are
    firewalled from outside the cluster; curl follows the redirect to the leader)."""
    master = hosts.topology.masters[0]
    port = int(hosts.data("mesos_master_port", master))
    text = hosts.run(master.name, f"curl -sSL --max-time 10 http://{master.ip}:{port}{path}",
                     f"GET {path}")
    return checks.parse_json_object(text, f"GET {path}")


def active_agent_ids(hosts: Any, ip: str) -> list[str]:
    """The ids the leading master lists as active agents at address `ip` (/master/slaves)."""
    return [str(s["id"]) for s in _mesos_get(hosts, "/master/slaves")["slaves"]
            if s["hostname"] == ip and s.get("active")]


def phase_drain(run: Any) -> None:
    from tests.e2e.helpers import app_scale_problem
    from tests.e2e.test_sandbox_e2e import (
        PYTHON,
        Hosts,
        app_containers,
        load_monitor,
        marathon_app,
        require_success,
        run_logged,
        scale_app,
        wait_until,
    )

    with Hosts(run.inventory) as hosts:
        agents = hosts.topology.agents
        assert len(agents) >= 2, "draining an agent needs at least two"
        victim = agents[-1]
        scale_app("drain-apps-spread", run, hosts, len(agents))
        by_agent = app_containers(hosts)
        assert by_agent.get(victim.name), f"no instance on {victim.name} to drain: {by_agent}"
        monitor = load_monitor(hosts)
        try:
            time.sleep(2.0)  # a baseline before the drain
            result = run_logged("drain", [PYTHON, "-m", "pyinfra_mesos", "drain",
                                          str(run.inventory), victim.name, "--yes"],
                                DRAIN_TIMEOUT_S * by_agent[victim.name])
            run.timings["drain an agent under load"] = result.seconds
            require_success("drain", result)
            time.sleep(3.0)  # requests after the drain count too
        finally:
            monitor.stop()
        report = monitor.report()
        print(f"[e2e] drain of {victim.name} ({by_agent[victim.name]} instance(s)): "
              f"{result.seconds:.1f} s; {report}", flush=True)
        failed = monitor.failures()
        assert not failed, f"drain: requests failed through the load balancers ({report}):\n  " \
            + "\n  ".join(failed[:20])
        state = hosts.run(victim.name, "systemctl is-active mesos-agent; "
                                       "systemctl is-enabled mesos-agent; true", "mesos-agent")
        assert state.split() == ["inactive", "disabled"], f"{victim.name}: mesos-agent {state!r}"
        slaves = _mesos_get(hosts, "/master/slaves")["slaves"]
        assert all(s["hostname"] != victim.ip for s in slaves), f"still registered: {slaves}"
        status = _mesos_get(hosts, "/master/maintenance/status")
        assert {"hostname": victim.ip, "ip": victim.ip} in status.get("down_machines", []), status
        app = marathon_app(hosts)
        assert app_scale_problem(app, len(agents)) is None, app_scale_problem(app, len(agents))
        hosts_of = sorted(str(t["host"]) for t in app.get("tasks") or [])
        assert victim.ip not in hosts_of and victim.name not in hosts_of, hosts_of
        assert not app_containers(hosts).get(victim.name), "a container left on the drained agent"

        result = run_logged("undrain", [PYTHON, "-m", "pyinfra_mesos", "undrain",
                                        str(run.inventory), victim.name], 300)
        run.timings["undrain an agent"] = result.seconds
        require_success("undrain", result)

        def back() -> str | None:
            if active_agent_ids(hosts, victim.ip):
                return None
            return f"{victim.name} is not an active agent yet"

        run.timings["undrained agent active"] = wait_until(back, AGENT_BACK_TIMEOUT_S,
                                                           f"{victim.name} back in Mesos")
        status = _mesos_get(hosts, "/master/maintenance/status")
        assert status == {}, f"maintenance left after undrain: {json.dumps(status)}"
        scale_app("drain-apps-scale-1", run, hosts, 1)
