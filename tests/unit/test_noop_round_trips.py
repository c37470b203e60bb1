"""Round trips a re-run pays in the task files that own files and packages (issue 13).

Operations run in lockstep across hosts and every fact is one SSH round trip, so a converged
host's cost is its operation count and its fact commands. The whole set of these task files is
planned on pyinfra @fake hosts (3 masters, m1 also the registry, 2 agents that balance load) and
the fact commands each host's connector ran are counted. Ceilings, so a regression fails:
before this change (fresh answers) m1 had 33 operations and 62 fact commands, m2 23 and 45,
a1 40 and 86; the private directory now counts here once (tasks/common.py) instead of once per
task file that writes a private file. Then the files of one component that feed one restart
decision became one file_set each (firewall rules + unit, daemon.json, each registry instance's
files, the bridge's settings + units, the agent's drop-in, apt's lock timeout) and each
"enabled and running" one units_running_enabled (one fact for both states); with
tasks/mesos_agent.py now counted too: m1 33 -> 28 operations and 57 -> 34 fact commands,
m2 23 -> 21 and 40 -> 27, a1 46 -> 40 and 86 -> 60. Then tasks/mesos_master.py counted too
(m1 37 operations / 51 fact commands, m2 30 / 44, a1 40 / 60) and each Mesos role's files
(directories, env files, /etc/mesos/zk, credential, the agent's drop-in) one file_set, the
agent's Docker and agent starts one units_running_enabled, mesos-master's one: m1 37 -> 32 and
51 -> 40, m2 30 -> 25 and 44 -> 33, a1 40 -> 32 and 60 -> 46. Then tasks/zookeeper.py counted
too (m1 42 / 59, m2 33 / 50, a1 32 / 46), and zoo.cfg, myid and the first member's ACL digests one
set (its package's install planned only when missing), the private directory in common's first
set, /etc/hosts read once (files.block planned only when the block differs), the bridge's
modules, credentials, settings and units one set with HAProxy and its timer one start, the
registry's storage in its config set, the conditional reloads, runs and restarts plain shell
with `_if` (no unit state read while planning): m1 42 -> 39 and 59 -> 51, m2 33 -> 32 and
50 -> 46, a1 32 -> 29 and 46 -> 42 (fresh answers; a converged host saves more, see the tests
of converged sets below). Then tasks/marathon.py counted too (m1 51 / 66, m2 44 / 61, a1 29 / 43
at that commit), its API credentials, curl config, Mesos secret (0400, nobody's: file_set's
`owners`), env file and unit one set (its own daemon-reload), "enabled and running" one
units_running_enabled, and mesos_package's unused unit stopped and disabled with one read:
m1 51 -> 46 and 66 -> 58, m2 44 -> 39 and 61 -> 53, a1 43 -> 42 fact commands. Then the package
list read once per host while planning (deploy/planning_facts.py; it was read by ZooKeeper's
install guard and three times for "does this run move the Mesos package"): m1 57 -> 55,
m2 52 -> 50, a1 42 -> 40 fact commands here (planning alone: 4 -> 1 package reads a master).
Then the package list read once per host for every install (deploy/packages.py), every unit the
deploy manages in one `systemctl show` per host (units.unit_states) and the facts kept until
one of the host's operations runs commands (planning_facts.fact_until_change): m1 55 -> 46,
m2 50 -> 40, a1 40 -> 34 fact commands.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from pyinfra.connectors.fake import FakeConnector
from test_tasks_harness import fake_host, op_named, plan

from pyinfra_mesos import haproxy_bridge
from pyinfra_mesos.mesos_package import MESOS_KEYRING

TASKS = ["tasks/common.py", "tasks/firewall.py", "tasks/docker.py", "tasks/zookeeper.py",
         "tasks/mesos_package.py", "tasks/mesos_master.py", "tasks/mesos_agent.py",
         "tasks/marathon.py", "tasks/haproxy.py", "tasks/registry.py"]
BRIDGE = {f"/usr/local/lib/pyinfra-mesos/pyinfra_mesos/{Path(p).name}": Path(p).read_bytes()
          for p in haproxy_bridge.BRIDGE_FILES}
BRIDGE_OP = "Install the Marathon -> HAProxy bridge"
# (operations, fact commands) per host, at most. A Marathon host's Docker restart takes a turn
# per Marathon host and a last one for the leader (tasks/docker.py): 3 operations more there. An
# agent reads its drain marker (deploy/drained_restart.py): one fact more here, where the task
# files run without deploy.py's read_deferred; a deploy makes it in the host's one batched read.
CEILINGS = {"m1": (49, 46), "m2": (42, 40), "a1": (29, 35)}


def file_set_read(first: str) -> re.Pattern[str]:
    """The fake answer's key for deploy/file_set.py's read whose first path is `first`
    (regex-escaped)."""
    return re.compile(rf"^set --; for f in {first} ")


def cluster(agent_responses: dict[Any, Any] | None = None,
            master_responses: dict[Any, Any] | None = None) -> dict[str, list[Any]]:
    masters = [fake_host(f"m{i}", master_responses, ip=f"10.0.0.{10 + i}", zookeeper_id=i)
               for i in (1, 2, 3)]
    return {"masters": masters, "registry": [masters[0]],
            "agents": [fake_host(f"a{i}", agent_responses, ip=f"10.0.1.{10 + i}")
                       for i in (1, 2)]}


@pytest.fixture
def fact_commands(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Host name -> every command its fake connector ran (facts: planning never runs ops)."""
    seen: dict[str, list[str]] = defaultdict(list)
    original = FakeConnector.run_shell_command

    def record(self: FakeConnector, command: Any, *args: Any, **kwargs: Any) -> Any:
        text = command if isinstance(command, str) else command.get_masked_value()
        seen[self.host.name.removeprefix("@fake/")].append(text)
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(FakeConnector, "run_shell_command", record)
    return seen


def test_operations_and_fact_commands_per_host_stay_under_their_ceilings(
        fact_commands: dict[str, list[str]]) -> None:
    planned = plan(cluster(), TASKS)
    for name, (max_ops, max_facts) in CEILINGS.items():
        assert len(planned[name]) <= max_ops, (name, [op.name for op in planned[name]])
        assert len(fact_commands[name]) <= max_facts, (name, fact_commands[name])


def test_private_directory_is_made_once_per_host_by_commons_first_set() -> None:
    tasks = ["tasks/common.py", "tasks/zookeeper.py", "tasks/mesos_master.py",
             "tasks/marathon.py", "tasks/mesos_agent.py", "tasks/haproxy.py"]
    planned = plan(cluster(), tasks, data={"marathon_http_credentials": "ops:pw-1"})
    for name, ops in planned.items():
        assert not any(op.name.startswith("Directory for the deploy's private") for op in ops)
        made = [op for op in ops if "chmod 0700 /etc/pyinfra-mesos" in op.commands]
        # Once, early: in tasks/common.py's first set, before any private file.
        assert len(made) == 1 and ops.index(made[0]) == 0, name
        assert made[0].name.startswith("apt waits for the dpkg lock (bounded)")
        assert made[0].name.endswith("; the private files' directory (0700)")
    # A task file alone still makes it: in its own set, or as an operation of its own.
    alone = plan(cluster(), ["tasks/haproxy.py"], data={"marathon_http_credentials": "ops:pw-1"})
    assert "chmod 0700 /etc/pyinfra-mesos" in op_named(alone["a1"], BRIDGE_OP).commands
    alone = plan(cluster(), ["tasks/mesos_master.py"])
    op_named(alone["m1"], "Directory for the deploy's private files (0700)")


def bridge_set(data: dict[str, Any] | None = None) -> dict[str, bytes]:
    """The load balancer's bridge set as a fresh plan uploads it: path -> content."""
    op = op_named(plan(cluster(), ["tasks/haproxy.py"], data)["a1"], BRIDGE_OP)
    return {path: text.encode() for path, text in op.uploads.items()}


def set_answer(files: dict[str, bytes], private: frozenset[str] = frozenset()) -> list[str]:
    """FileSetState's lines for `files` all in place (0600 for `private`, else 0644)."""
    return [f"{hashlib.sha256(c).hexdigest()} {600 if p in private else 644} root root {p}"
            for p, c in sorted(files.items())]


def test_a_converged_bridge_is_one_fact_and_no_command(
        fact_commands: dict[str, list[str]], tmp_path: Path) -> None:
    # Modules, credentials (private), settings and units: one set.
    data = {"marathon_http_credentials": "ops:pw-1", "credentials_dir": str(tmp_path)}
    files = bridge_set(data)
    assert set(BRIDGE) < set(files) and "/etc/pyinfra-mesos/marathon-credentials" in files
    assert files["/usr/local/lib/pyinfra-mesos/pyinfra_mesos/haproxy_bridge.py"] == BRIDGE[
        "/usr/local/lib/pyinfra-mesos/pyinfra_mesos/haproxy_bridge.py"]
    first = re.escape(sorted(files)[0])
    # Alone, the task file's set also holds the private files' directory.
    lines = [*set_answer(files, frozenset({"/etc/pyinfra-mesos/marathon-credentials"})),
             "directory 700 root root /etc/pyinfra-mesos"]
    fact_commands.clear()
    ops = plan(cluster({file_set_read(first): lines}), ["tasks/haproxy.py"],
               data)["a1"]
    assert op_named(ops, BRIDGE_OP).commands == []
    assert sum(1 for c in fact_commands["a1"] if sorted(BRIDGE)[0] in c) == 1


def test_a_current_mesos_key_is_one_fact_and_no_download(
        fact_commands: dict[str, list[str]]) -> None:
    current = {"gpg --show-keys": ["present", "gpg", "pub:0", "fpr:ABCD"]}
    ops = plan(cluster(current, current), ["tasks/common.py"],
               data={"mesos_apt_key_fingerprint": "abcd"})["a1"]
    assert op_named(ops, "Download the aventer-mesos apt key").commands == []
    # The lists' read names the keyring too (an apt input: apt_lists.py); the key's own is gpg's.
    assert sum(1 for c in fact_commands["a1"] if MESOS_KEYRING in c and "gpg" in c) == 1


def test_file_set_uploads_only_what_differs_and_fixes_only_a_wrong_mode() -> None:
    files = bridge_set()
    paths = sorted(BRIDGE)
    lines = set_answer(files)
    changed = next(i for i, line in enumerate(lines) if line.endswith(paths[0]))
    loosened = next(i for i, line in enumerate(lines) if line.endswith(paths[1]))
    lines[changed] = f"{'0' * 64} 644 root root {paths[0]}"  # changed content
    lines[loosened] = lines[loosened].replace(" 644 ", " 666 ")  # same content, loosened
    first = re.escape(sorted(files)[0])
    ops = plan(cluster({file_set_read(first): lines}), ["tasks/haproxy.py"])["a1"]
    assert op_named(ops, BRIDGE_OP).commands == [
        f"FileUploadCommand:{paths[0]}",
        f"chown root:root {paths[0]} && chmod 0644 {paths[0]}",
        f"chown root:root {paths[1]} && chmod 0644 {paths[1]}",
    ]


def test_a_converged_mesos_role_is_one_fact_and_no_command(
        fact_commands: dict[str, list[str]], tmp_path: Path) -> None:
    # The agent's files as the set would write them (read off a fresh plan with the same
    # generated secrets), all in place.
    data = {"credentials_dir": str(tmp_path)}
    fresh = op_named(plan(cluster(), ["tasks/mesos_agent.py"], data)["a1"],
                     "Configure mesos-agent")
    private = {"/etc/default/mesos-agent", "/etc/pyinfra-mesos/mesos-agent-credential.json"}
    lines = [f"{hashlib.sha256(text.encode()).hexdigest()} {600 if p in private else 644} "
             f"root root {p}" for p, text in sorted(fresh.uploads.items())]
    lines += [f"directory {mode} root root {d}" for d, mode in
              (("/etc/mesos", 755), ("/var/lib/mesos/agent", 750), ("/var/log/mesos", 755))]
    first = re.escape(sorted(fresh.uploads)[0])
    fact_commands.clear()
    ops = plan(cluster({file_set_read(first): lines}),
               ["tasks/mesos_agent.py"], data)["a1"]
    assert op_named(ops, "Configure mesos-agent").commands == []
    # The set is read by one command naming all of it (the harness plans without pyinfra's
    # change check, so the restart's will_change reads it again: the same command), and no
    # other fact checks a file of it (the restart check's `stat` of its inputs and the
    # checkpoint guard's read of the env's flags are other questions).
    reads = [c for c in fact_commands["a1"] if "/etc/mesos/zk" in c
             and "ActiveEnterTimestamp" not in c]
    assert len(set(reads)) == 1 and reads[0].startswith("set --; for f in"), reads
    assert all(p in reads[0] for p in [*fresh.uploads, "/var/lib/mesos/agent"])


def test_a_role_set_fixes_only_a_loosened_directory_and_fills_a_missing_secret_privately(
        ) -> None:
    fresh = op_named(plan(cluster(), ["tasks/mesos_agent.py"])["a1"], "Configure mesos-agent")
    credential = "/etc/pyinfra-mesos/mesos-agent-credential.json"
    lines = [f"{hashlib.sha256(text.encode()).hexdigest()} "
             f"{600 if p == '/etc/default/mesos-agent' else 644} root root {p}"
             for p, text in sorted(fresh.uploads.items()) if p != credential]
    lines += [f"missing - - - {credential}", "directory 755 root root /etc/mesos",
              "directory 777 root root /var/lib/mesos/agent",
              "directory 755 root root /var/log/mesos"]
    first = re.escape(sorted(fresh.uploads)[0])
    ops = plan(cluster({file_set_read(first): lines}),
               ["tasks/mesos_agent.py"])["a1"]
    assert op_named(ops, "Configure mesos-agent").commands == [
        "chmod 0750 /var/lib/mesos/agent",
        "mkdir -p /etc/pyinfra-mesos",
        f"install -m 0600 -o root -g root /dev/null {credential}",
        f"FileUploadCommand:{credential}",
        f"chown root:root {credential} && chmod 0600 {credential}",
    ]


MARATHON_SET = "Install marathon.service"
NOBODY = "/etc/pyinfra-mesos/marathon-mesos-secret"


def marathon_lines(files: dict[str, bytes], secret_owner: str = "nobody nogroup") -> list[str]:
    """FileSetState's lines for Marathon's set all in place: the secret 0400 `secret_owner`,
    the unit 0644, the rest 0600 root's."""
    lines = []
    for path, content in sorted(files.items()):
        mode, owner = ((400, secret_owner) if path == NOBODY
                       else (644, "root root") if path.endswith(".service") else (600, "root root"))
        lines.append(f"{hashlib.sha256(content).hexdigest()} {mode} {owner} {path}")
    return [*lines, "directory 700 root root /etc/pyinfra-mesos"]


def test_a_converged_marathon_is_one_set_read_and_no_command(
        fact_commands: dict[str, list[str]], tmp_path: Path) -> None:
    data = {"marathon_http_credentials": "ops:pw-1", "credentials_dir": str(tmp_path)}
    fresh = op_named(plan(cluster(), ["tasks/marathon.py"], data)["m1"], MARATHON_SET)
    files = {path: text.encode() for path, text in fresh.uploads.items()}
    assert {NOBODY, "/etc/default/marathon", "/etc/systemd/system/marathon.service",
            "/etc/pyinfra-mesos/marathon-curl.conf"} <= set(files)
    # Created nobody's and private before it is filled; a new unit reloads systemd.
    assert f"install -m 0400 -o nobody -g nogroup /dev/null {NOBODY}" in fresh.commands
    assert fresh.commands[-1] == "systemctl daemon-reload"
    answer = {file_set_read(re.escape(sorted(files)[0])): marathon_lines(files)}
    fact_commands.clear()
    ops = plan(cluster(master_responses=answer), ["tasks/marathon.py"], data)["m1"]
    assert op_named(ops, MARATHON_SET).commands == []
    reads = [c for c in fact_commands["m1"] if "/etc/default/marathon" in c
             and "ActiveEnterTimestamp" not in c]
    assert len(set(reads)) == 1 and all(p in reads[0] for p in files)


def test_a_secret_of_another_owner_is_given_back_to_its_owner_only(tmp_path: Path) -> None:
    data = {"marathon_http_credentials": "ops:pw-1", "credentials_dir": str(tmp_path)}
    fresh = op_named(plan(cluster(), ["tasks/marathon.py"], data)["m1"], MARATHON_SET)
    files = {path: text.encode() for path, text in fresh.uploads.items()}
    answer = {file_set_read(re.escape(sorted(files)[0])):
              marathon_lines(files, secret_owner="root root")}
    ops = plan(cluster(master_responses=answer), ["tasks/marathon.py"], data)["m1"]
    assert op_named(ops, MARATHON_SET).commands == [
        f"chown nobody:nogroup {NOBODY} && chmod 0400 {NOBODY}"]
