"""`python -m pyinfra_mesos check` as users run it: a subprocess, offline, fast.

Every run happens with sockets disabled (a sitecustomize on PYTHONPATH): if `check` tried DNS,
SSH or any other connection, the attempt is recorded and the test fails. "Fast" is measured as
the child's CPU time, which a busy machine does not inflate the way it does wall-clock time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "inventories"

# inventory file -> a line `check` must print for it (all exit 1 unless listed in WARN_ONLY)
EXPECTED = {
    "no_masters": "error: tests/data/inventories/no_masters.py: masters: no host",
    "even_masters": "error: tests/data/inventories/even_masters.py: masters: 2 masters (m1, m2)",
    "even_zookeepers": "error: tests/data/inventories/even_zookeepers.py: zookeepers: 4 ZooKeeper",
    "missing_zookeeper_id": "error: m2: zookeeper_id: missing",
    "duplicate_zookeeper_id": "error: m3: zookeeper_id: 2 is already used by m2",
    "zookeeper_id_out_of_range": "error: m3: zookeeper_id: 256 is outside 1..255",
    "zookeeper_id_not_int": "error: m3: zookeeper_id: '3' is not an integer",
    "loopback_address": "error: m1: ip: 127.0.1.1 is a loopback address",
    "loopback_name": "error: 127.0.0.1: ip: no ip set; the host name '127.0.0.1'",
    "invalid_address": "error: a1: ip: '10.0.0.321' is not a valid IP address",
    "duplicate_address": "error: a2: ip: 10.0.0.21 is also the address of a1",
    "unknown_master_flag": ("error: m1: mesos_master_flags.work_dri: unknown aventer-mesos 1.11 "
                            "master flag (Mesos silently ignores an unknown MESOS_* variable"),
    "unknown_agent_flag": ("error: a1: mesos_agent_flags.containerizer: unknown aventer-mesos "
                           "1.11 agent flag"),
    "unknown_marathon_flag": "error: m1: marathon_flags.htp_port: unknown Marathon 1.10 flag",
    "marathon_toggle_value": "error: m1: marathon_flags.disable_ha: disable_ha is a Marathon "
                             "toggle",
    "missing_required_flag": "error: a1: mesos_agent_flags.work_dir: not allowed here: the "
                             "deploy computes it; set mesos_agent_work_dir instead",
    "wrong_quorum": "error: m1: mesos_master_flags.quorum: not allowed here: the deploy computes "
                    "it (computed from the number of masters); remove it; for 3 masters it must "
                    "be 2",
    # issue 9's cases
    "ports_with_role": "error: mesos-agent-2.example.net: mesos_resources.ports(*): task ports "
                       "[20000-32000] overlap Marathon's service ports 10000-20000",
    "ports_plain": "error: mesos-agent-2.example.net: mesos_resources.ports: task ports "
                   "[20000-32000] overlap Marathon's service ports 10000-20000",
    "ipv6_addresses": "error: mesos-master-1.example.net: ip: 2001:db8::11 is an IPv6 address; "
                      "this deploy supports IPv4 only",
    "credentials_in_marathon_flags": "error: mesos-master-1.example.net: "
                                     "marathon_flags.http_credentials: http_credentials is a "
                                     "secret; give it as marathon_http_credentials instead",
    "port_collision_zk_admin": "error: m1: zookeeper_admin_server: 8080: the ZooKeeper "
                               "AdminServer collides with the Marathon HTTP port",
    "port_collision_colocated": "error: m1: mesos_master_port: 2181: the Mesos master port "
                                "collides with the ZooKeeper client port",
    "service_ports_in_agent_range": "error: a1: mesos_resources.ports: task ports [15000-16000] "
                                    "overlap Marathon's service ports",
    "service_ports_contain_cluster_ports": "error: m1: marathon_service_port_range: 2000-6000 "
                                           "contains cluster ports 2181",
    "bad_resources": "error: a1: mesos_resources: must be a dict",
    "bad_resource_value": "error: a1: mesos_resources.mem: 'lots' is not a positive number",
    "bad_attributes": "error: a1: mesos_attributes.rack: 'row 1:a'",
    "agent_also_master": "warning: m1: groups: host is both a master and an agent",
}
WARN_ONLY = {"agent_also_master"}

NO_NETWORK = '''
import atexit, os, socket, time

def _refuse(*args, **kwargs):
    with open(os.environ["CHECK_NETWORK_LOG"], "a") as log:
        log.write(f"network attempt: {args!r}\\n")
    raise OSError("network access during an offline check")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
socket.gethostbyname = _refuse
socket.gethostbyname_ex = _refuse
def _cpu():
    with open(os.environ["CHECK_NETWORK_LOG"], "a") as log:
        log.write(f"cpu {time.process_time():.3f}\\n")

atexit.register(_cpu)
with open(os.environ["CHECK_NETWORK_LOG"], "a") as log:
    log.write("guard loaded\\n")
'''


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    network_log: str

    @property
    def cpu_seconds(self) -> float:
        return float(self.network_log.rsplit("cpu ", 1)[1].split()[0])

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


@pytest.fixture(scope="module")
def run_check(tmp_path_factory: pytest.TempPathFactory):
    guard = tmp_path_factory.mktemp("guard")
    (guard / "sitecustomize.py").write_text(NO_NETWORK)
    counter = iter(range(10**6))

    def run(*args: str, cwd: Path = ROOT) -> Run:
        log = guard / f"network-{next(counter)}.log"
        env = {**os.environ, "PYTHONPATH": str(guard), "CHECK_NETWORK_LOG": str(log)}
        env.pop("SSH_AUTH_SOCK", None)  # nothing may use an agent either
        proc = subprocess.run([sys.executable, "-m", "pyinfra_mesos", "check", *args],
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        return Run(proc.returncode, proc.stdout, proc.stderr,
                   log.read_text() if log.exists() else "")

    return run


def assert_offline(run: Run) -> None:
    assert "guard loaded" in run.network_log, "the no-network guard did not load"
    assert "network attempt" not in run.network_log, run.network_log
    assert run.cpu_seconds < 5, f"check used {run.cpu_seconds:.1f}s of CPU"


@pytest.fixture(scope="module")
def bad_runs(run_check) -> dict[str, Run]:
    """All bad inventories at once (in parallel: each run is a fresh interpreter)."""
    names = sorted(EXPECTED)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = pool.map(lambda n: run_check(f"tests/data/inventories/{n}.py"), names)
        return dict(zip(names, runs, strict=True))


def test_a_secret_in_the_wrong_key_is_never_printed(bad_runs: dict[str, Run]) -> None:
    run = bad_runs["credentials_in_marathon_flags"]
    assert "s3cret" not in run.stdout + run.stderr


def test_ipv6_refused_once_per_host(bad_runs: dict[str, Run]) -> None:
    lines = [line for line in bad_runs["ipv6_addresses"].lines if ": ip: " in line]
    assert len(lines) == 4 and all("IPv6" in line for line in lines)


def test_every_bad_inventory_has_an_expectation() -> None:
    assert {p.stem for p in BAD.glob("*.py")} == set(EXPECTED)


def test_example_production_passes(run_check) -> None:
    run = run_check("inventory/example_production.py")
    assert run.code == 0, run.stdout + run.stderr
    assert not [line for line in run.lines if line.startswith("error:")]
    assert run.lines[-1].startswith("ok: inventory/example_production.py: 0 errors")
    assert_offline(run)


def test_vagrant_inventory_passes(run_check) -> None:
    run = run_check("inventory/vagrant.py")
    assert run.code == 0, run.stdout + run.stderr
    assert_offline(run)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_inventory(bad_runs: dict[str, Run], name: str) -> None:
    run = bad_runs[name]
    assert any(line.startswith(EXPECTED[name]) for line in run.lines), run.stdout + run.stderr
    if name in WARN_ONLY:
        assert run.code == 0, run.stdout
        assert run.lines[-1].startswith("ok: ")
    else:
        assert run.code == 1, run.stdout + run.stderr
        assert run.lines[-1].startswith(f"refused: tests/data/inventories/{name}.py: ")
    assert run.stderr == ""
    assert_offline(run)


def test_runs_from_any_directory_with_project_group_data(run_check, tmp_path: Path) -> None:
    """group_data/ comes from the project root, not the caller's working directory."""
    run = run_check(str(BAD / "port_collision_zk_admin.py"), cwd=tmp_path)
    assert run.code == 1
    # marathon_http_port = 8080 only comes from group_data/all.py.
    assert any("marathon_http_port" in line for line in run.lines), run.stdout
    assert_offline(run)


def test_unloadable_inventory_names_the_file(run_check, tmp_path: Path) -> None:
    inv = tmp_path / "broken.py"
    inv.write_text('masters = [("m1", {"zookeeper_id": 1})\n')
    run = run_check(str(inv))
    assert run.code == 1
    assert run.lines[0].startswith(f"error: {inv}: inventory: cannot load: ")
    assert "Traceback" not in run.stdout + run.stderr


def test_inventory_named_after_a_role_group(run_check, tmp_path: Path) -> None:
    inv = tmp_path / "agents.py"  # fine: defines agents
    inv.write_text('masters = [("m1", {"ip": "10.0.0.1", "zookeeper_id": 1})]\n'
                   'agents = [("a1", {"ip": "10.0.0.2"})]\n')
    assert run_check(str(inv), "--apps", str(tmp_path)).code == 0
    inv = tmp_path / "masters.py"  # every host would silently become a master
    inv.write_text('agents = [("a1", {"ip": "10.0.0.2"})]\n')
    run = run_check(str(inv))
    assert run.code == 1
    assert any(line.startswith(f"error: {inv}: inventory: the file name puts every host")
               for line in run.lines), run.stdout


def test_group_override_warning(run_check, tmp_path: Path) -> None:
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "agents.py").write_text('mesos_agent_ports = "[31000-32000]"\n')
    inv = tmp_path / "prod.py"
    inv.write_text('masters = [("m1", {"ip": "10.0.0.1", "zookeeper_id": 1})]\n'
                   'agents = ([("a1", {"ip": "10.0.0.2"})], '
                   '{"mesos_agent_ports": "[31000-31500]"})\n')
    run = run_check(str(inv))
    assert run.code == 0, run.stdout
    assert any(line.startswith(f"warning: {inv}: agents.mesos_agent_ports: group 'agents'")
               for line in run.lines), run.stdout
    assert_offline(run)


def test_data_override(run_check) -> None:
    run = run_check("inventory/example_production.py", "--data", "marathon_http_port=5050")
    assert run.code == 1
    assert any("marathon_http_port" in line and "Mesos master port" in line
               for line in run.lines), run.stdout


def test_apps_dir_is_checked(run_check, tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    run = run_check("inventory/example_production.py", "--apps", str(tmp_path))
    assert run.code == 1
    assert any(line.startswith("error: ") and "broken.json" in line for line in run.lines)


@pytest.mark.parametrize("args", [(), ("inventory/nope.py",), ("inventory/vagrant.py", "--data",
                                                                 "novalue"),
                                  ("inventory/vagrant.py", "--apps", "/nonexistent/apps")])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    proc = subprocess.run([sys.executable, "-m", "pyinfra_mesos", "check", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "usage:" in proc.stderr


def test_no_command_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "pyinfra_mesos"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2


def test_load_inventory_sees_an_edited_file_in_the_same_process(tmp_path) -> None:
    """The e2e tier appends an agent line and loads the file again in one process."""
    from pyinfra_mesos.inventory_loader import load_inventory
    from pyinfra_mesos.topology import topology_from_inventory

    path = tmp_path / "grow.py"
    path.write_text('masters = [("m1", {"ip": "10.0.0.11", "zookeeper_id": 1})]\n'
                    'agents = [("a1", {"ip": "10.0.0.21"})]\n')
    assert [m.name for m in topology_from_inventory(load_inventory(str(path))).agents] == ["a1"]
    path.write_text(path.read_text() + 'agents.append(("a2", {"ip": "10.0.0.22"}))\n')
    assert [m.name for m in topology_from_inventory(load_inventory(str(path))).agents] == \
        ["a1", "a2"]


CASES = ROOT / "tests" / "data" / "cases"


def test_check_validates_instance_overrides(run_check) -> None:
    """Case check-skips-instance-overrides: check runs the deploy's apps_instances rule."""
    import shlex
    args = shlex.split((CASES / "check-skips-instance-overrides" / "command.txt").read_text())
    assert args[0] == "check"
    run = run_check(*args[1:])
    assert run.code == 1, run.stdout
    assert "error: apps_instances: hello: no app with this id (known: hello-sinatra)" in run.lines
    ok = run_check("--data", 'apps_instances={"hello-sinatra": 3}',
                   "inventory/example_production.py", "--apps", "apps")
    assert ok.code == 0, ok.stdout
    assert_offline(run)


def test_check_refuses_require_ports_held_by_haproxy(run_check) -> None:
    """Case require-ports-on-lb: HAProxy runs on the agents, so the task can never launch."""
    run = run_check("inventory/example_production.py", "--apps",
                    str(CASES / "require-ports-on-lb"))
    assert run.code == 1, run.stdout
    assert any(line.startswith(f"error: {CASES}/require-ports-on-lb/requireports.json: "
                               "requirePorts: port 8443 is a service port HAProxy binds")
               for line in run.lines), run.stdout


def test_check_refuses_what_marathon_refuses(run_check) -> None:
    """Case env-not-strings: Marathon 1.10 answers 422; check names file and env key."""
    run = run_check("inventory/example_production.py", "--apps", str(CASES / "env-not-strings"))
    assert run.code == 1, run.stdout
    assert (f"error: {CASES}/env-not-strings/mailer.json: env.SMTP_PORT: must be a string (or "
            '{"secret": name}), got a number: quote it (Marathon 1.10 rule 2.20)') in run.lines
