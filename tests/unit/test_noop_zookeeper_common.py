"""What a converged re-run of tasks/zookeeper.py and tasks/common.py reads and runs (issue 13).

A converged ZooKeeper member reads its planning facts (package, is-enabled, myid's link, its
zoo.cfg's server lines) and one set for zoo.cfg and myid, plans no package step and no command;
a current /etc/hosts block is read once and plans no files.block. The set's zoo.cfg is the text
files.template wrote before, so a deploy updated to the set rewrites (and restarts) nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from typing import Any

import pytest
from pyinfra.api.util import get_template
from pyinfra.connectors.fake import FakeConnector
from test_tasks_harness import fake_host, group_defaults, op_named, plan

from pyinfra_mesos.common import hosts_entries
from pyinfra_mesos.templates import render_template, template_path
from pyinfra_mesos.topology import build_topology
from pyinfra_mesos.zookeeper import zookeeper_servers, zookeeper_settings

ZOO_CFG = "/etc/zookeeper/conf/zoo.cfg"
MYID_LINK = "/var/lib/zookeeper/myid"
MYID = "/etc/zookeeper/conf/myid"  # Debian's link target
SET_OP = "Configure the ZooKeeper ensemble (zoo.cfg"


def cluster(responses: dict[Any, Any] | None = None) -> dict[str, list[Any]]:
    return {"masters": [fake_host(f"m{i}", responses, ip=f"10.0.0.{10 + i}", zookeeper_id=i)
                        for i in (1, 2, 3)],
            "agents": [fake_host("a1", responses, ip="10.0.1.11")]}


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


def zoo_cfg_as_files_template_wrote_it() -> bytes:
    data = group_defaults()
    template = get_template(template_path("zoo.cfg.j2"))
    return template.render(settings=zookeeper_settings(data),
                           servers=zookeeper_servers(data, build_topology(cluster()))).encode()


def test_the_sets_zoo_cfg_is_byte_for_byte_what_files_template_wrote() -> None:
    fresh = op_named(plan(cluster(), ["tasks/zookeeper.py"])["m2"], SET_OP)
    assert fresh.uploads[ZOO_CFG].encode() == zoo_cfg_as_files_template_wrote_it()


def converged_member() -> dict[Any, Any]:
    """A member after a deploy (Debian's myid link, zoo.cfg with its ensemble, running)."""
    zoo_cfg = zoo_cfg_as_files_template_wrote_it()
    return {
        "dpkg -l": ["ii  zookeeperd  3.8.0-11  all  ZooKeeper daemon"],
        "systemctl is-enabled": ["enabled"],
        MYID_LINK: ["user=root group=root mode=lrwxrwxrwx atime=1 mtime=1 ctime=1 size=24 "
                    f"'{MYID_LINK}' -> '{MYID}'"],
        f"cat {ZOO_CFG}": zoo_cfg.decode().splitlines(),
        re.compile(rf"^set --; for f in {re.escape(MYID)} "): [
            f"{hashlib.sha256(b'2' + bytes([10])).hexdigest()} 644 root root {MYID}",
            f"{hashlib.sha256(zoo_cfg).hexdigest()} 644 root root {ZOO_CFG}"],
        "--property SubState zookeeper.service": ["Id=zookeeper.service", "SubState=running"],
    }


def test_a_converged_member_reads_its_set_once_and_plans_no_command(
        fact_commands: dict[str, list[str]]) -> None:
    ops = plan(cluster(converged_member()), ["tasks/zookeeper.py"])["m2"]
    names = [op.name for op in ops]
    # No package step (the planning read already says it is there), no mask, no enable.
    assert not any(n.startswith(("Install", "Let ZooKeeper",
                                 "ZooKeeper enabled", "Set ZooKeeper myid")) for n in names)
    zk_set = op_named(ops, SET_OP)
    assert zk_set.commands == [] and set(zk_set.uploads) == set()
    assert [op.name for op in ops if op.commands] == []
    # zoo.cfg and myid in one command (the restart's will_change repeats the same command in
    # this harness, which plans without pyinfra's change check), no other read of either file
    # than the planning read of zoo.cfg's server lines and the restart check's `stat`.
    reads = [c for c in fact_commands["m2"] if MYID in c and "ActiveEnterTimestamp" not in c]
    assert len(set(reads)) == 1 and ZOO_CFG in reads[0], reads
    assert sum(1 for c in fact_commands["m2"] if "dpkg -l" in c) == 1


def test_a_changed_myid_is_written_through_the_link_and_restarts(
        fact_commands: dict[str, list[str]]) -> None:
    answers = converged_member()
    key = next(k for k in answers if isinstance(k, re.Pattern))
    answers[key] = [f"{'0' * 64} 644 root root {MYID}", answers[key][1]]
    ops = plan(cluster(answers), ["tasks/zookeeper.py"])["m2"]
    assert op_named(ops, SET_OP).commands == [
        f"FileUploadCommand:{MYID}", f"chown root:root {MYID} && chmod 0644 {MYID}"]


def test_the_first_member_keeps_its_acl_digests_private_in_the_same_set() -> None:
    ops = plan(cluster(), ["tasks/zookeeper.py"])["m1"]
    zk_set = op_named(ops, SET_OP)
    # One operation line, named per host: the first member's name says what it holds.
    assert any(n.endswith("the digests for setting the ACLs (0600, content not shown))")
               for n in zk_set.all_names)
    auth = "/etc/pyinfra-mesos/zookeeper-acl-auth"
    created = zk_set.commands.index(f"install -m 0600 -o root -g root /dev/null {auth}")
    assert zk_set.commands.index("chmod 0700 /etc/pyinfra-mesos") < created < \
        zk_set.commands.index(f"FileUploadCommand:{auth}")
    # Secrets never in a command or a name.
    digests = zk_set.uploads[auth]
    assert not any(digests.strip() in c for op in ops for c in op.commands)
    # The others hold no digests.
    assert auth not in op_named(plan(cluster(), ["tasks/zookeeper.py"])["m2"], SET_OP).uploads


def test_a_current_hosts_block_is_read_once_and_plans_no_block(
        fact_commands: dict[str, list[str]]) -> None:
    block = render_template("hosts-block.j2",
                            entries=hosts_entries(build_topology(cluster()))).rstrip("\n")
    current = {"# END pyinfra-mesos cluster members": block.split("\n")}
    ops = plan(cluster(current), ["tasks/common.py"])["a1"]
    assert not any(op.name.startswith("List every cluster member") for op in ops)
    assert sum(1 for c in fact_commands["a1"] if "pyinfra-mesos cluster members" in c) == 1
    # One member more (or fewer) than the block lists: the block is rewritten.
    stale = {"# END pyinfra-mesos cluster members": block.split("\n")[:-1]}
    ops = plan(cluster(stale), ["tasks/common.py"])["a1"]
    assert op_named(ops, "List every cluster member in /etc/hosts").commands
