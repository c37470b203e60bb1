"""e2e phase 13: the masters shrunk 5 -> 3 under load (issue 12, "Removing hosts"), one of the two
leaving ones dead, in the order apache/mesos docs/operational-guide.md "Decreasing the quorum
size" gives.

    with phase(e2e_run, "shrink masters 5 -> 3"):
        phase_shrink(e2e_run, base_data=(INTERRUPT_DATA,))

Runs on the 5-master cluster phase 9 grew (after phase 12). While the app is requested through
every load balancer once a second (load_monitor, which leaves the dead master out of its leader
samplers), the newest master is cut off the network the way phase 8c cuts an agent (its veth on
this machine goes down: to every other host it is a powered-off machine; it stays cut for the
rest of the run, the sandbox's teardown removes it), the others settle without it (one
ZooKeeper leader, the masters agree on a Mesos leader that is not it, and that holds for twice
their zk_session_timeout plus 10 s: a leader that lost ZooKeeper restarts within it), then
`python -m pyinfra_mesos remove INVENTORY <the two newest masters> --dead <the newest> --yes`
takes the dead one out with nothing sent to it and stops, disables and masks the other's Marathon,
mesos-master and ZooKeeper (its units are checked over SSH; the dead one is never contacted);
their lines are deleted from the inventory copy; the deploy without consent must exit 1 naming
mesos_allow_master_removal and run no operation (the remaining masters still have quorum 3);
the deploy with `--data mesos_allow_master_removal=true` then restarts the remaining three with
quorum 2. Afterwards: 0 failed requests, the remaining masters' replicated log directories are
the same (inodes, as phase 9), MESOS_QUORUM=2 in their env files, ZooKeeper has 3 members with
one leader, the cluster checks pass and a re-run changes nothing. Timings: the cluster settling
without the dead master, the remove, the refused deploy, the shrink deploy, settling, the
checks, the re-run.

`base_data`: `key=value` data every deploy passes (phase 11's, so its change is not undone).
Imports from test_sandbox_e2e happen inside the function: that module imports this one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pyinfra_mesos.flags import parse_env_lines
from tests.cluster.conftest import ensemble_problem
from tests.e2e.helpers import Steady, leader_agreement, parse_master_pid, parse_mesos_duration

# two hosts, each: stop (the live one), ZooKeeper, Mesos, Marathon re-elect, its log replica
# znode expires
REMOVE_TIMEOUT_S = 1200.0
CONSENT = "mesos_allow_master_removal"
DEAD_SETTLE_MARGIN_S = 10.0  # beyond twice the masters' zk_session_timeout


def remove_host_lines(inventory_text: str, names: Sequence[str]) -> str:
    """The inventory without the `sandbox_host(..., "<name>", ...)` line of each of `names`
    (the operator deletes the removed hosts' lines); ValueError when a name has no such line."""
    text = inventory_text
    for name in names:
        pattern = re.compile(rf'^[^\n]*sandbox_host\([^\n]*"{re.escape(name)}"[^\n]*\n', re.M)
        text, count = pattern.subn("", text)
        if not count:
            raise ValueError(f"no sandbox_host line for {name} in the inventory")
    return text


def without_dead_problem(modes: Mapping[str, str | None], leaders: Mapping[str, str | None],
                         dead_ip: str) -> str | None:
    """None once the hosts left after a master was cut off have settled, else why not (one
    line). `modes`: `{ZooKeeper member still reachable: its srvr Mode, None when silent}`, which
    must be one leader and followers (tests/cluster ensemble_problem); `leaders`: `{master
    still reachable: the leader pid ("master@IP:PORT") its /master/state reports, None when
    silent}`, which must agree on one leader whose IP is not `dead_ip` (the cut-off master's)."""
    problem = ensemble_problem(modes)
    if problem:
        return f"ZooKeeper without the dead master: {problem}"
    pid, problem = leader_agreement(leaders)
    if pid is None:
        return problem
    if parse_master_pid(pid)[0] == dead_ip:
        return f"the masters still name the dead master {pid} as the Mesos leader"
    return None


def _data_args(base_data: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    return [arg for item in (*base_data, *extra) for arg in ("--data", item)]


def phase_shrink(run: Any, base_data: Sequence[str] = ()) -> None:
    from tests.e2e.test_sandbox_e2e import (
        DEPLOY_TIMEOUT_S,
        FAULT_RECOVERY_TIMEOUT_S,
        GROW_SETTLE_TIMEOUT_S,
        PYINFRA,
        PYTHON,
        Hosts,
        _topology,
        all_lbs_answer,
        cluster_checks,
        grown_cluster_problem,
        load_monitor,
        replicated_log_inodes,
        reported_leaders,
        require_no_changes,
        require_success,
        run_logged,
        set_link,
        tail,
        veth_of,
        wait_until,
        zookeeper_mode,
    )

    with Hosts(run.inventory) as hosts:
        masters = hosts.topology.masters
        assert len(masters) == 5, (
            f"phase 13 shrinks the 5 masters phase 9 grew, the inventory has {len(masters)}")
        leaving, staying = list(masters[3:]), list(masters[:3])
        dead, live_leaving = leaving[-1], leaving[:-1]
        old_logs = replicated_log_inodes(hosts, staying)
        monitor = load_monitor(hosts, dead=[dead.name])
    gone = [m.name for m in leaving]
    try:
        time.sleep(2.0)  # a baseline before the master dies
        # The veth stays down: the dead master is gone for good (the sandbox's teardown
        # removes it), never a host of this run again.
        set_link(veth_of(run.sandbox, dead.name), up=False)
        # Hosts opens an SSH connection only when a command runs on a host, and none runs on
        # the dead one: the waits below are HTTP and four-letter words from this machine.
        with Hosts(run.inventory) as hosts:
            alive = [m for m in hosts.topology.masters if m.name != dead.name]
            zookeepers = [m for m in hosts.topology.zookeepers if m.name != dead.name]
            # Settled means settled for long enough that a leading master that lost its
            # ZooKeeper connection with the dead member has had its zk_session_timeout to
            # notice, twice over (Steady): seen on the sandbox, the leader then restarts 20 s
            # after the cut, and a remove run in that window refuses (it sees no answer).
            session_s = parse_mesos_duration(str(hosts.data("mesos_zk_session_timeout")))
            run.timings["dead master: cluster settled without it"] = wait_until(
                Steady(lambda: without_dead_problem(
                    {m.name: zookeeper_mode(m.ip, int(hosts.data("zookeeper_client_port", m)))
                     for m in zookeepers},
                    reported_leaders(hosts, alive), dead.ip), 2 * session_s + DEAD_SETTLE_MARGIN_S),
                FAULT_RECOVERY_TIMEOUT_S, f"the cluster after {dead.name} was cut off")
        result = run_logged("13-remove-masters", [
            PYTHON, "-m", "pyinfra_mesos", "remove", str(run.inventory), *gone,
            "--dead", dead.name, "--yes"], REMOVE_TIMEOUT_S)
        run.timings["remove 2 masters (1 dead) under load"] = result.seconds
        require_success("remove 2 masters (1 dead)", result)
        assert f"--data {CONSENT}=true" in result.output, (
            f"remove must say which deploy comes next (log: {result.log})")
        for said in (f"{dead.name}: taken as dead (--dead",
                     f"Taken as dead, not masked: {dead.name}"):
            assert said in result.output, (
                f"remove must say {said!r} (log: {result.log})\n{tail(result.output)}")
        with Hosts(run.inventory) as hosts:
            for member in live_leaving:  # the dead one cannot be asked
                units = ("marathon.service", "mesos-master.service",
                         f"{hosts.data('zookeeper_service', member)}.service")
                state = hosts.run(member.name, " ".join(
                    f"systemctl is-enabled {u}; systemctl is-active {u};" for u in units)
                    + " true", "the removed host's units")
                assert state.split() == ["masked", "inactive"] * len(units), (
                    f"{member.name}: {units} must be masked and inactive: {state.split()}")

        run.inventory.write_text(remove_host_lines(run.inventory.read_text(), gone))
        shrunk = _topology(run.inventory)
        assert [m.name for m in shrunk.masters] == [m.name for m in staying], (
            f"deleted {gone} from the inventory copy, pyinfra's masters are "
            f"{[m.name for m in shrunk.masters]}")

        refused = run_logged("13-deploy-shrink-refused", [
            PYINFRA, "-y", str(run.inventory), "deploy.py", *_data_args(base_data)],
            DEPLOY_TIMEOUT_S)
        run.timings["shrink deploy refused without consent"] = refused.seconds
        assert refused.rc == 1, (f"the shrink without {CONSENT} must exit 1, got {refused.rc} "
                                 f"(log: {refused.log})\n{tail(refused.output)}")
        assert CONSENT in refused.output, (
            f"the refusal must name {CONSENT} (log: {refused.log})\n{tail(refused.output)}")
        assert "Starting operation" not in refused.output, (
            f"the refused shrink ran operations (log: {refused.log})")

        result = run_logged("13-deploy-shrink", [
            PYINFRA, "-y", str(run.inventory), "deploy.py",
            *_data_args(base_data, [f"{CONSENT}=true"])], DEPLOY_TIMEOUT_S)
        run.timings["shrink masters 5->3"] = result.seconds
        require_success("shrink masters 5->3", result)
        time.sleep(3.0)  # requests after the deploy count too
    finally:
        monitor.stop()
    report = monitor.report()
    print(f"[e2e] during the removal and the shrink deploy: {report}", flush=True)

    with Hosts(run.inventory) as hosts:
        seconds = wait_until(lambda: grown_cluster_problem(hosts), GROW_SETTLE_TIMEOUT_S,
                             "after shrinking the masters 5 -> 3")
        run.timings["shrink masters settled"] = seconds
        all_lbs_answer(hosts, 2, "after shrinking the masters")
        kept = replicated_log_inodes(hosts, staying)
        assert kept == old_logs, (
            f"the remaining masters' replicated logs must be the same directories (no reset): "
            f"inodes before {old_logs}, after {kept}")
        for member in hosts.topology.masters:
            env = hosts.run(member.name, "cat /etc/default/mesos-master",
                            "/etc/default/mesos-master")
            quorum = parse_env_lines(env.splitlines(), "MESOS").get("quorum")
            assert quorum == "2", f"{member.name}: MESOS_QUORUM={quorum}, want 2"
        members = hosts.topology.zookeepers
        modes = {m.name: zookeeper_mode(m.ip, int(hosts.data("zookeeper_client_port", m)))
                 for m in members}
        assert len(members) == 3 and sorted(modes.values()) == [
            "follower", "follower", "leader"], f"ZooKeeper after the shrink: {modes}"

    failed = monitor.failures()
    assert not failed, (f"the app failed {len(failed)} request(s) while the masters shrank "
                        f"({report}):\n  " + "\n  ".join(failed[:20]))

    cluster_checks("13-cluster-checks-3-masters", run, "cluster checks (3 masters)")
    rerun = run_logged("13-deploy-noop-3-masters", [
        PYINFRA, "-y", str(run.inventory), "deploy.py", *_data_args(base_data)],
        DEPLOY_TIMEOUT_S)
    run.timings["no-op re-run (3 masters)"] = rerun.seconds
    require_success("no-op re-run (3 masters)", rerun)
    require_no_changes("the re-run with 3 masters", rerun)
