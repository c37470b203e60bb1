"""e2e phase 15: the agent phase 14 removed comes back (issue 12, "Removing hosts": README
"To add the same host back").

    with phase(e2e_run, "add the removed agent back"):
        phase_readd_agent(e2e_run, base_data=(INTERRUPT_DATA,))

Its line goes back into the inventory copy; `python -m pyinfra_mesos undrain INVENTORY <agent>`
brings its machine UP (out of the maintenance schedule) and must leave the masked agent to the
deploy, saying so; the deploy (phase 11's data, as phases 12 to 14) unmasks and starts what
`remove` masked. Afterwards: mesos-agent, Docker, HAProxy and the bridge's timer are enabled and
active there, Mesos lists it as an active agent again under the agent id it had before
(`meta/slaves/latest` in its work_dir, the checkpoint `remove` kept), the maintenance schedule is
empty, every other host's /etc/hosts block names it again, every load balancer (its own again)
answers, the cluster checks pass and a re-run changes nothing. Timings: the undrain, the deploy,
the agent active, the checks, the re-run.

`base_data`: `key=value` data every deploy passes. Imports from test_sandbox_e2e happen inside
the function: that module imports this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyinfra_mesos.docker import DOCKER_SOCKET
from pyinfra_mesos.haproxy_bridge import BRIDGE_SERVICE
from pyinfra_mesos.remove_plan import agent_units
from tests.e2e.helpers import add_agent_line
from tests.e2e.phase_drain import AGENT_BACK_TIMEOUT_S, _mesos_get, active_agent_ids
from tests.e2e.phase_remove_agent import hosts_block, names_address
from tests.e2e.phase_shrink import _data_args

UNDRAIN_TIMEOUT_S = 300.0


def phase_readd_agent(run: Any, base_data: Sequence[str] = ()) -> None:
    from tests.e2e.test_sandbox_e2e import (
        DEPLOY_TIMEOUT_S,
        PYINFRA,
        PYTHON,
        Hosts,
        all_lbs_answer,
        cluster_checks,
        require_no_changes,
        require_success,
        run_logged,
        wait_until,
    )

    name = run.removed_agent
    assert name, "phase 15 adds back the agent phase 14 removed: run phase 14 first"
    run.inventory.write_text(add_agent_line(run.inventory.read_text(), name))
    with Hosts(run.inventory) as hosts:
        agent = next(m for m in hosts.topology.agents if m.name == name)
        work_dir = str(hosts.data("mesos_agent_work_dir", agent))
        old_id = hosts.run(name, f"basename $(readlink {work_dir}/meta/slaves/latest)",
                           "the agent id checkpointed before the removal").strip()
        assert old_id, f"{name}: no checkpointed agent id under {work_dir}/meta/slaves/latest"

    result = run_logged("15-undrain-removed-agent", [
        PYTHON, "-m", "pyinfra_mesos", "undrain", str(run.inventory), name], UNDRAIN_TIMEOUT_S)
    run.timings["undrain the removed agent"] = result.seconds
    require_success("undrain the removed agent", result)
    assert f"{name}: mesos-agent is masked" in result.output, (
        f"undrain must leave the masked agent to the deploy and say so (log: {result.log})")

    result = run_logged("15-deploy-agent-back", [
        PYINFRA, "-y", str(run.inventory), "deploy.py", *_data_args(base_data)], DEPLOY_TIMEOUT_S)
    run.timings["deploy with the agent back"] = result.seconds
    require_success("deploy with the agent back", result)

    with Hosts(run.inventory) as hosts:
        run.timings["re-added agent active"] = wait_until(
            lambda: None if active_agent_ids(hosts, agent.ip)
            else f"{name} is not an active agent yet", AGENT_BACK_TIMEOUT_S,
            f"{name} back in Mesos")
        ids = active_agent_ids(hosts, agent.ip)
        assert ids == [old_id], f"{name} must come back as agent {old_id}, Mesos lists {ids}"
        status = _mesos_get(hosts, "/master/maintenance/status")
        assert status == {}, f"maintenance left after adding {name} back: {status}"
        # What the deploy keeps enabled and running: not docker.socket (it starts the daemon)
        # nor the bridge's oneshot service (its timer runs it).
        wanted = [u for u in agent_units(hosts.topology, name)
                  if u not in (DOCKER_SOCKET, BRIDGE_SERVICE)]
        state = hosts.run(name, " ".join(
            f"systemctl is-enabled {u}; systemctl is-active {u};" for u in wanted) + " true",
            "the re-added agent's units")
        words = state.split()
        assert words == ["enabled", "active"] * len(wanted), (
            f"{name}: {wanted} must be enabled and active: {words}")
        missing = [m.name for m in hosts.topology.all_members if m.name != name
                   and not names_address(hosts_block(hosts.run(m.name, "cat /etc/hosts",
                                                                "/etc/hosts")) or "", agent.ip)]
        assert not missing, f"/etc/hosts blocks that do not name {name} again: {missing}"
        all_lbs_answer(hosts, 2, f"after adding {name} back")

    cluster_checks("15-cluster-checks-agent-back", run, "cluster checks (agent back)")
    rerun = run_logged("15-deploy-noop-agent-back", [
        PYINFRA, "-y", str(run.inventory), "deploy.py", *_data_args(base_data)], DEPLOY_TIMEOUT_S)
    run.timings["no-op re-run (agent back)"] = rerun.seconds
    require_success("no-op re-run (agent back)", rerun)
    require_no_changes("the re-run with the agent back", rerun)
