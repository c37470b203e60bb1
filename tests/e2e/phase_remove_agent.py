"""e2e phase 14: the newest agent removed for good under load (issue 12, "Removing hosts").

    with phase(e2e_run, "remove an agent"):
        phase_remove_agent(e2e_run, base_data=(INTERRUPT_DATA,))

Runs on the cluster phase 13 left (3 masters, the agents phase 5 grew to 3 or more). The app is
scaled to one instance per agent (so the leaving agent runs some and none is alone), then, while
it is requested once a second through every load balancer that stays (load_monitor; the leaving
one stops serving on purpose), `python -m pyinfra_mesos remove INVENTORY <newest agent> --yes`
drains it and stops, disables and masks its mesos-agent, HAProxy bridge, HAProxy and Docker.
It must exit 0 with 0 failed requests; its units are inactive and masked there (the bridge's own
unit files moved aside), its machine is DOWN in Mesos maintenance and Mesos lists no active agent
at its address. The app goes back to one instance; its line is deleted from the inventory copy;
the deploy (phase 11's data, as phases 12 and 13) succeeds under load with 0 failed requests; no
remaining host's /etc/hosts block (the deploy's; the sandbox's boot-time lines outside it are
only reported) or firewall table (`nft list table inet pyinfra_mesos`) names its address while
each names a remaining agent's; the cluster checks pass; a re-run changes nothing.
Timings: the remove, the deploy, the checks, the re-run.

`base_data`: `key=value` data every deploy passes. Imports from test_sandbox_e2e happen inside
the function: that module imports this one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from pyinfra_mesos.firewall import TABLE
from pyinfra_mesos.remove import STOP_S
from pyinfra_mesos.remove_plan import UNIT_DIR, agent_units
from tests.e2e.phase_drain import DRAIN_TIMEOUT_S, _mesos_get
from tests.e2e.phase_shrink import _data_args, remove_host_lines

MIN_AGENTS = 3  # the leaving one and two that stay (one still balances load when it goes)


def names_address(text: str, address: str) -> bool:
    """Whether `text` holds the IPv4 literal `address` as a whole (10.0.1.13, not 10.0.1.130,
    nor 110.0.1.13)."""
    return re.search(rf"(?<![\d.]){re.escape(address)}(?![\d])", text) is not None


HOSTS_BEGIN = "# BEGIN pyinfra-mesos cluster members"  # deploy/planning_reads.py's HOSTS_MARKER
HOSTS_END = "# END pyinfra-mesos cluster members"


def hosts_block(text: str) -> str | None:
    """The deploy's block of an /etc/hosts (between its markers), None when it has none. The
    lines outside it are the sandbox's boot-time file (sandbox/addressing.py hosts_file), which
    the deploy leaves alone."""
    lines = text.splitlines()
    if HOSTS_BEGIN not in lines or HOSTS_END not in lines:
        return None
    return "\n".join(lines[lines.index(HOSTS_BEGIN) + 1:lines.index(HOSTS_END)])


def hosts_file_problem(name: str, text: str, gone: Any, kept: Any) -> str | None:
    """None when the deploy's block in /etc/hosts of host `name` (`text`) lists `kept` (a
    remaining member: the read is real) and no line of it names `gone`'s address or name."""
    block = hosts_block(text)
    if block is None:
        return f"{name}: /etc/hosts has no {HOSTS_BEGIN!r} block"
    for line in block.splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and (fields[0] == gone.ip or gone.name in fields[1:]):
            return f"{name}: /etc/hosts still names the removed agent: {line.strip()!r}"
    if not names_address(block, kept.ip):
        return f"{name}: /etc/hosts does not list {kept.name} ({kept.ip}): was it read?"
    return None


def ruleset_problem(name: str, text: str, gone: Any, kept: Any) -> str | None:
    """None when the firewall table of host `name` (`text`) names `kept`'s address and not
    `gone`'s."""
    if names_address(text, gone.ip):
        return f"{name}: the firewall table still names the removed agent's {gone.ip}"
    if not names_address(text, kept.ip):
        return f"{name}: the firewall table does not name {kept.name} ({kept.ip}): was it read?"
    return None


def phase_remove_agent(run: Any, base_data: Sequence[str] = ()) -> None:
    from tests.e2e.test_sandbox_e2e import (
        DEPLOY_TIMEOUT_S,
        PYINFRA,
        PYTHON,
        Hosts,
        _topology,
        all_lbs_answer,
        app_containers,
        cluster_checks,
        load_monitor,
        marathon_app,
        require_no_changes,
        require_success,
        run_logged,
        scale_app,
    )

    with Hosts(run.inventory) as hosts:
        topo = hosts.topology
        agents = list(topo.agents)
        assert len(agents) >= MIN_AGENTS, (
            f"phase 14 removes the newest agent (phase 5 added it) and needs at least "
            f"{MIN_AGENTS} agents; the inventory has {len(agents)}: {[a.name for a in agents]}")
        gone = agents[-1]
        staying_lbs = [m for m in topo.load_balancers if m.name != gone.name]
        assert staying_lbs, f"removing {gone.name} would leave no load balancer"
        units = agent_units(topo, gone.name)
        scale_app("14-apps-spread", run, hosts, len(agents))
        on_gone = app_containers(hosts).get(gone.name, 0)
        monitor = load_monitor(hosts, staying_lbs)
    try:
        time.sleep(2.0)  # a baseline before the removal
        result = run_logged("14-remove-agent", [PYTHON, "-m", "pyinfra_mesos", "remove",
                                                str(run.inventory), gone.name, "--yes"],
                            DRAIN_TIMEOUT_S * max(on_gone, 1) + STOP_S)
        run.timings["remove an agent under load"] = result.seconds
        require_success("remove an agent", result)
        time.sleep(3.0)  # requests after the removal count too
    finally:
        monitor.stop()
    report = monitor.report()
    print(f"[e2e] remove of {gone.name} ({on_gone} instance(s) on it): {result.seconds:.1f} s; "
          f"{report}", flush=True)
    failed = monitor.failures()
    assert not failed, (f"remove: requests failed through the remaining load balancers "
                        f"({report}):\n  " + "\n  ".join(failed[:20]))
    for lb in staying_lbs:
        assert lb.name in result.output, (
            f"remove must name the remaining load balancer {lb.name} (log: {result.log})")
    assert "delete its line" in result.output, (
        f"remove must say what comes next (log: {result.log})")

    with Hosts(run.inventory) as hosts:
        state = hosts.run(gone.name, " ".join(
            f"systemctl is-enabled {u}; systemctl is-active {u};" for u in units) + " true",
            "the removed agent's units")
        words = state.split()
        pairs = dict(zip(units, zip(words[0::2], words[1::2], strict=False), strict=False))
        wrong = {u: p for u, p in pairs.items()
                 if p[0] != "masked" or p[1] not in ("inactive", "failed")}
        assert len(words) == 2 * len(units) and not wrong, (
            f"{gone.name}: {units} must be masked and inactive (or failed): {words}")
        own = [u for u in units if u.startswith("pyinfra-mesos-")]
        if own:
            aside = hosts.run(gone.name, " ".join(
                f"test -f {UNIT_DIR}/{u}.removed && echo {u};" for u in own) + " true",
                "the bridge's unit files moved aside")
            assert aside.split() == own, f"{gone.name}: moved aside {aside.split()}, want {own}"
        # A package's unit under UNIT_DIR would be moved aside too: the deploy that adds the
        # host back could not start it (README: Removing an agent). Shown for the lead.
        moved = hosts.run(gone.name, f"ls {UNIT_DIR} | grep '[.]removed$' || true",
                          "unit files moved aside")
        print(f"[e2e] {gone.name}: moved aside under {UNIT_DIR}: {moved.split()}", flush=True)
        status = _mesos_get(hosts, "/master/maintenance/status")
        assert {"hostname": gone.ip, "ip": gone.ip} in status.get("down_machines", []), (
            f"{gone.name}'s machine must stay DOWN: {status}")
        slaves = _mesos_get(hosts, "/master/slaves")["slaves"]
        assert not [s for s in slaves if s["hostname"] == gone.ip and s.get("active")], (
            f"{gone.name} is still an active agent: {slaves}")
        app = marathon_app(hosts)
        hosts_of = sorted(str(t["host"]) for t in app.get("tasks") or [])
        assert gone.ip not in hosts_of and gone.name not in hosts_of, hosts_of
        # One instance again before the deploy, which sets the apps' own count (1) itself.
        scale_app("14-apps-scale-1", run, hosts, 1)

    run.inventory.write_text(remove_host_lines(run.inventory.read_text(), [gone.name]))
    run.removed_agent = gone.name  # phase 15 adds it back
    left = _topology(run.inventory)
    assert gone.name not in [m.name for m in left.all_members], (
        f"deleted {gone.name} from the inventory copy, pyinfra still lists it")
    with Hosts(run.inventory) as hosts:
        monitor = load_monitor(hosts)
    try:
        result = run_logged("14-deploy-without-agent", [
            PYINFRA, "-y", str(run.inventory), "deploy.py", *_data_args(base_data)],
            DEPLOY_TIMEOUT_S)
        run.timings["deploy without the removed agent"] = result.seconds
        require_success("deploy without the removed agent", result)
        time.sleep(3.0)  # requests after the deploy count too
    finally:
        monitor.stop()
    report = monitor.report()
    print(f"[e2e] the deploy without {gone.name}: {report}", flush=True)
    failed = monitor.failures()
    assert not failed, (f"the deploy without {gone.name}: requests failed ({report}):\n  "
                        + "\n  ".join(failed[:20]))

    with Hosts(run.inventory) as hosts:
        kept = hosts.topology.agents[0]
        problems = []
        for member in hosts.topology.all_members:
            etc_hosts = hosts.run(member.name, "cat /etc/hosts", "/etc/hosts")
            problems.append(hosts_file_problem(member.name, etc_hosts, gone, kept))
            outside = etc_hosts.replace(hosts_block(etc_hosts) or "", "")
            if names_address(outside, gone.ip):
                print(f"[e2e] {member.name}: the sandbox's boot-time /etc/hosts lines (outside "
                      f"the deploy's block) still name {gone.ip}", flush=True)
            if hosts.data("firewall_enabled", member):
                table = hosts.run(member.name, f"nft list table inet {TABLE}",
                                  f"the firewall table {TABLE}")
                problems.append(ruleset_problem(member.name, table, gone, kept))
        found = [p for p in problems if p]
        assert not found, "after the deploy:\n  " + "\n  ".join(found)
        all_lbs_answer(hosts, 2, f"after removing {gone.name}")

    cluster_checks("14-cluster-checks-agent-removed", run, "cluster checks (agent removed)")
    rerun = run_logged("14-deploy-noop-agent-removed", [
        PYINFRA, "-y", str(run.inventory), "deploy.py", *_data_args(base_data)],
        DEPLOY_TIMEOUT_S)
    run.timings["no-op re-run (agent removed)"] = rerun.seconds
    require_success("no-op re-run (agent removed)", rerun)
    require_no_changes("the re-run without the removed agent", rerun)
