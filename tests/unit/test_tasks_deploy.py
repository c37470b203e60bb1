"""The operations the task files generate for masters and agents, on @fake hosts.

An empty fact answer looks like a fresh host; `fake_responses` script existing state.
"""

from __future__ import annotations

import re

import pytest
from pyinfra.context import ctx_host
from pyinfra_cli.util import exec_file
from test_tasks_harness import ROOT, condition_after, fake_host, op_named, plan, prepared, started

from pyinfra_mesos.apt_lists import refresh_command
from pyinfra_mesos.deploy.deploy_facts import APT_UPDATE_STAMP
from pyinfra_mesos.deploy.refused import DeployRefused

# tasks/common.py's one apt transaction (pyinfra_mesos/first_install.py).
REFRESH = ("Refresh apt lists (older than apt_cache_time_s or than this host's apt sources, "
           "key and pins)")
KEY_TOOLS = "Install what the aventer-mesos key needs"
INSTALL = "Install this host's packages, one apt transaction"
ALL_TASKS = ["tasks/common.py", "tasks/docker.py", "tasks/zookeeper.py",
             "tasks/mesos_package.py", "tasks/mesos_master.py", "tasks/marathon.py",
             "tasks/mesos_agent.py"]


def cluster(masters=3, master_responses=None, agent_responses=None, **agent_data):
    return {
        "masters": [fake_host(f"m{i}", master_responses, ip=f"10.0.0.{10 + i}",
                              zookeeper_id=i) for i in range(1, masters + 1)],
        "agents": [fake_host("a1", agent_responses, ip="10.0.1.11", **agent_data)],
    }


def global_order(groups, task_files) -> list[str]:
    """pyinfra's order of every operation's hash (api/state.py get_op_order) for `task_files`
    planned on `groups` (every host runs them: masters' tasks on masters only)."""
    with prepared(groups) as (state, inventory):
        for number, task in enumerate(task_files):
            state.current_op_file_number = number
            state.current_deploy_filename = str(ROOT / task)
            for host in inventory.get_active_hosts():
                if host.name.startswith("@fake/m"):
                    with ctx_host.use(host):
                        exec_file(str(ROOT / task))
        return list(state.get_op_order())


def global_names(groups, task_files) -> list[str]:
    """The operations' names in pyinfra's global order (every host runs each operation before
    any host runs the next), `task_files` planned on the masters as global_order does."""
    with prepared(groups) as (state, inventory):
        for number, task in enumerate(task_files):
            state.current_op_file_number = number
            state.current_deploy_filename = str(ROOT / task)
            for host in inventory.get_active_hosts():
                if host.name.startswith("@fake/m"):
                    with ctx_host.use(host):
                        exec_file(str(ROOT / task))
        return [min(n.split(" | ", 1)[-1] for n in state.get_op_meta(op_hash).names)
                for op_hash in state.get_op_order()]


def names(ops):
    return [op.name for op in ops]


def test_fresh_master_runs_every_component_in_order():
    ops = plan(cluster(), ALL_TASKS)["m1"]
    order = names(ops)
    for earlier, later in [(INSTALL, "Configure Docker registries (daemon.json)"),
                           (INSTALL, "Configure the ZooKeeper ensemble"),
                           ("Download the aventer-mesos apt key", "Check the aventer-mesos"),
                           ("Check the aventer-mesos", "Add the aventer-mesos apt repository"),
                           ("Add the aventer-mesos apt repository", REFRESH),
                           (REFRESH, INSTALL),
                           ("Configure mesos-master", "mesos-master enabled and running"),
                           ("Install marathon.service", "Marathon enabled and running")]:
        first = next(i for i, n in enumerate(order) if n.startswith(earlier))
        second = next(i for i, n in enumerate(order) if n.startswith(later))
        assert first < second, (earlier, later)
    assert not any(n.startswith("Configure mesos-agent") for n in order)
    assert "(quorum 2 of 3)" in op_named(ops, "Configure mesos-master").name
    # One apt transaction for every package, aventer-mesos too (its repository is set up before
    # the one refresh), the units of what it adds masked before it. This fake host has no
    # dpkg list: the key's tools come first, in a transaction of their own.
    install = op_named(ops, INSTALL).commands
    assert install[:3] == ["systemctl mask docker.socket", "systemctl mask docker.service",
                           "systemctl mask zookeeper.service"], install
    assert len(install) == 4 and "apt-get" in install[3], install
    assert all(f" {name}" in install[3] for name in ("docker.io", "zookeeperd",
                                                       "aventer-mesos"))
    assert " curl" not in install[3] and " curl" in op_named(ops, KEY_TOOLS).commands[-1]
    assert [n for n in order if "apt-get" in " ".join(op_named(ops, n).commands)
            and "install" in " ".join(op_named(ops, n).commands)] == [
        n for n in order if n.startswith((KEY_TOOLS, INSTALL))]
    assert [n for n in order if n.startswith("Refresh apt lists")] == [
        "Refresh apt lists (for the tools the aventer-mesos key needs)", REFRESH]
    # A master is not an agent: the package's agent unit is kept off.
    assert any("mesos-agent.service stopped and disabled" in n for n in order)


def test_fresh_agent_gets_docker_mesos_agent_and_no_master_or_zookeeper():
    ops = plan(cluster(1), ALL_TASKS)["a1"]
    order = names(ops)
    install = op_named(ops, INSTALL).commands
    assert install[-1].endswith(" aventer-mesos"), install
    # Agents are load balancers too (group_data): HAProxy's unit is held with Docker's.
    assert install[:3] == ["systemctl mask docker.socket", "systemctl mask docker.service",
                           "systemctl mask haproxy.service"]
    assert " docker.io" in install[3] and " haproxy" in install[3], install
    assert "zookeeper" not in " ".join(install), install
    assert not any(n.startswith(("Configure the ZooKeeper", "Configure mesos-master",
                                 "Install marathon.service")) for n in order)
    env = op_named(ops, "Configure mesos-agent")
    # Private from its first moment (extra flags may carry credentials).
    assert "install -m 0600 -o root -g root /dev/null /etc/default/mesos-agent" in env.commands
    started = op_named(ops, "Docker running before the agent, mesos-agent enabled and running")
    assert started.commands == ["systemctl start docker.service", "systemctl enable docker.service",
                                "systemctl start mesos-agent.service",
                                "systemctl enable mesos-agent.service"]


# ServiceFreshness answers (pyinfra_mesos/deploy/rolling.py): running since t=100, an input newer.
STALE = {"ActiveEnterTimestamp": ["ActiveState=active", started(100.5),
                                  "input=90.0 /etc/default/mesos",
                                  "input=200.25 /etc/default/mesos-master"]}
FRESH = {"ActiveEnterTimestamp": ["ActiveState=active", started(300),
                                  "input=200.25 /etc/default/mesos-master"]}


def test_a_new_master_is_restarted_only_when_its_process_predates_its_config():
    # Started by the deploy after its files were written: nothing more to do.
    ops = plan(cluster(), ["tasks/mesos_master.py"])["m2"]
    restart = op_named(ops, "Restart new masters")
    assert restart.global_arguments["_serial"] is True
    assert restart.commands == []
    # Started by the package before its config existed: restarted, and waits for /health.
    ops = plan(cluster(master_responses=STALE), ["tasks/mesos_master.py"])["m2"]
    restart = op_named(ops, "Restart new masters")
    assert "systemctl restart mesos-master.service" in restart.commands[0]
    assert "http://10.0.0.12:5050/health" in restart.commands[0]


def test_running_masters_restart_before_new_ones_start():
    running = {"systemctl show --all --property Id --property SubState mesos-master.service":
               ["Id=mesos-master.service", "SubState=running"],
               "cat /etc/default/mesos-master": ["MESOS_QUORUM=2"]}
    groups = cluster(5, master_responses=running)
    groups["masters"][3:] = [fake_host(f"m{i}", None, ip=f"10.0.0.{10 + i}", zookeeper_id=i)
                             for i in (4, 5)]
    planned = plan(groups, ["tasks/mesos_master.py"])
    last = "Restart running masters with the new config: the leader, last"
    start = "mesos-master enabled and running"
    # pyinfra's one order of operations (every host's list follows it): a new master's start
    # after the running ones' last turn; a running one's start check (a no-op while it runs)
    # right after its files, before the turns.
    new = f"{start} (new masters, after the restarts)"
    old_start, old_last = (op_named(planned["m1"], n).op_hash for n in (start, last))
    new_start = op_named(planned["m4"], new)
    assert new_start.commands[0] == "systemctl start mesos-master.service"
    assert op_named(planned["m4"], start).commands == []  # every master plans both
    order = global_order(groups, ["tasks/mesos_master.py"])
    assert order.index(old_start) < order.index(old_last) < order.index(new_start.op_hash)
    assert "(quorum 3 of 5)" in op_named(planned["m1"], "Configure mesos-master").name


def test_one_to_three_masters_is_refused_when_a_replicated_log_exists():
    single = {"cat /etc/default/mesos-master": ["MESOS_QUORUM=1"],
              "/var/lib/mesos/master/replicated_log": [
                  "user=root group=root mode=drwxr-x--- atime=1 mtime=1 ctime=1 size=4096 "
                  "'/var/lib/mesos/master/replicated_log'"]}
    with pytest.raises(Exception, match="mesos_allow_replicated_log_reset") as refused:
        plan(cluster(3, master_responses=single), ["tasks/mesos_master.py"])
    assert isinstance(refused.value, DeployRefused) or isinstance(
        getattr(refused.value, "exception", None), DeployRefused)

    ops = plan(cluster(3, master_responses=single), ["tasks/mesos_master.py"],
               data={"mesos_allow_replicated_log_reset": True})["m1"]
    reset = op_named(ops, "Move the single-master replicated log aside")
    assert reset.commands[0] == "systemctl stop mesos-master.service"
    assert reset.commands[1].startswith("mv /var/lib/mesos/master/replicated_log ")
    assert not any("rm " in c for op in ops for c in op.commands)


AGENT_BEFORE = {
    "cat /etc/default/mesos-agent": ["MESOS_HOSTNAME=10.0.1.11", "MESOS_PORT=5051",
                                     "MESOS_RESOURCES='cpus:1;ports:[31000-32000]'"],
    "/var/lib/mesos/agent/meta/slaves/latest": [
        "user=root group=root mode=lrwxrwxrwx atime=1 mtime=1 ctime=1 size=10 "
        "'/var/lib/mesos/agent/meta/slaves/latest' -> 'abc-S0'"],
}


def test_changed_agent_resources_are_refused_without_consent():
    with pytest.raises(Exception, match=r"@fake/a1: mesos_resources"):
        plan(cluster(1, agent_responses=AGENT_BEFORE, mesos_resources={"cpus": 2}),
             ["tasks/mesos_agent.py"])


@pytest.mark.parametrize(("data", "key"), [
    # Real Mesos compares the whole SlaveInfo on recovery (src/slave/compatibility.cpp):
    # a new address (hostname follows ip) or port crash-loops the agent like new resources.
    ({"ip": "10.0.1.99"}, "ip"),
    ({"mesos_agent_port": 5052}, "mesos_agent_port"),
    ({"mesos_attributes": {"rack": "r2"}}, "mesos_attributes"),
])
def test_changed_agent_info_is_refused_without_consent(data, key):
    agent = fake_host("a1", AGENT_BEFORE, **{"ip": "10.0.1.11", "mesos_resources": {"cpus": 1},
                                             **data})
    groups = {**cluster(1), "agents": [agent]}
    with pytest.raises(Exception, match=rf"@fake/a1: {key}"):
        plan(groups, ["tasks/mesos_agent.py"])


def test_consented_checkpoint_reset_removes_only_the_latest_link():
    ops = plan(cluster(1, agent_responses=AGENT_BEFORE, mesos_resources={"cpus": 2}),
               ["tasks/mesos_agent.py"],
               data={"mesos_allow_agent_checkpoint_reset": True})["a1"]
    reset = op_named(ops, "Remove the agent checkpoint")
    assert reset.commands == ["systemctl stop mesos-agent.service",
                              "rm -f /var/lib/mesos/agent/meta/slaves/latest"]
    restart = op_named(ops, "Restart mesos-agent")
    assert names(ops).index(reset.name) < names(ops).index(restart.name)
    # Agents restart one at a time, each answering /health before the next.
    assert restart.global_arguments.get("_serial") is True
    assert "http://10.0.1.11:5051/health" in restart.commands[0]


def test_unchanged_agent_resources_need_no_consent():
    ops = plan(cluster(1, agent_responses=AGENT_BEFORE, mesos_resources={"cpus": 1}),
               ["tasks/mesos_agent.py"])["a1"]
    assert not any(op.name.startswith("Remove the agent checkpoint") for op in ops)


def test_zookeeper_myid_is_written_through_debians_symlink():
    linked = {"/var/lib/zookeeper/myid": [
        "user=root group=root mode=lrwxrwxrwx atime=1 mtime=1 ctime=1 size=26 "
        "'/var/lib/zookeeper/myid' -> '/etc/zookeeper/conf/myid'"]}
    ops = plan(cluster(3, master_responses=linked), ["tasks/zookeeper.py"])["m2"]
    myid = op_named(ops, "Configure the ZooKeeper ensemble (zoo.cfg, myid 2)")
    assert any(c.endswith("/etc/zookeeper/conf/myid") for c in myid.commands)
    assert not any("/var/lib/zookeeper/myid" in c for c in myid.commands)
    restart = op_named(ops, "Restart ZooKeeper")
    assert restart.global_arguments["_serial"] is True


def test_the_mesos_key_is_checked_after_a_download_and_its_repository_set_up_before_the_refresh():
    ops = plan(cluster(1), ["tasks/common.py"],
               data={"mesos_apt_key_fingerprint": "AAAA BBBB"})["m1"]
    check = op_named(ops, "Check the aventer-mesos apt key (expiry, fingerprint)")
    assert "AAAABBBB" in check.commands[0]
    # Runs when the key was downloaded, only then.
    assert condition_after(check, upstream_changed=True) is True
    assert condition_after(check, upstream_changed=False) is False
    sources = op_named(ops, "Add the aventer-mesos apt repository")
    assert "FileUploadCommand:/etc/apt/sources.list.d/aventer-mesos.list" in sources.commands
    assert "# Managed by pyinfra-mesos (tasks/common.py).\ndeb [signed-by=" in sources.uploads[
        "/etc/apt/sources.list.d/aventer-mesos.list"]
    order = names(ops)
    assert order.index(sources.name) < order.index(REFRESH) < order.index(
        op_named(ops, INSTALL).name)
    # The refresh decides from the lists' age and its inputs' times, not from an `_if`.
    assert not op_named(ops, REFRESH).global_arguments["_if"]


def test_marathon_env_is_private_and_secrets_stay_out_of_operation_names():
    secret = "admin:s3cret-pass"
    ops = plan(cluster(1), ["tasks/marathon.py"],
               data={"marathon_http_credentials": secret})["m1"]
    # One set: env file, credentials, secret and unit (a new unit reloads systemd, last).
    env = op_named(ops, "Install marathon.service")
    create = "install -m 0600 -o root -g root /dev/null /etc/default/marathon"
    assert env.commands.index(create) < env.commands.index(
        "FileUploadCommand:/etc/default/marathon")
    assert not any(secret in op.name or any(secret in c for c in op.commands) for op in ops)
    assert env.commands[-1] == "systemctl daemon-reload"


def test_common_lists_every_member_and_caches_apt_update():
    ops = plan(cluster(3), ["tasks/common.py"])["a1"]
    block = op_named(ops, "List every cluster member in /etc/hosts")
    for ip, name in [("10.0.0.11", "m1"), ("10.0.0.13", "m3"), ("10.0.1.11", "a1")]:
        assert re.search(rf"{ip} @fake/{name}\n", block.commands[0])
    update = op_named(ops, "Refresh apt lists")
    assert "touch /var/lib/apt/periodic/update-success-stamp" in update.commands[0]


def test_sysv_generated_zookeeper_unit_is_not_re_enabled_every_run():
    enabled = {"systemctl is-enabled": ["enabled"]}
    converged = plan(cluster(1, master_responses=enabled), ["tasks/zookeeper.py"])["m1"]
    assert not any(op.name.startswith("ZooKeeper enabled at boot") for op in converged)
    fresh = plan(cluster(1), ["tasks/zookeeper.py"])["m1"]
    assert "systemctl enable zookeeper.service" in op_named(
        fresh, "ZooKeeper enabled at boot").commands


def test_changed_mesos_version_moves_the_package_and_restarts_masters_serially():
    # dpkg -l line of an installed older build; the pin now says 1.11.0-0.7.1 (group_data).
    older = {"dpkg -l": ["ii  aventer-mesos  1.10.0-1  amd64  Apache Mesos"],
             "systemctl show --all --property Id --property SubState mesos-master.service":
             ["Id=mesos-master.service", "SubState=running"],
             "cat /etc/default/mesos-master": ["MESOS_QUORUM=2"]}
    ops = plan(cluster(3, master_responses=older),
               ["tasks/mesos_package.py", "tasks/mesos_master.py"])["m1"]
    move = op_named(ops, "Move aventer-mesos to the pinned 1.11.0-0.7.1")
    assert "--allow-downgrades" in move.commands[0] and "aventer-mesos" in move.commands[0]
    restart = op_named(ops, "Restart running masters with the new config: @fake/m1 (1 of 3)")
    assert restart.global_arguments.get("_serial") is True
    assert "systemctl restart mesos-master.service" in restart.commands[0]


def test_pinned_mesos_version_installed_means_no_package_step():
    current = {"dpkg -l": ["ii  aventer-mesos  1.11.0-0.7.1+standin1  all  Apache Mesos"]}
    ops = plan(cluster(3, master_responses=current), ["tasks/mesos_package.py"])["m1"]
    assert not any(op.name.startswith("Move aventer-mesos") for op in ops)


def test_zookeeper_restarts_roll_and_wait_for_the_ensemble_once_formed():
    fresh = plan(cluster(3), ["tasks/zookeeper.py"])["m1"]
    restart = op_named(fresh, "Restart ZooKeeper")
    assert restart.global_arguments.get("_serial") is True
    # First deploy: the others still run the package's standalone config; `ruok` is enough.
    assert "echo ruok" in restart.commands[0] and "imok" in restart.commands[0]
    # A formed ensemble whose member list stays the same (e.g. a tickTime change).
    formed = {"cat /etc/zookeeper/conf/zoo.cfg": [
        f"server.{i}=10.0.0.1{i}:2888:3888" for i in (1, 2, 3)]}
    ops = plan(cluster(3, master_responses=formed), ["tasks/zookeeper.py"])["m1"]
    assert "echo srvr" in op_named(ops, "Restart ZooKeeper").commands[0]


def test_marathon_and_docker_restarts_go_one_host_at_a_time():
    running = {"systemctl show --all --property Id --property SubState marathon.service":
               ["Id=marathon.service", "SubState=running"]}
    ops = plan(cluster(3, master_responses=running), ["tasks/docker.py", "tasks/marathon.py"])
    restart = op_named(ops["m1"], "Restart Marathon")
    assert restart.global_arguments.get("_serial") is True
    assert "curl -fsS -o /dev/null http://10.0.0.11:8080/ping" in restart.commands[0]
    assert op_named(ops["a1"], "Restart Docker").global_arguments.get("_serial") is True


def test_growing_zookeeper_restarts_old_members_before_new_ones_start():
    # Growing the ensemble 3 -> 5: m1..m3 already have an ensemble zoo.cfg, m4 and m5 are new.
    formed = {"cat /etc/zookeeper/conf/zoo.cfg": ["server.1=10.0.0.11:2888:3888"],
              "systemctl is-enabled": ["enabled"]}
    groups = {"masters": [fake_host(f"m{i}", formed if i <= 3 else None, ip=f"10.0.0.{10 + i}",
                                    zookeeper_id=i) for i in range(1, 6)]}
    planned = plan(groups, ["tasks/zookeeper.py"])
    old_ops, new_ops = planned["m1"], planned["m4"]
    old_restart = op_named(old_ops, "Restart ZooKeeper ensemble members")
    new_restart = op_named(new_ops, "Restart ZooKeeper new members")
    assert not any(n.startswith("Restart ZooKeeper new members") for n in names(old_ops))
    assert not any(n.startswith("Restart ZooKeeper ensemble members") for n in names(new_ops))
    for restart in (old_restart, new_restart):
        assert restart.global_arguments["_serial"] is True
    # An old member restarted with the grown server list cannot rejoin until a majority of the
    # new list runs it: waiting for Mode there timed out on the sandbox. It waits for ruok.
    assert "echo ruok" in old_restart.commands[0]
    # By the time new members start every old one has the new list: they must join (Mode).
    assert "echo srvr" in new_restart.commands[0] and "Mode: " in new_restart.commands[0]
    # Nothing starts a new member before its restart: "ZooKeeper running" comes after it.
    order = names(new_ops)
    assert order.index(new_restart.name) < order.index("ZooKeeper running")
    # pyinfra runs each operation on every host before the next (its global order, read from
    # the planned operations): the old members' rolling restart before the new members' start.
    order = global_names(groups, ["tasks/zookeeper.py"])
    first = [next(i for i, n in enumerate(order) if n.startswith(prefix)) for prefix in (
        "Restart ZooKeeper ensemble members", "Restart ZooKeeper new members",
        "ZooKeeper running")]
    assert first == sorted(first), order


def test_first_zookeeper_deploy_waits_for_ruok_only():
    # No member has an ensemble yet: the first one restarted cannot find a quorum.
    ops = plan(cluster(3), ["tasks/zookeeper.py"])["m2"]
    restart = op_named(ops, "Restart ZooKeeper new members")
    assert "echo ruok" in restart.commands[0]


def test_zookeeper_restart_waits_for_mode_only_where_a_member_can_rejoin():
    from pyinfra_mesos.zookeeper import zookeeper_restart_waits_for_mode as waits
    three = [f"server.{i}=10.0.0.1{i}:2888:3888" for i in (1, 2, 3)]
    five = three + [f"server.{i}=10.0.0.1{i}:2888:3888" for i in (4, 5)]
    assert waits(three, three, ensemble_formed=True)          # plain config change
    assert not waits(three, five, ensemble_formed=True)       # old member, list grows
    assert waits([], five, ensemble_formed=True)              # new member, ensemble formed
    assert not waits([], three, ensemble_formed=False)        # first deploy
    assert waits(five, three, ensemble_formed=True)           # old member, list shrinks
    other = three[:2] + ["server.4=10.0.0.14:2888:3888"]
    assert not waits(three, other, ensemble_formed=True)      # a member replaced: not a shrink


def test_restart_failure_message_does_not_run_the_probe():
    import subprocess

    from pyinfra_mesos.restarts import restart_and_wait_command
    command = restart_and_wait_command("x.service", "echo `touch /nonexistent-dir/p`", 1)
    message = command.split("done; ", 1)[1]
    result = subprocess.run(["bash", "-c", message], capture_output=True, text=True, timeout=10)
    assert result.returncode == 1
    assert result.stderr.strip() == ("x.service did not pass echo `touch /nonexistent-dir/p` "
                                     "within 1 s")


# -- What the real aventer-mesos and Mesos need (docs/CONTRACTS.md, real contracts) ---------------

def env_upload(ops, prefix: str, dest: str) -> str:
    return op_named(ops, prefix).uploads[dest]


def test_master_env_points_zk_at_the_zk_file_which_the_real_wrapper_does_not_read():
    ops = plan(cluster(), ["tasks/mesos_master.py"])["m1"]
    env = env_upload(ops, "Configure mesos-master", "/etc/default/mesos-master").splitlines()
    assert "MESOS_ZK=file:///etc/mesos/zk" in env
    zk = env_upload(ops, "Configure mesos-master", "/etc/mesos/zk").strip()
    # A master's carries the Mesos ZooKeeper digest (test_zookeeper_acls.py pins the rest).
    assert re.fullmatch(r"zk://mesos:[0-9a-f]{64}@10\.0\.0\.11:2181,10\.0\.0\.12:2181,"
                        r"10\.0\.0\.13:2181/mesos", zk)


def test_agent_env_points_master_at_the_zk_file():
    ops = plan(cluster(1), ["tasks/mesos_agent.py"])["a1"]
    env = env_upload(ops, "Configure mesos-agent", "/etc/default/mesos-agent").splitlines()
    assert "MESOS_MASTER=file:///etc/mesos/zk" in env


def test_common_env_keeps_the_packagings_open_file_limit():
    ops = plan(cluster(1), ["tasks/mesos_agent.py"])["a1"]
    env = env_upload(ops, "Configure mesos-agent", "/etc/default/mesos")
    assert 'ULIMIT="-n 16384"' in env.splitlines()


CGROUP_V1 = {"/sys/fs/cgroup/systemd": [
    "user=root group=root mode=drwxr-xr-x atime=1 mtime=1 ctime=1 size=0 "
    "'/sys/fs/cgroup/systemd'"]}


@pytest.mark.parametrize(("responses", "data", "expected"), [
    (CGROUP_V1, {}, None),                    # v1 hierarchy: Mesos' default (on)
    ({}, {}, "false"),                        # cgroup v2 only (Debian 12): off, or the agent exits
    ({}, {"mesos_agent_flags": {"systemd_enable_support": "true"}}, "true"),  # operator's word
])
def test_agent_systemd_support_follows_the_hosts_cgroup_hierarchy(responses, data, expected):
    agent = fake_host("a1", responses, ip="10.0.1.11", **data)
    ops = plan({**cluster(1), "agents": [agent]}, ["tasks/mesos_agent.py"])["a1"]
    env = env_upload(ops, "Configure mesos-agent", "/etc/default/mesos-agent").splitlines()
    found = [line.split("=", 1)[1] for line in env
             if line.startswith("MESOS_SYSTEMD_ENABLE_SUPPORT=")]
    assert found == ([] if expected is None else [expected])


def test_marathon_image_is_pulled_by_the_deploy_once_with_a_clear_error():
    ops = plan(cluster(1), ["tasks/marathon.py"])["m1"]
    pull = op_named(ops, "Pull the Marathon image")
    assert pull.commands[0].startswith("docker pull -q mesosphere/marathon:v1.10.26")
    assert "(marathon_image)" in pull.commands[0]
    pulled = {"docker image inspect": ["sha256:" + "a" * 64]}
    ops = plan(cluster(1, master_responses=pulled), ["tasks/marathon.py"])["m1"]
    assert not any(op.name.startswith("Pull the Marathon image") for op in ops)


def test_marathon_restart_probe_carries_credentials_in_a_private_file():
    secret = "admin:pw-7f3e"
    running = {"systemctl show --all --property Id --property SubState marathon.service":
               ["Id=marathon.service", "SubState=running"],
               "docker image inspect": ["sha256:" + "a" * 64]}
    ops = plan(cluster(1, master_responses=running), ["tasks/marathon.py"],
               data={"marathon_http_credentials": secret})["m1"]
    curl = op_named(ops, "Install marathon.service")
    assert curl.uploads["/etc/pyinfra-mesos/marathon-curl.conf"] == f'user = "{secret}"\n'
    # Created private, then filled.
    assert curl.commands.index("install -m 0600 -o root -g root /dev/null "
                               "/etc/pyinfra-mesos/marathon-curl.conf") < curl.commands.index(
        "FileUploadCommand:/etc/pyinfra-mesos/marathon-curl.conf")
    restart = op_named(ops, "Restart Marathon")
    assert "-K /etc/pyinfra-mesos/marathon-curl.conf http://10.0.0.11:8080/ping" in \
        restart.commands[0]
    for op in ops:
        assert not any(secret in c for c in op.commands), op.name
    env = op_named(ops, "Install marathon.service").uploads["/etc/default/marathon"]
    assert f"MESOSPHERE_HTTP_CREDENTIALS={secret}" in env.splitlines()
    assert "MARATHON_HTTP_CREDENTIALS" not in env


def test_apt_waits_for_the_dpkg_lock_before_any_apt_operation():
    ops = plan(cluster(1), ["tasks/common.py"])["a1"]
    order = names(ops)
    conf = op_named(ops, "apt waits for the dpkg lock")
    assert conf.uploads["/etc/apt/apt.conf.d/50pyinfra-mesos-lock-timeout"].endswith(
        'DPkg::Lock::Timeout "300";\n')
    assert order.index(conf.name) < order.index(REFRESH)


def test_a_fresh_zookeeper_is_masked_until_configured_so_it_never_runs_the_example_config():
    ops = plan(cluster(3), ["tasks/common.py", "tasks/zookeeper.py"])["m1"]
    order = names(ops)
    install = next(op for op in ops if op.name.startswith(INSTALL))
    mask = install.commands.index("systemctl mask zookeeper.service")
    assert mask < next(i for i, c in enumerate(install.commands) if "zookeeperd" in c)
    unmask = order.index("Let ZooKeeper start, now configured (unmask)")
    assert order.index(install.name) < order.index(
        "Configure the ZooKeeper ensemble (zoo.cfg)") < unmask < order.index("ZooKeeper running")


def test_a_zookeeper_left_masked_by_a_killed_run_is_unmasked_and_nothing_else():
    installed = {"dpkg -l": ["ii  zookeeperd  3.8.0-11  all  ZooKeeper daemon"],
                 "systemctl is-enabled": ["masked"]}
    order = names(plan(cluster(3, master_responses=installed), ["tasks/zookeeper.py"])["m1"])
    assert "Let ZooKeeper start, now configured (unmask)" in order
    ops = plan(cluster(3, master_responses=installed), ["tasks/common.py"])["m1"]
    assert not any("systemctl mask zookeeper.service" in op.commands for op in ops)
    converged = {**installed, "systemctl is-enabled": ["enabled"]}
    order = names(plan(cluster(3, master_responses=converged), ["tasks/zookeeper.py"])["m1"])
    assert not any("mask" in n for n in order)


def test_docker_is_configured_before_it_first_starts():
    ops = plan(cluster(1), ["tasks/common.py", "tasks/docker.py"])["a1"]
    order = names(ops)
    install = next(op for op in ops if op.name.startswith(INSTALL))
    assert install.commands[:2] == ["systemctl mask docker.socket", "systemctl mask docker.service"]
    assert order.index(install.name) < order.index(
        "Configure Docker registries (daemon.json)") < order.index("Docker enabled and running")


def test_mesos_secrets_reach_each_host_only_as_private_files():
    planned = plan(cluster(3), ["tasks/mesos_master.py", "tasks/marathon.py",
                                "tasks/mesos_agent.py"])
    creds = op_named(planned["m1"], "Configure mesos-master")
    text = creds.uploads["/etc/pyinfra-mesos/mesos-credentials.json"]
    assert '"principal": "agent"' in text and '"principal": "marathon"' in text
    agent = op_named(planned["a1"], "Configure mesos-agent")
    assert '"principal": "agent"' in agent.uploads["/etc/pyinfra-mesos/mesos-agent-credential.json"]
    secret = op_named(planned["m1"], "Install marathon.service")
    assert ("install -m 0400 -o nobody -g nogroup /dev/null "
            "/etc/pyinfra-mesos/marathon-mesos-secret") in secret.commands
    unit = op_named(planned["m1"], "Install marathon.service").uploads[
        "/etc/systemd/system/marathon.service"]
    assert "-v /etc/pyinfra-mesos/marathon-mesos-secret:/etc/marathon/mesos-secret:ro" in unit
    for ops in planned.values():
        for op in ops:
            assert not any('"secret"' in c for c in op.commands), op.name


def lists_answer(now: int, stamp: int | None, *newer: str) -> list[str]:
    """AptListsState's output: the clock, the stamp's modification time, the inputs newer."""
    lines = [f"now={now}"]
    if stamp is not None:
        lines.append(f"mtime={stamp}")
    return lines + [f"newer={INPUT_PATHS[name]}" for name in newer]


INPUT_PATHS = {"sources": "/etc/apt/sources.list.d/aventer-mesos.list",
               "docker_pin": "/etc/apt/preferences.d/pyinfra-mesos-docker"}


def test_apt_lists_are_refreshed_when_older_than_apt_cache_time_s_or_than_an_input():
    """The lists' age and their inputs' times are one of the host's planning reads
    (AptListsState): fresh lists newer than every input run nothing, so a converged host makes
    none of apt.update's own reads; lists older than the sources line (a killed run wrote it
    and stopped) or the Docker pin are refreshed, and the stamp touched."""
    strict = [refresh_command(True, APT_UPDATE_STAMP)]
    for answer, expected in ((lists_answer(1100, 1000), []),
                             (lists_answer(999999, 1000), "lenient"),  # only old
                             (lists_answer(1100, None), strict),  # never refreshed
                             (lists_answer(1100, 1000, "sources"), strict),
                             (lists_answer(1100, 1000, "docker_pin"), strict),
                             ([], strict)):  # nothing read: as never refreshed
        ops = plan(cluster(1, agent_responses={"date +now=%s": answer}),
                   ["tasks/common.py"])["a1"]
        commands = op_named(ops, REFRESH).commands
        if expected == "lenient":
            # Lists only old: a source that fails leaves the stamp and a warning, not an error.
            assert commands == [refresh_command(False, APT_UPDATE_STAMP)], commands
        else:
            assert commands == expected, answer
    always = plan(cluster(1, agent_responses={"date +now=%s": lists_answer(1001, 1000)},
                          apt_cache_time_s=0), ["tasks/common.py"])["a1"]
    assert op_named(always, REFRESH).commands[0].startswith("if apt-get update --error-on=any;")
