"""Unit tests of the pure helpers behind tests/cluster (checks) and tests/e2e (the sandbox run).

No cluster, no sandbox: connection specs, output parsers and the inventory-copy edits. The pyinfra
samples below were captured from real pyinfra 3.10.0 runs against @local; one test also runs
pyinfra for real, so an upgrade that changes the results table fails here first.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:  # `tests.*` packages live at the project root
    sys.path.insert(0, str(PROJECT_ROOT))

checks = importlib.import_module("tests.cluster.conftest")
e2e = importlib.import_module("tests.e2e.helpers")

from pyinfra_mesos.topology import Member, build_topology  # noqa: E402

# -- connection specs -----------------------------------------------------------------------------


def test_hostspec_defaults_to_root_on_port_22_by_name() -> None:
    assert checks.testinfra_hostspec("m1", {}) == "paramiko://root@m1:22"


def test_hostspec_from_pyinfra_ssh_data() -> None:
    data = {"ssh_user": "admin", "ssh_hostname": "198.51.100.11", "ssh_port": 2222,
            "ssh_key": "/var/lib/x/id ed25519"}
    spec = checks.testinfra_hostspec("m1", data)
    assert spec == ("paramiko://admin@198.51.100.11:2222"
                    "?ssh_identity_file=%2Fvar%2Flib%2Fx%2Fid+ed25519")
    # testinfra itself must read it back as the same host, port, user and key.
    from testinfra.backend import parse_hostspec

    address, kwargs = parse_hostspec(spec)
    assert address == "admin@198.51.100.11:2222"
    assert kwargs["ssh_identity_file"] == "/var/lib/x/id ed25519"


def test_hostspec_brackets_ipv6() -> None:
    assert checks.testinfra_hostspec("m1", {"ssh_hostname": "2001:db8::1"}) == (
        "paramiko://root@[2001:db8::1]:22")


@pytest.mark.parametrize(("value", "expected"), [
    (None, "yes"), ("", "yes"), ("yes", "yes"), ("ask", "yes"), ("no", "no"), ("off", "no"),
    ("No", "no"), (False, "no"), ("accept-new", "accept-new"),
])
def test_host_key_checking_is_on_unless_the_data_says_no(value: Any, expected: str) -> None:
    data = {} if value is None else {"ssh_strict_host_key_checking": value}
    assert checks.host_key_checking(data) == expected


def test_host_connection_keeps_a_real_known_hosts_file_only() -> None:
    sandbox = checks.host_connection("a1", {"ssh_known_hosts_file": "/dev/null",
                                            "ssh_strict_host_key_checking": "no"})
    assert sandbox.known_hosts_files == () and sandbox.host_key_checking == "no"
    real = checks.host_connection("a1", {"ssh_known_hosts_file": "~/.ssh/cluster_hosts"})
    assert real.known_hosts_files == ("~/.ssh/cluster_hosts",)


def test_sandbox_hosts_get_the_insecure_ssh_config(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(checks.INSECURE_SSH_CONFIG)
    connection = checks.host_connection("s1", {"ssh_hostname": "198.51.100.12",
                                               "ssh_strict_host_key_checking": "no"})
    host = checks.make_testinfra_host(connection, config)
    assert host.backend.ssh_config == str(config)
    import paramiko

    parsed = paramiko.SSHConfig.from_text(checks.INSECURE_SSH_CONFIG).lookup("198.51.100.12")
    assert parsed["stricthostkeychecking"] == "no"


def test_sandbox_hosts_without_an_ssh_config_are_refused() -> None:
    connection = checks.host_connection("s1", {"ssh_strict_host_key_checking": "no"})
    with pytest.raises(ValueError):
        checks.make_testinfra_host(connection, None)


def test_real_hosts_get_a_backend_that_refuses_unknown_keys(tmp_path: Path) -> None:
    connection = checks.host_connection("m1", {"ssh_hostname": "192.0.2.10", "ssh_user": "ops",
                                               "ssh_port": 2200})
    host = checks.make_testinfra_host(connection, tmp_path / "unused")
    backend = host.backend
    assert backend.ssh_config is None and backend.accept_new is False
    assert (backend.host.name, backend.host.user, backend.host.port) == ("192.0.2.10", "ops",
                                                                         "2200")


def test_strict_backend_rejects_an_unknown_host_key(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a known_hosts entry the connection must fail before any authentication."""
    import paramiko

    seen: dict[str, Any] = {}

    def fake_connect(self: paramiko.SSHClient, **cfg: Any) -> None:
        seen["policy"] = self._policy
        seen["cfg"] = cfg

    monkeypatch.setattr(paramiko.SSHClient, "connect", fake_connect)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/config, no known_hosts of the tester
    connection = checks.host_connection("m1", {"ssh_hostname": "192.0.2.10"})
    host = checks.make_testinfra_host(connection, None)
    host.backend.client  # noqa: B018  (the property connects)
    assert isinstance(seen["policy"], paramiko.RejectPolicy)
    assert seen["cfg"]["hostname"] == "192.0.2.10" and seen["cfg"]["port"] == 22


# -- ZooKeeper -------------------------------------------------------------------------------------

# `srvr` from Debian's zookeeper 3.8.0, captured with the same bash /dev/tcp command the checks use.
SRVR_STANDALONE = """\
Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC
Latency min/avg/max: 0/0.0/0
Received: 2
Sent: 1
Connections: 1
Outstanding: 0
Zxid: 0x0
Mode: standalone
Node count: 5
"""


def test_parse_srvr() -> None:
    parsed = checks.parse_srvr(SRVR_STANDALONE)
    assert parsed["Mode"] == "standalone"
    assert parsed["Zookeeper version"].endswith("17:54 UTC")  # colons in a value survive
    assert parsed["Zxid"] == "0x0"


def test_parse_srvr_of_garbage_has_no_mode() -> None:
    assert "Mode" not in checks.parse_srvr("srvr is not executed because it is not in the "
                                           "whitelist.\n")


@pytest.mark.parametrize("modes", [
    {"z1": "standalone"},
    {"z1": "leader", "z2": "follower", "z3": "follower"},
    {"z1": "follower", "z2": "follower", "z3": "leader", "z4": "follower", "z5": "follower"},
])
def test_healthy_ensembles(modes: dict[str, str]) -> None:
    assert checks.ensemble_problem(modes) is None


@pytest.mark.parametrize(("modes", "needle"), [
    ({"z1": "standalone", "z2": "standalone", "z3": "standalone"}, "0 leader"),  # every myid = 1
    ({"z1": "leader", "z2": "leader", "z3": "follower"}, "2 leader"),
    ({"z1": "leader", "z2": "follower", "z3": None}, "z3=no answer"),
    ({"z1": None}, "not serving"),
    ({}, "no ZooKeeper hosts"),
])
def test_unhealthy_ensembles(modes: dict[str, str | None], needle: str) -> None:
    problem = checks.ensemble_problem(modes)
    assert problem is not None and needle in problem


# -- ss, Mesos shapes, retries ---------------------------------------------------------------------


def test_parse_listening_ports() -> None:
    ss = textwrap.dedent("""\
        LISTEN 0      128               0.0.0.0:22     0.0.0.0:*
        LISTEN 0      50     [::ffff:127.0.0.1]:21810       *:*
        LISTEN 0      4096      198.51.100.11:5050     0.0.0.0:*
        LISTEN 0      4096                  *:8080           *:*
        LISTEN 0      128                  [::]:22        [::]:*
        """)
    assert checks.parse_listening_ports(ss) == {22, 21810, 5050, 8080}


def test_parse_json_object_names_what_was_fetched() -> None:
    assert checks.parse_json_object('{"leader": "a:8080"}', "x") == {"leader": "a:8080"}
    with pytest.raises(AssertionError, match="m1: /master/state: not JSON"):
        checks.parse_json_object("<html>", "m1: /master/state")
    with pytest.raises(AssertionError, match="expected a JSON object"):
        checks.parse_json_object("[]", "m1")


def test_slave_matches_member_by_hostname_or_pid_address() -> None:
    # Shapes from the documented /master/state example (slaves[].hostname, slaves[].pid).
    agent = Member("agent1", "10.0.0.40", {})
    assert checks.slave_matches_member({"hostname": "10.0.0.40"}, agent)
    assert checks.slave_matches_member({"hostname": "agent1"}, agent)
    assert checks.slave_matches_member({"hostname": "x", "pid": "slave(1)@10.0.0.40:5051"}, agent)
    assert not checks.slave_matches_member({"hostname": "10.0.0.41",
                                            "pid": "slave(1)@10.0.0.41:5051"}, agent)
    assert checks.master_pid_address("master@10.0.5.220:5050") == "10.0.5.220:5050"


def test_find_member() -> None:
    masters = (Member("m1", "10.0.0.1", {}), Member("m2", "10.0.0.2", {}))
    assert checks.find_member(masters, "10.0.0.2:5050") == masters[1]
    assert checks.find_member(masters, "m1") == masters[0]
    assert checks.find_member(masters, "10.0.0.9:5050") is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_for_returns_none_once_healthy() -> None:
    clock = FakeClock()
    answers = iter(["electing", "electing", None])
    assert checks.wait_for(lambda: next(answers), 60, 2, clock, clock.sleep) is None
    assert clock.now == 4


def test_wait_for_is_bounded_and_keeps_the_last_problem() -> None:
    clock = FakeClock()

    def failing() -> str:
        raise AssertionError(f"no leader at t={clock.now:.0f}")

    problem = checks.wait_for(failing, 10, 2, clock, clock.sleep)
    assert problem == "no leader at t=10 (still after 10 s)"


# -- inventory loading and parametrisation --------------------------------------------------------


def test_load_inventory_and_topology(tmp_path: Path) -> None:
    inventory = tmp_path / "prod.py"
    inventory.write_text(textwrap.dedent("""\
        masters = [("m1", {"ip": "10.0.0.1", "zookeeper_id": 1}),
                   ("m2", {"ip": "10.0.0.2", "zookeeper_id": 2}),
                   ("m3", {"ip": "10.0.0.3", "zookeeper_id": 3})]
        agents = [("a1", {"ip": "10.0.0.11", "ssh_user": "admin"})]
        """))
    topology = checks.topology_from_inventory(checks.load_inventory(inventory))
    assert [m.name for m in checks.members_for(topology, "zookeeper")] == ["m1", "m2", "m3"]
    assert [m.name for m in checks.members_for(topology, "cluster_host")] == ["m1", "m2", "m3",
                                                                              "a1"]
    a1 = checks.members_for(topology, "agent")[0]
    # group_data/all.py defaults reach the checks through the loader.
    assert checks.data_value(a1, "mesos_agent_port", None) == 5051
    assert checks.testinfra_hostspec(a1.name, a1.data) == "paramiko://admin@a1:22"


def test_cluster_checks_refuse_to_run_without_an_inventory() -> None:
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/cluster", "-q",
                             "-p", "no:cacheprovider"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "--inventory" in result.stderr + result.stdout


# -- pyinfra's results table -----------------------------------------------------------------------

# Captured from pyinfra 3.10.0 (`pyinfra -y @local deploy.py`), second run of a deploy with two
# idempotent operations and one server.shell (always "changes").
PYINFRA_RERUN = """\
--> Loading config...
--> Loading inventory...
--> Connecting to hosts...
    [@local] Connected

--> Preparing operation files...
    Loading: deploy.py
    [@local] Ready: deploy.py

--> Skipping change detection
--> Beginning operation run...
--> Starting operation: Make dir 
    [@local] No changes

--> Starting operation: Touch file 
    [@local] No changes

--> Starting operation: Always changes 
    [@local] Success

--> Results:
    Operation        Hosts   Success   Error   No Change   
    Make dir         1       -         -       1           
    Touch file       1       -         -       1           
    Always changes   1       1         -       -           
    Grand total      3       1         -       2           

--> Disconnecting from hosts...
"""  # noqa: W291 (pyinfra pads its table cells with trailing spaces)

# Same tool, an `_if=op.did_change` operation skipped and an `_ignore_errors` failure.
PYINFRA_IGNORED_ERROR = """\
--> Results:
    Operation                 Hosts   Success   Error   No Change   
    Make dir 2                1       -         -       1           
    Restart only if changed   1       -         -       1           
    Fails but ignored         1       -         1       -           
    Grand total               3       -         1       2           

--> Disconnecting from hosts...
"""  # noqa: W291

# Every host failed: pyinfra prints no table at all.
PYINFRA_ALL_FAILED = """\
--> Starting operation: Fails 
    [@local] Error: executed 0 commands

--> Disconnecting from hosts...
--> pyinfra error: No hosts remaining!
"""  # noqa: W291


def test_parse_rerun_finds_the_changed_operation() -> None:
    summary = e2e.parse_pyinfra_results(PYINFRA_RERUN)
    assert [op.name for op in summary.operations] == ["Make dir", "Touch file", "Always changes"]
    assert (summary.total.hosts, summary.total.changed, summary.total.errors,
            summary.total.no_change) == (3, 1, 0, 2)
    assert [op.name for op in summary.changed_operations] == ["Always changes"]
    assert "Always changes: changed on 1 host(s)" in e2e.describe_changes(summary)


def test_parse_counts_errors_and_names_ending_in_digits() -> None:
    summary = e2e.parse_pyinfra_results(PYINFRA_IGNORED_ERROR)
    assert summary.operations[0].name == "Make dir 2"
    assert summary.total.changed == 0 and summary.total.errors == 1
    assert [op.name for op in summary.failed_operations] == ["Fails but ignored"]


def test_parse_multi_host_table_with_colours() -> None:
    # Shape of print_results with 5 hosts; pyinfra colours output on a terminal.
    table = ("--> Results:\n"
             "    \x1b[1mOperation\x1b[0m   Hosts   Success   Error   No Change\n"
             "    Install packages   5       2         -       3\n"
             "    Grand total        5       2         -       3\n")
    summary = e2e.parse_pyinfra_results(table)
    assert summary.total.changed == 2 and summary.operations[0].hosts == 5


@pytest.mark.parametrize(("output", "needle"), [
    (PYINFRA_ALL_FAILED, "no pyinfra results table"),
    ("", "no pyinfra results table"),
    ("    Operation   Hosts   Success   Error   No Change\n    Make dir   1   -   -   1\n",
     "no 'Grand total'"),
    ("    Operation   Hosts   Success   Error   No Change\n    Make dir   1   one   -   1\n",
     "unexpected line"),
    ("    Operation   Hosts   Success   Error   No Change\n    A   1   1   -   -\n"
     "    Grand total   1   -   -   1\n", "add up"),
])
def test_parse_fails_loudly_on_unknown_formats(output: str, needle: str) -> None:
    with pytest.raises(e2e.SummaryFormatError, match=needle):
        e2e.parse_pyinfra_results(output)


def test_parse_real_pyinfra_runs(tmp_path: Path) -> None:
    """Run the installed pyinfra twice against @local: first run changes, second does not."""
    target = tmp_path / "out"
    (tmp_path / "deploy.py").write_text(textwrap.dedent(f"""\
        from pyinfra.operations import files
        files.directory(name="Make dir", path="{target}")
        files.file(name="Touch file", path="{target}/f", mode="644")
        """))
    pyinfra = str(Path(sys.executable).parent / "pyinfra")
    outputs = []
    for _ in range(2):
        result = subprocess.run([pyinfra, "-y", "@local", "deploy.py"], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout + result.stderr)
    first, second = (e2e.parse_pyinfra_results(out) for out in outputs)
    assert (first.total.changed, first.total.no_change) == (2, 0)
    assert (second.total.changed, second.total.errors, second.total.no_change) == (0, 0, 2)


# -- systemd stamps, inventory copy, timings ----------------------------------------------------


def test_parse_systemctl_show_and_restarts() -> None:
    shown = ("LoadState=loaded\nActiveState=active\nActiveEnterTimestampMonotonic=123\n"
             "ExecMainStartTimestampMonotonic=120\nNRestarts=0\n")
    props = e2e.parse_systemctl_show(shown)
    assert props["ActiveEnterTimestampMonotonic"] == "123"
    before = {"m1": {"zookeeper": props, "marathon": props}}
    assert e2e.restarted_services(before, before) == []
    restarted = {**props, "ActiveEnterTimestampMonotonic": "999", "NRestarts": "1"}
    after = {"m1": {"zookeeper": props, "marathon": restarted}}
    assert e2e.restarted_services(before, after) == [
        "m1: marathon: ActiveEnterTimestampMonotonic 123 -> 999, NRestarts 0 -> 1"]
    assert e2e.restarted_services(before, {"m1": {"zookeeper": props}}) == [
        "m1: marathon: no longer found"]


SANDBOX_INVENTORY = '''\
from sandbox.inventory import sandbox_host

SANDBOX = "pms"

masters = [sandbox_host(SANDBOX, f"master{i}", zookeeper_id=i) for i in (1, 2, 3)]
agents = [
    sandbox_host(SANDBOX, "agent1"),
    sandbox_host(SANDBOX, "agent2"),
]
'''


def test_sandbox_name() -> None:
    assert e2e.sandbox_name(SANDBOX_INVENTORY) == "pms"
    assert e2e.sandbox_name("SANDBOX: str = 'x'\n") == "x"
    with pytest.raises(ValueError):
        e2e.sandbox_name("masters = []\n")


def _exec_inventory(text: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    stub = "def sandbox_host(sandbox, name, **data):\n    return (name, data)\n"
    exec(text.replace("from sandbox.inventory import sandbox_host\n", stub), namespace)
    return namespace


def test_add_agent_line_adds_exactly_one_line_in_the_agents_list() -> None:
    name = e2e.next_agent_name(["agent1", "agent2", "master1"])
    assert name == "agent3"
    grown = e2e.add_agent_line(SANDBOX_INVENTORY, name)
    added = set(grown.splitlines()) - set(SANDBOX_INVENTORY.splitlines())
    assert added == {'    sandbox_host(SANDBOX, "agent3"),'}
    assert len(grown.splitlines()) == len(SANDBOX_INVENTORY.splitlines()) + 1
    assert [h[0] for h in _exec_inventory(grown)["agents"]] == ["agent1", "agent2", "agent3"]


def test_add_agent_line_handles_the_real_sandbox_inventory() -> None:
    text = (PROJECT_ROOT / "inventory" / "sandbox.py").read_text()
    grown = e2e.add_agent_line(text, "agent9")
    assert len(grown.splitlines()) == len(text.splitlines()) + 1
    assert 'sandbox_host(SANDBOX, "agent9"),' in grown


def test_add_agent_line_falls_back_to_append_for_the_tuple_form() -> None:
    text = SANDBOX_INVENTORY.replace("agents = [", "agents = ([").replace("\n]\n", "\n], {})\n")
    grown = e2e.add_agent_line(text, "agent3")
    hosts, _data = _exec_inventory(grown)["agents"]
    assert [h[0] for h in hosts] == ["agent1", "agent2", "agent3"]


def test_add_agent_line_keeps_a_qualified_callable() -> None:
    text = ('import sandbox.inventory\nSANDBOX = "x"\n'
            'agents = [sandbox.inventory.sandbox_host(SANDBOX, "a")]\n')
    assert 'sandbox.inventory.sandbox_host(SANDBOX, "agent1")' in e2e.add_agent_line(
        text, "agent1")
    with pytest.raises(ValueError):
        e2e.add_agent_line("agents = []\n", "agent1")


def test_format_timings() -> None:
    table = e2e.format_timings([("bare deploy", 312.04), ("no-op re-run", 41.5),
                                ("scale-out", None)])
    assert table.splitlines() == [
        "step          seconds",
        "------------  -------",
        "bare deploy     312.0",
        "no-op re-run     41.5",
        "scale-out         n/a",
    ]


def test_test_arguments_do_not_print_host_data() -> None:
    # pytest shows test arguments in tracebacks: no group_data, no credentials.
    topology = build_topology({"masters": [("m1", {"ip": "10.0.0.1", "zookeeper_id": 1,
                                                          "marathon_http_credentials": "u:s3"})]})
    safe = checks.redacted(topology)
    assert repr(safe.masters[0]) == "<m1 10.0.0.1>"
    assert "s3" not in repr(safe) and safe.masters[0].data["marathon_http_credentials"] == "u:s3"
    assert (safe.marathons[0].name, safe.masters[0].ip) == ("m1", topology.masters[0].ip)
