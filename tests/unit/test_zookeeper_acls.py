"""ZooKeeper digest ACLs, deploy side: the zk:// URLs each host gets, the files that carry them
(0600 where a secret is), no secret in any operation's name or printed command, and one clear
line for an operator-given credential that the two products' URL parsers would read differently.

The two parsers are restated here from upstream so a URL the deploy writes is checked the way
each product reads it: Mesos apache/mesos 1.11.0 include/mesos/zookeeper/url.hpp URL::parse,
Marathon d2iq-archive/marathon v1.10.26 ZookeeperConf.scala ZkUrlPattern.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest
from test_tasks_harness import fake_host, op_named, plan

from pyinfra_mesos.credentials import ensure_all, zookeeper_credentials
from pyinfra_mesos.flags import with_zk_digest, zk_digest_problem
from pyinfra_mesos.restarts import service_inputs
from pyinfra_mesos.validation import validate
from pyinfra_mesos.zk_acl import AUTH_FILE, digest_id
from tests.unit.test_validation import SOURCE, masters, only, topo

HOSTS = "10.0.0.11:2181,10.0.0.12:2181,10.0.0.13:2181"
PLAIN_MESOS = f"zk://{HOSTS}/mesos"
PLAIN_MARATHON = f"zk://{HOSTS}/marathon"
HEX64 = re.compile(r"[0-9a-f]{64}")


# -- the two products' parsers, restated --------------------------------------------------------

def mesos_parse(url: str) -> tuple[str | None, str, str]:
    """(credentials or None, servers, path) as Mesos' URL::parse splits them."""
    s = url.strip()
    assert s.startswith("zk://")
    s = s[5:]
    path = ""
    while "/" in s:
        index = s.rindex("/")
        path = s[index:] + path
        s = s[:index]
    at = s.rfind("@")
    return (s[:at], s[at + 1:], path or "/") if at >= 0 else (None, s, path or "/")


_HOST_PORT = r"[A-z0-9-.]+(?::\d+)?"
MARATHON_ZK_URL = re.compile(
    rf"^zk://(?:([^/:]+):([^@]+)@)?({_HOST_PORT}(?:,{_HOST_PORT})*)(/[^/]+(?:/[^/]+)*)$")


def marathon_parse(url: str) -> tuple[str | None, str, str] | None:
    match = MARATHON_ZK_URL.match(url)
    if match is None:
        return None
    user, password, hosts, path = match.groups()
    return (f"{user}:{password}" if user else None, hosts, path)


# -- URL construction ---------------------------------------------------------------------------

@pytest.mark.parametrize("credentials", ["mesos:" + "ab" * 32, "marathon:" + "0f" * 32,
                                         "ops-team.zk:p4ss=w+rd!~", "u:p:with:colons",
                                         "ops@site:pw"])
def test_a_digest_url_reads_the_same_in_mesos_and_marathon(credentials: str) -> None:
    assert zk_digest_problem(credentials) is None
    url = with_zk_digest(PLAIN_MARATHON, credentials)
    assert url == f"zk://{credentials}@{HOSTS}/marathon"
    assert mesos_parse(url) == (credentials, HOSTS, "/marathon")
    assert marathon_parse(url) == (credentials, HOSTS, "/marathon")


def test_without_credentials_the_url_is_unchanged() -> None:
    assert with_zk_digest(PLAIN_MESOS, "") == PLAIN_MESOS
    assert mesos_parse(PLAIN_MESOS) == (None, HOSTS, "/mesos")
    assert marathon_parse(PLAIN_MESOS) == (None, HOSTS, "/mesos")


# Each comes back from Mesos' or Marathon's parser as something other than these credentials.
@pytest.mark.parametrize("credentials", ["us/er:pw", "user:p/w", "user:p@w", "us:er:pw@x"])
def test_credentials_a_parser_would_not_read_back_are_refused(credentials: str) -> None:
    url = f"zk://{credentials}@{HOSTS}/mesos"
    intended = (credentials, HOSTS, "/mesos")
    assert mesos_parse(url) != intended or marathon_parse(url) != intended
    assert zk_digest_problem(credentials) is not None
    with pytest.raises(ValueError) as refused:
        with_zk_digest(PLAIN_MESOS, credentials)
    assert credentials not in str(refused.value)


# Read alike, but not a usable digest: Mesos trims the URL, the carrying files are one line each,
# and ZooKeeper needs both parts.
@pytest.mark.parametrize("credentials", ["user:p w", "user:pw\n", " user:pw", "user:pä",
                                         "nopassword", ":pw", "user:", ""])
def test_unusable_credentials_are_refused(credentials: str) -> None:
    assert zk_digest_problem(credentials) is not None


# -- credentials on the operator's side ----------------------------------------------------------

def test_two_principals_generated_once_0600_and_none_with_acls_off(tmp_path: Path) -> None:
    data = {"cluster_name": "prod", "credentials_dir": "credentials"}
    ensure_all(data, tmp_path)
    mesos = zookeeper_credentials(data, tmp_path, "mesos")
    marathon = zookeeper_credentials(data, tmp_path, "marathon")
    assert mesos.startswith("mesos:") and HEX64.fullmatch(mesos.partition(":")[2])
    assert marathon.startswith("marathon:") and HEX64.fullmatch(marathon.partition(":")[2])
    for name in ("zookeeper_mesos_secret", "zookeeper_marathon_secret"):
        path = tmp_path / "credentials" / "prod" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert zookeeper_credentials(data, tmp_path, "mesos", create=True) == mesos  # stable
    off = {"cluster_name": "other", "credentials_dir": "credentials", "zookeeper_acls": False}
    ensure_all(off, tmp_path)
    assert zookeeper_credentials(off, tmp_path, "mesos", create=True) == ""
    assert not (tmp_path / "credentials" / "other" / "zookeeper_mesos_secret").exists()


def test_the_operators_value_wins_and_an_edited_secret_file_is_one_line(tmp_path: Path) -> None:
    data = {"cluster_name": "prod", "credentials_dir": "credentials",
            "zookeeper_marathon_credentials": "mara:given"}
    assert zookeeper_credentials(data, tmp_path, "marathon", create=True) == "mara:given"
    assert not (tmp_path / "credentials" / "prod" / "zookeeper_marathon_secret").exists()
    secret_file = tmp_path / "credentials" / "prod" / "zookeeper_mesos_secret"
    secret_file.parent.mkdir(parents=True)
    secret_file.write_text("has/slash\n")
    with pytest.raises(Exception) as refused:
        zookeeper_credentials(data, tmp_path, "mesos")
    line = str(refused.value)
    assert line.startswith(f"error: {secret_file}: zookeeper_mesos_credentials: ")
    assert "\n" not in line and "has/slash" not in line


def test_digest_id_is_zookeepers_generate_digest() -> None:
    # ZooKeeper's documented example: generateDigest("super:test").
    assert digest_id("super:test") == "super:D/InIHSb7yEEbrWz8b9l71RjZJU="


# -- what each host gets -----------------------------------------------------------------------

ALL_TASKS = ["tasks/common.py", "tasks/docker.py", "tasks/zookeeper.py",
             "tasks/mesos_package.py", "tasks/mesos_master.py", "tasks/marathon.py",
             "tasks/mesos_agent.py"]


def cluster(both: bool = False) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """3 masters (ZooKeeper, master, Marathon), agent a1, and m1 also an agent when `both`."""
    ms = [fake_host(f"m{i}", ip=f"10.0.0.{10 + i}", zookeeper_id=i) for i in (1, 2, 3)]
    return {"masters": ms, "agents": [fake_host("a1", ip="10.0.1.11")] + ([ms[0]] if both else [])}


def secrets_in(credentials_dir: Path) -> list[str]:
    return [p.read_text().strip() for p in (credentials_dir / "pyinfra-mesos").iterdir()]


def zk_file(ops: list[Any]) -> Any:
    """The operation that writes /etc/mesos/zk (with the role's other Mesos files)."""
    return next(op for op in ops if "/etc/mesos/zk" in op.uploads)


def is_private_file(op: Any, mode: str) -> bool:
    """private_file's signature: owner and mode set together after the upload (never diffed)."""
    return any(c.startswith("chown ") and f"&& chmod {mode} " in c for c in op.commands)


def plan_with(tmp_path: Path, **data: Any) -> dict[str, list[Any]]:
    return plan(cluster(both=data.pop("both", False)), ALL_TASKS,
                data={"credentials_dir": str(tmp_path), **data})


def test_masters_zk_file_has_the_mesos_digest_0600_agents_have_none(tmp_path: Path) -> None:
    ops = plan_with(tmp_path)
    mesos = zookeeper_credentials({"credentials_dir": str(tmp_path)}, "/", "mesos")
    master_file = zk_file(ops["m1"])
    assert master_file.uploads["/etc/mesos/zk"].strip() == f"zk://{mesos}@{HOSTS}/mesos"
    assert "install -m 0600 -o root -g root /dev/null /etc/mesos/zk" in master_file.commands
    assert "chown root:root /etc/mesos/zk && chmod 0600 /etc/mesos/zk" in master_file.commands
    agent_file = zk_file(ops["a1"])
    assert agent_file.uploads["/etc/mesos/zk"].strip() == PLAIN_MESOS
    assert not any(c.startswith("install ") and c.endswith(" /etc/mesos/zk")
                   for c in agent_file.commands)
    assert "chown root:root /etc/mesos/zk && chmod 0644 /etc/mesos/zk" in agent_file.commands
    # The env files point the flags at the file, never at a URL with credentials.
    env = op_named(ops["m1"], "Configure mesos-master").uploads["/etc/default/mesos-master"]
    assert "MESOS_ZK=file:///etc/mesos/zk" in env.splitlines()


def test_a_host_both_master_and_agent_writes_the_master_form_twice(tmp_path: Path) -> None:
    ops = plan_with(tmp_path, both=True)["m1"]
    writes = [op for op in ops if "/etc/mesos/zk" in op.uploads]
    assert len(writes) == 2                  # the master task and the agent task
    assert len({op.uploads["/etc/mesos/zk"] for op in writes}) == 1
    assert all(is_private_file(op, "0600") for op in writes)
    assert "@" in writes[0].uploads["/etc/mesos/zk"]


def test_marathon_zk_carries_its_digest_master_does_not(tmp_path: Path) -> None:
    ops = plan_with(tmp_path)["m2"]
    marathon = zookeeper_credentials({"credentials_dir": str(tmp_path)}, "/", "marathon")
    env_op = op_named(ops, "Install marathon.service")
    env = env_op.uploads["/etc/default/marathon"].splitlines()
    assert f"MARATHON_ZK=zk://{marathon}@{HOSTS}/marathon" in env
    assert f"MARATHON_MASTER={PLAIN_MESOS}" in env
    assert is_private_file(env_op, "0600")
    unit = op_named(ops, "Install marathon.service").uploads["/etc/systemd/system/marathon.service"]
    assert "zk://" not in unit and marathon.partition(":")[2] not in unit


def test_with_acls_off_no_url_carries_credentials(tmp_path: Path) -> None:
    ops = plan_with(tmp_path, zookeeper_acls=False)
    assert zk_file(ops["m1"]).uploads["/etc/mesos/zk"].strip() == PLAIN_MESOS
    env = op_named(ops["m1"], "Install marathon.service").uploads["/etc/default/marathon"]
    assert f"MARATHON_ZK={PLAIN_MARATHON}" in env.splitlines()
    assert not (tmp_path / "pyinfra-mesos" / "zookeeper_mesos_secret").exists()


def test_no_secret_in_any_operation_name_or_printed_command(tmp_path: Path) -> None:
    ops = plan_with(tmp_path, both=True)
    tokens = [s.partition(":")[2] or s for s in secrets_in(tmp_path)]
    assert len(tokens) >= 5                  # Marathon HTTP, 3 Mesos principals, 2 ZooKeeper
    for host, host_ops in ops.items():
        for op in host_ops:
            shown = " ".join(sorted(op.all_names)) + " " + " ".join(op.commands)
            leaked = [t[:8] for t in tokens if t in shown]
            assert not leaked, f"{host}: {op.name}: prints a secret starting {leaked}"
            for dest, content in op.uploads.items():
                if any(t in content for t in tokens) or dest == AUTH_FILE:
                    assert is_private_file(op, "0600") or is_private_file(op, "0400"), (
                        f"{host}: {op.name}: {dest} holds a secret but is not a private file")


def test_a_changed_credential_restarts_through_the_files_the_services_read() -> None:
    from test_tasks_harness import group_defaults
    inputs = service_inputs({"master", "agent", "marathon"}, group_defaults())
    assert "/etc/mesos/zk" in inputs["mesos-master.service"]
    assert "/etc/mesos/zk" in inputs["mesos-agent.service"]
    assert "/etc/default/marathon" in inputs["marathon.service"]


# -- validation lines ---------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("zookeeper_mesos_credentials", "mesos:pa/ss", "the password without '/' or '@'"),
    ("zookeeper_marathon_credentials", "ma/rathon:pw", "the user without '/' or ':'"),
    ("zookeeper_mesos_credentials", "mesos:pass word", "holds a space"),
    ("zookeeper_marathon_credentials", "nocolon", "user:password"),
    ("zookeeper_mesos_credentials", 42, "must be a string"),
    ("zookeeper_acls", "yes", "must be True or False"),
])
def test_bad_operator_credentials_are_one_line_naming_the_field(key: str, value: Any,
                                                                fragment: str) -> None:
    problems = validate(topo(masters=masters(m1={key: value})), SOURCE)
    p = only(problems, "m1", key)
    assert fragment in p.message
    line = p.format()
    assert line.startswith(f"error: m1: {key}: ") and "\n" not in line
    if isinstance(value, str) and ":" in value:
        assert value.partition(":")[2] not in line or value.partition(":")[2] == ""


def test_mesos_and_marathon_must_be_two_principals() -> None:
    problems = validate(topo(masters=masters(m1={"zookeeper_marathon_credentials": "mesos:x"})),
                        SOURCE)
    assert "two ZooKeeper principals" in only(problems, "m1",
                                              "zookeeper_marathon_credentials").message
    off = {"zookeeper_marathon_credentials": "mesos:x", "zookeeper_acls": False}
    assert [p for p in validate(topo(masters=masters(m1=off)), SOURCE)
            if p.field.startswith("zookeeper_")] == []


# -- the cluster check's pure parts (tests/cluster/test_zookeeper.py) ---------------------------

def test_cluster_check_paths_follow_the_data() -> None:
    from pyinfra_mesos.topology import Member
    from tests.cluster.test_zookeeper import acl_protected_paths
    on = Member("z1", "10.0.0.11", {"zookeeper_mesos_path": "/m", "zookeeper_marathon_path": "/x"})
    assert acl_protected_paths(on) == ["/m", "/x"]
    assert acl_protected_paths(Member("z1", "10.0.0.11", {"zookeeper_acls": False})) == []


def test_cluster_check_attempt_is_unauthenticated_and_reads_zkclis_refusal() -> None:
    from tests.cluster.test_zookeeper import refusal_problem, unauthenticated_create_command
    command = unauthenticated_create_command(2181, "/mesos")
    assert command == ("/usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:2181 create -e "
                       "/mesos/pyinfra-mesos-acl-probe probe 2>&1")
    assert "addauth" not in command and "digest" not in command
    refused = ("Connecting to 127.0.0.1:2181\n"
               "Insufficient permission : /mesos/pyinfra-mesos-acl-probe")
    assert refusal_problem("z1", "/mesos", refused) is None
    assert "not refused" in str(refusal_problem("z1", "/mesos",
                                                "Created /mesos/pyinfra-mesos-acl-probe"))
    assert "does not exist" in str(refusal_problem("z1", "/mesos", "Node does not exist: /mesos"))


# -- the ACL step (tasks/zookeeper.py) ---------------------------------------------------------

ACL_STEP = "ZooKeeper ACLs on the Mesos and Marathon paths (first member)"


def test_the_acl_step_runs_on_the_first_member_only_before_any_mesos_operation(
        tmp_path: Path) -> None:
    ops = plan_with(tmp_path)
    assert [h for h, host_ops in ops.items() if any(op.name == ACL_STEP for op in host_ops)] == [
        "m1"]
    names = [op.name for op in ops["m1"]]
    step = names.index(ACL_STEP)
    assert names.index("ZooKeeper running") < step
    for later in ("Configure mesos-master", "mesos-master enabled and running",
                  "Install marathon.service"):
        assert step < next(i for i, op in enumerate(ops["m1"])
                           if any(n.startswith(later) for n in op.all_names)), later
    auth = next(op for op in ops["m1"] if AUTH_FILE in op.uploads)
    assert is_private_file(auth, "0600")
    mesos = zookeeper_credentials({"credentials_dir": str(tmp_path)}, "/", "mesos")
    assert auth.uploads[AUTH_FILE].splitlines()[0] == f"addauth digest {mesos}"


def test_with_acls_off_there_is_no_acl_step_and_no_auth_file(tmp_path: Path) -> None:
    ops = plan_with(tmp_path, zookeeper_acls=False)
    assert not [op for host_ops in ops.values() for op in host_ops
                if op.name == ACL_STEP or AUTH_FILE in op.uploads]
