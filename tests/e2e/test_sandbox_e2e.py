"""The end-to-end run: bare sandbox hosts -> deployed, checked, converged, scaled out, torn down.

    pytest -s tests/e2e          (as root, on Linux with systemd-nspawn)

One session, in order; each step needs the one before, so they are one test with labelled steps:

1. `python -m sandbox up` on a copy of inventory/sandbox.py in a tmp dir (same SANDBOX name)
2. deploy from bare hosts (timed)             3. `pytest tests/cluster --inventory COPY`
4. deploy again: pyinfra must report ZERO changed operations (timed)
5. note every old host's service start stamps, add one agent line to the copy, `sandbox up`
   (boots only the new host), deploy again (timed: scale-out), run the checks again (the new
   agent is registered with the leader), and prove no service on an old host restarted
6. app checks: whatever tests/cluster holds for apps runs in the checks of steps 3 and 5
7. `python -m sandbox down` in a finalizer that always runs, then prove nothing is left

Logs of every subprocess: build/e2e-logs/. Timings: build/e2e-timings.txt and the terminal.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import conftest as checks

from .helpers import (
    WATCHED_SERVICES,
    SummaryFormatError,
    add_agent_line,
    describe_changes,
    format_timings,
    next_agent_name,
    parse_pyinfra_results,
    parse_systemctl_show,
    restarted_services,
    sandbox_name,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SANDBOX_INVENTORY = PROJECT_ROOT / "inventory" / "sandbox.py"
BUILD_DIR = PROJECT_ROOT / "build"
LOG_DIR = BUILD_DIR / "e2e-logs"
TIMINGS_FILE = BUILD_DIR / "e2e-timings.txt"
# Contract (docs/CONTRACTS.md, Sandbox): state per SANDBOX name, one bridge, netns pms-<host>.
STATE_ROOT = Path("/var/lib/pyinfra-mesos-sandbox")
BRIDGE = "pmsbr0"

PYTHON = sys.executable
PYINFRA = str(Path(sys.executable).parent / "pyinfra")

# Upper bounds, not expectations: a cold sandbox (golden root, images) plus apt on every host.
SANDBOX_UP_TIMEOUT_S = 1200
SANDBOX_DOWN_TIMEOUT_S = 600
DEPLOY_TIMEOUT_S = 2400
CHECKS_TIMEOUT_S = 900
LOG_TAIL_LINES = 40


@dataclass
class StepResult:
    rc: int | None  # None: killed at the timeout
    output: str
    seconds: float
    log: Path


@dataclass
class E2ERun:
    inventory: Path
    sandbox: str
    timings: dict[str, float | None] = field(default_factory=dict)


def run_logged(step: str, command: Sequence[str], timeout_s: float) -> StepResult:
    """Run one command from the project root, output to build/e2e-logs/<step>.log, bounded.

    The command gets its own process group, so a timeout kills everything it started (pyinfra's
    ssh children, the sandbox's helpers), not only the direct child.
    """
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{step}.log"
    print(f"\n[e2e] {step}: {' '.join(command)}  (log: {log})", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    with log.open("w") as handle:
        proc = subprocess.Popen(list(command), cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL,
                                stdout=handle, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        try:
            rc: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            rc = None
    seconds = time.monotonic() - started
    print(f"[e2e] {step}: exit {rc} after {seconds:.1f} s", flush=True)
    return StepResult(rc, log.read_text(errors="replace"), seconds, log)


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def require_success(step: str, result: StepResult) -> None:
    if result.rc is None:
        pytest.fail(f"{step}: timed out after {result.seconds:.0f} s (log: {result.log})\n"
                    f"{tail(result.output)}")
    if result.rc != 0:
        pytest.fail(f"{step}: exit {result.rc} (log: {result.log})\n{tail(result.output)}")


def preflight_problems() -> list[str]:
    """Why this machine cannot run the e2e tier (the tier fails with these; it never skips)."""
    problems = []
    if sys.platform != "linux":
        problems.append("the sandbox needs Linux (systemd-nspawn); use the Vagrantfile elsewhere")
    if os.geteuid() != 0:
        problems.append("the sandbox needs root (it makes a bridge, namespaces and mounts)")
    if shutil.which("systemd-nspawn") is None:
        problems.append("systemd-nspawn is missing (apt-get install systemd-container)")
    for needed in (SANDBOX_INVENTORY, PROJECT_ROOT / "sandbox" / "__main__.py",
                   PROJECT_ROOT / "deploy.py"):
        if not needed.is_file():
            problems.append(f"{needed.relative_to(PROJECT_ROOT)} is missing")
    if not Path(PYINFRA).is_file():
        problems.append(f"{PYINFRA} is missing (make venv)")
    return problems


def leftovers(sandbox: str, host_names: Sequence[str]) -> list[str]:
    """What a torn-down e2e sandbox left behind: namespaces, the bridge, mounts, processes."""
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    names = {line.split()[0] for line in netns.stdout.splitlines() if line.split()}
    found += [f"network namespace pms-{h}" for h in host_names if f"pms-{h}" in names]
    link = subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True, text=True,
                          timeout=30)
    if link.returncode == 0:
        found.append(f"bridge {BRIDGE}")
    state_dir = str(STATE_ROOT / sandbox)
    with open("/proc/self/mounts") as mounts:
        found += [f"mount {line.split()[1]}" for line in mounts if state_dir in line.split()[1]]
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit() or int(proc_dir.name) == os.getpid():
            continue
        try:
            cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue
        if state_dir in cmdline:
            found.append(f"process {proc_dir.name}: {cmdline[:120]}")
    return found


def write_timings(run: E2ERun) -> None:
    order = ["sandbox up", "bare deploy", "cluster checks", "no-op re-run",
             "sandbox up (+1 agent)", "scale-out", "cluster checks (after scale-out)",
             "sandbox down"]
    rows = [(name, run.timings.get(name)) for name in order]
    table = format_timings(rows)
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    TIMINGS_FILE.write_text(table)
    print("\n" + table, flush=True)


def sandbox_in_use(sandbox: str) -> str | None:
    """Why a sandbox already runs on this machine, or None.

    The bridge and addresses are machine-wide, and `down` of our copy (same SANDBOX name) would
    take down hosts someone else brought up: the e2e run starts only on a machine with none.
    `down` keeps state.json (artifacts, key) but empties its hosts and removes the bridge.
    """
    if subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True,
                      timeout=30).returncode == 0:
        return f"the sandbox bridge {BRIDGE} exists"
    try:
        state = json.loads((STATE_ROOT / sandbox / "state.json").read_text())
    except (OSError, ValueError):
        return None
    if isinstance(state, dict) and (state.get("hosts") or state.get("services")):
        return f"{STATE_ROOT / sandbox / 'state.json'} records running hosts or services"
    return None


@pytest.fixture(scope="module")
def e2e_run() -> Iterator[E2ERun]:
    problems = preflight_problems()
    if problems:
        pytest.fail("cannot run the e2e tier here:\n  " + "\n  ".join(problems))
    text = SANDBOX_INVENTORY.read_text()
    # The same SANDBOX name as inventory/sandbox.py: the contract makes a copy the same sandbox,
    # so `up` reuses its cached golden root and images.
    sandbox = sandbox_name(text)
    busy = sandbox_in_use(sandbox)
    if busy:
        pytest.fail(f"a sandbox is up on this machine ({busy}); the e2e run makes and removes "
                    f"its own hosts. Bring it down first: "
                    f"python -m sandbox down inventory/sandbox.py")
    workdir = Path(tempfile.mkdtemp(prefix="pyinfra-mesos-e2e-"))
    # Keep the file name: it is a pyinfra group (`sandbox`) that group_data may address.
    inventory = workdir / SANDBOX_INVENTORY.name
    inventory.write_text(text)
    run = E2ERun(inventory, sandbox)
    try:
        yield run
    finally:
        teardown(run, workdir)


def teardown(run: E2ERun, workdir: Path) -> None:
    """Always: sandbox down, then prove nothing is left. Fails the run loudly otherwise."""
    try:
        hosts = [m.name for m in _topology(run.inventory).all_members]
    except Exception as exc:  # a broken inventory copy must not stop the teardown
        print(f"[e2e] teardown: cannot list the hosts ({exc!r}); checking the bridge and mounts")
        hosts = []
    result = run_logged("sandbox-down", [PYTHON, "-m", "sandbox", "down", str(run.inventory)],
                        SANDBOX_DOWN_TIMEOUT_S)
    run.timings["sandbox down"] = result.seconds
    write_timings(run)
    left = leftovers(run.sandbox, hosts)
    shutil.rmtree(workdir, ignore_errors=True)
    if result.rc != 0 or left:
        pytest.fail(f"teardown: sandbox down exit {result.rc} (log: {result.log}); left behind: "
                    f"{left or 'nothing'}\n{tail(result.output)}")


def _topology(inventory: Path) -> Any:
    return checks.topology_from_inventory(checks.load_inventory(inventory))


def deploy(step: str, run: E2ERun, timing: str) -> StepResult:
    result = run_logged(step, [PYINFRA, "-y", str(run.inventory), "deploy.py"], DEPLOY_TIMEOUT_S)
    run.timings[timing] = result.seconds
    require_success(timing, result)
    return result


def cluster_checks(step: str, run: E2ERun, timing: str) -> None:
    result = run_logged(step, [PYTHON, "-m", "pytest", "tests/cluster", "--inventory",
                               str(run.inventory), "-p", "no:cacheprovider", "-q", "-ra"],
                        CHECKS_TIMEOUT_S)
    run.timings[timing] = result.seconds
    require_success(timing, result)


def service_stamps(inventory: Path, host_names: Sequence[str]) -> dict[str, dict[str, dict]]:
    """`{host: {unit: start properties}}` for the watched units present and active on each host."""
    topology = _topology(inventory)
    members = {m.name: m for m in topology.all_members}
    workdir = Path(tempfile.mkdtemp(prefix="pyinfra-mesos-e2e-ssh-"))
    ssh_config = workdir / "ssh_config"
    ssh_config.write_text(checks.INSECURE_SSH_CONFIG)
    stamps: dict[str, dict[str, dict]] = {}
    try:
        for name in host_names:
            member = members[name]
            host = checks.make_testinfra_host(checks.host_connection(name, member.data),
                                              ssh_config)
            stamps[name] = {}
            for unit in WATCHED_SERVICES:
                props = parse_systemctl_show(checks.run_on(
                    host, f"systemctl show -p LoadState -p ActiveState "
                          f"-p ActiveEnterTimestampMonotonic -p ExecMainStartTimestampMonotonic "
                          f"-p NRestarts {unit}.service", f"{name}: systemctl show {unit}"))
                if props.get("LoadState") == "loaded" and props.get("ActiveState") == "active":
                    stamps[name][unit] = props
            host.backend.client.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return stamps


def test_sandbox_end_to_end(e2e_run: E2ERun) -> None:
    run = e2e_run

    # 1. Bare hosts.
    result = run_logged("1-sandbox-up", [PYTHON, "-m", "sandbox", "up", str(run.inventory)],
                        SANDBOX_UP_TIMEOUT_S)
    run.timings["sandbox up"] = result.seconds
    require_success("sandbox up", result)

    # 2. Deploy from bare hosts.
    deploy("2-deploy-bare", run, "bare deploy")

    # 3. The checks users run (app checks in tests/cluster included).
    cluster_checks("3-cluster-checks", run, "cluster checks")

    # 4. A converged cluster: a re-run changes nothing on any host.
    rerun = deploy("4-deploy-noop", run, "no-op re-run")
    try:
        summary = parse_pyinfra_results(rerun.output)
    except SummaryFormatError as exc:
        pytest.fail(f"no-op re-run: {exc} (log: {rerun.log})")
    assert summary.total.changed == 0 and summary.total.errors == 0, (
        f"the re-run on a converged cluster changed {summary.total.changed} and failed "
        f"{summary.total.errors} operation-host pair(s); it must change nothing "
        f"(log: {rerun.log}):\n{describe_changes(summary)}")

    # 5. Scale out by one inventory line; nothing on the old hosts may restart.
    before_topology = _topology(run.inventory)
    old_hosts = [m.name for m in before_topology.all_members]
    before = service_stamps(run.inventory, old_hosts)
    new_agent = next_agent_name([m.name for m in before_topology.agents])
    run.inventory.write_text(add_agent_line(run.inventory.read_text(), new_agent))
    agents_now = [m.name for m in _topology(run.inventory).agents]
    assert new_agent in agents_now, (
        f"added `{new_agent}` to the inventory copy, but pyinfra's agents group is {agents_now}")

    result = run_logged("5-sandbox-up-scale", [PYTHON, "-m", "sandbox", "up",
                                               str(run.inventory)], SANDBOX_UP_TIMEOUT_S)
    run.timings["sandbox up (+1 agent)"] = result.seconds
    require_success("sandbox up (+1 agent)", result)
    deploy("5-deploy-scale-out", run, "scale-out")
    # The full checks: the leader's activated_slaves must now equal the inventory's agents, and
    # the new agent's id must be among the leader's slaves.
    cluster_checks("5-cluster-checks-scale-out", run, "cluster checks (after scale-out)")

    after = service_stamps(run.inventory, old_hosts)
    restarted = restarted_services(before, after)
    assert not restarted, ("adding an agent restarted services on existing hosts:\n  "
                           + "\n  ".join(restarted))
