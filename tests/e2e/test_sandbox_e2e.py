"""The end-to-end run: bare sandbox hosts -> deployed, checked, converged, scaled out, torn down.

    pytest -s tests/e2e                      (as root, on Linux with systemd-nspawn)
    pytest -s tests/e2e -k grow_masters      (one phase alone, on a freshly deployed cluster)

One cluster per session (the module's `e2e_run` fixture), shared by the phases, one test each,
run in this order (each test's name carries its number):

1-2. `python -m sandbox up` on a copy of inventory/sandbox.py in a tmp dir (same SANDBOX name),
   then the deploy from bare hosts (timed). Every other phase builds this first when run alone.
3. `pytest tests/cluster --inventory COPY` and `python -m pyinfra_mesos status`
   3b-3e. secure by default: Marathon 401s anonymous requests; a scan from a sandbox host
   outside the inventory finds only SSH and the service ports; the masters refuse
   unauthenticated agents and writes; ZooKeeper refuses writes under /mesos and /marathon
   without the digest; the registry refuses an anonymous push
4. deploy again: pyinfra must report ZERO changed operations (timed); 4b. a bad inventory is
   refused before any host is touched; 4c. no secret in any output mode, none readable by
   other users, none on a command line
5. add one agent line to the copy, `sandbox up` (boots only the new host), a deploy SIGKILLed
   while the new agent's apt installs Docker, then the deploy again (timed: scale-out) which
   must finish it, the checks again, and no service on an old host restarted
6. app scaling through deploy_apps.py (3 then 1): Marathon, the containers and every load
   balancer agree; 6b. apps in the forms Marathon rewrites converge
7. Marathon stopped on every host: every haproxy.cfg stays byte-identical, the app answers
8. Mesos master failover under load: SIGKILL the leading master; another is elected in bounded
   time, and no request through the load balancers fails; 8b. faults under load, each with
   zero failed requests and its recovery time: SIGKILL of the leading Marathon, stop of the
   ZooKeeper leader
9. grow masters 3 -> 5 under load through every load balancer (zero failures), then the
   checks and a zero-change re-run
10. backup, /marathon deleted, restore: the app comes back; checks; zero-change re-run
11. a deploy SIGKILLed between the masters' config write and their restart: the checks catch
   the drift, the re-run restarts them, the next run changes nothing
12. (phase_upgrade.py) rolling upgrade and downgrade under load; 12b. (phase_docker_restart.py)
   docker.io moved to a second build and back by deploys under load, Docker restarted on every
   Docker host, each agent drained first
13. (phase_shrink.py) shrink masters 5 -> 3 under load: the newest cut off for good (its veth
   down, as 8c), `remove` the two newest with `--dead` for it, their lines deleted, the
   deploy refused without mesos_allow_master_removal, then the quorum lowered with it
   (replicated logs kept), the checks and a zero-change re-run
Last, `python -m sandbox down` in the fixture's finalizer, which always runs, then proof that
nothing is left.

After a failed phase the cluster is in an unknown state: the later phases fail at once naming
it (never skipped). Phases 6-8 talk HTTP to the hosts straight from this machine (the sandbox
bridge routes here) and run commands over SSH.

Logs of every subprocess: build/e2e-logs/. Timings: build/e2e-timings.txt and the terminal.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos import haproxy_bridge
from pyinfra_mesos.credentials import zookeeper_credentials
from pyinfra_mesos.flags import parse_env_lines
from tests.cluster import conftest as checks

from . import diagnostics
from .helpers import (
    WATCHED_SERVICES,
    SummaryFormatError,
    add_agent_line,
    add_master_line,
    app_scale_problem,
    backends_problem,
    changed_checksums,
    describe_changes,
    format_timings,
    framework_problem,
    leader_agreement,
    longest_outage,
    marathon_task_addresses,
    next_agent_name,
    operation_hosts,
    parse_master_pid,
    parse_mesos_duration,
    parse_pyinfra_results,
    parse_sha256sum,
    parse_systemctl_show,
    restarted_services,
    sandbox_name,
    utc_clock,
)
from .phase_docker_restart import phase_docker_restart
from .phase_drain import phase_drain
from .phase_readd_agent import phase_readd_agent
from .phase_remove_agent import phase_remove_agent
from .phase_shrink import phase_shrink
from .phase_upgrade import phase_upgrade

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
# deploy_apps.py waits up to apps_deploy_timeout_s (300) for a deployment; this caps the whole run.
APPS_DEPLOY_TIMEOUT_S = 900

# The app of phases 6-8 (apps/hello-sinatra.json) and what it answers through every LB.
APP_ID = "hello-sinatra"
APP_IMAGE = "pyinfra-mesos/hello-sinatra:1.0"
APP_SERVICE_PORT = 9000
APP_PATH = "/greet/world"
APP_BODY = "Hello world!"
HAPROXY_CONFIG = haproxy_bridge.HAPROXY_CONFIG
BRIDGE_UNIT = haproxy_bridge.BRIDGE_UNIT
BRIDGE_UNREACHABLE_LOG = "Marathon unreachable"
HTTP_TIMEOUT_S = 5
# A settled cluster answers at once; these bound waits for what follows a change.
SETTLE_TIMEOUT_S = 60.0
BRIDGE_SLACK_S = 5.0  # on top of two bridge intervals: a bridge run, haproxy -c and a reload
MARATHON_BACK_TIMEOUT_S = 180.0  # `systemctl start marathon` pulls the image, then elects
FAILOVER_SLACK_S = 15.0  # on top of mesos_zk_session_timeout
# The killed master comes back after its unit's RestartSec (20 s) and must rejoin.
FAILOVER_SETTLE_TIMEOUT_S = 120.0
POLL_S = 0.5
# Phase 9: after the growth deploy (which waits for every restart) the new members join, the
# agents re-register and Marathon on the new hosts elects/pulls: bounded, not expected.
GROW_SETTLE_TIMEOUT_S = 180.0
AVAILABILITY_INTERVAL_S = 1.0
AVAILABILITY_TIMEOUT_S = 2.0


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
    deployed: bool = False  # the sandbox is up and the bare deploy succeeded
    failed_phase: str | None = None  # the first phase that failed; the cluster state is unknown
    removed_agent: str | None = None  # phase 14's agent, which phase 15 adds back


@contextmanager
def phase(run: E2ERun, name: str, needs_cluster: bool = True) -> Iterator[None]:
    """One e2e phase: fails at once, naming the phase, when an earlier one failed (its cluster
    is in an unknown state); builds the deployed cluster first when the phase needs it and it
    was not built yet (a phase run alone); records the phase as failed when it raises."""
    if run.failed_phase is not None:
        pytest.fail(f"not run: the phase '{run.failed_phase}' failed before it and left the "
                    "cluster in an unknown state")
    print(f"\n[e2e] === phase: {name} ===", flush=True)
    started = time.time()
    try:
        if needs_cluster:
            ensure_deployed(run)
        yield
    except BaseException:
        run.failed_phase = name
        if run.deployed:
            keep_journals(run, name, started, "failed")
        raise
    if os.environ.get(diagnostics.ALWAYS_ENV) == "1":
        keep_journals(run, name, started, "passed")


def keep_journals(run: E2ERun, name: str, since_epoch: float, outcome: str) -> None:
    """The hosts' journals since the phase began, for the CI log's reader (diagnostics.py)."""
    try:
        with Hosts(run.inventory) as hosts:
            paths = diagnostics.dump_hosts(hosts, since_epoch, LOG_DIR, diagnostics.slug(name))
        print(f"[e2e] journals of the {outcome} phase: {len(paths)} files under {LOG_DIR}",
              flush=True)
        if outcome == "failed":  # a CI keeps only what is printed
            for path in paths:
                if "-journal-" in path.name:
                    lines = diagnostics.digest(path.read_text().splitlines())
                    print(f"[e2e] {path.name}: {len(lines)} notable line(s)\n"
                          + "".join(f"    {line}\n" for line in lines), flush=True)
    except Exception as exc:  # the phase's own failure is what the run must report
        print(f"[e2e] could not keep the failed phase's journals: {exc}", flush=True)


def ensure_deployed(run: E2ERun) -> None:
    """Phases 1-2 once per run: `sandbox up` on the inventory copy, then the deploy from bare
    hosts (both timed)."""
    if run.deployed:
        return
    result = run_logged("1-sandbox-up", [PYTHON, "-m", "sandbox", "up", str(run.inventory)],
                        SANDBOX_UP_TIMEOUT_S)
    run.timings["sandbox up"] = result.seconds
    require_success("sandbox up", result)
    first_deploy_killed_at_zookeeper_start(run)
    deploy("2-deploy-bare", run, "bare deploy re-run after the kill")
    run.timings["bare deploy"] = (run.timings["bare deploy re-run after the kill"] or 0.0) + \
        (run.timings["bare deploy killed at ZooKeeper's first start"] or 0.0)
    run.deployed = True


# A first deploy starts every member at once (no ensemble to keep serving yet), in this operation.
ZOOKEEPER_FIRST_START_OP = "tasks/zookeeper.py | ZooKeeper running"


def zookeeper_answers_ruok(ip: str, port: int, timeout_s: float = 1.0) -> bool:
    """`ruok` -> `imok`: the server runs (alone or in an ensemble), asked from this machine."""
    return zookeeper_command(ip, port, "ruok", timeout_s) == "imok"


def first_deploy_killed_at_zookeeper_start(run: E2ERun) -> None:
    """2a. The first deploy is SIGKILLed as ZooKeeper first starts, once a member answers: before
    the ACLs, the masters and everything after. The members were masked until configured, so
    none ever ran Debian's standalone example config (no split ensemble for the re-run to
    inherit); the re-run (phase 2) must finish the cluster, which the checks (phase 3) prove and
    the no-op re-run (phase 4) confirms."""
    members = [(m.name, m.ip, int(checks.data_value(m, "zookeeper_client_port", None)))
               for m in _topology(run.inventory).zookeepers]

    def some_member_started() -> bool:
        return any(zookeeper_answers_ruok(ip, port, 0.5) for _, ip, port in members)

    killed = run_killed_at("2-deploy-bare-killed", [PYINFRA, "-y", str(run.inventory),
                                                    "deploy.py"],
                           f"Starting operation: {ZOOKEEPER_FIRST_START_OP}",
                           DEPLOY_TIMEOUT_S, when=some_member_started)
    run.timings["bare deploy killed at ZooKeeper's first start"] = killed.seconds
    running = [name for name, ip, port in members if zookeeper_answers_ruok(ip, port)]
    print(f"[e2e] first deploy SIGKILLed after {killed.seconds:.1f} s with ZooKeeper running on "
          f"{running} of {[name for name, _, _ in members]}", flush=True)


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
    # Every step in the order the phases ran it (a phase that never ran is not listed; one that
    # failed shows what it had measured). "sandbox down" last.
    order = [name for name in run.timings if name != "sandbox down"] + ["sandbox down"]
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


class Hosts:
    """SSH (testinfra) to the inventory's hosts, one cached connection per host.

    `with Hosts(inventory) as hosts:`; `hosts.run(name, command, what)` is stdout or an
    AssertionError naming `what`. The topology (group_data merged) is `hosts.topology`.
    """

    def __init__(self, inventory: Path) -> None:
        self.topology = _topology(inventory)
        self.members = {m.name: m for m in self.topology.all_members}
        self._workdir = Path(tempfile.mkdtemp(prefix="pyinfra-mesos-e2e-ssh-"))
        self._ssh_config = self._workdir / "ssh_config"
        self._ssh_config.write_text(checks.INSECURE_SSH_CONFIG)
        self._hosts: dict[str, Any] = {}

    def __enter__(self) -> Hosts:
        return self

    def __exit__(self, *exc: object) -> None:
        for host in self._hosts.values():
            try:
                host.backend.client.close()
            except Exception:  # closing is best effort
                pass
        shutil.rmtree(self._workdir, ignore_errors=True)

    def host(self, name: str) -> Any:
        if name not in self._hosts:
            connection = checks.host_connection(name, self.members[name].data)
            self._hosts[name] = checks.make_testinfra_host(connection, self._ssh_config)
        return self._hosts[name]

    def run(self, name: str, command: str, what: str) -> str:
        return checks.run_on(self.host(name), command, f"{name}: {what}")

    def data(self, key: str, member: Any = None) -> Any:
        member = member or self.topology.all_members[0]
        return checks.data_value(member, key, None)


def service_stamps(inventory: Path, host_names: Sequence[str]) -> dict[str, dict[str, dict]]:
    """`{host: {unit: start properties}}` for the watched units present and active on each host."""
    stamps: dict[str, dict[str, dict]] = {}
    with Hosts(inventory) as hosts:
        for name in host_names:
            stamps[name] = {}
            for unit in WATCHED_SERVICES:
                props = parse_systemctl_show(hosts.run(
                    name, f"systemctl show -p LoadState -p ActiveState "
                          f"-p ActiveEnterTimestampMonotonic -p ExecMainStartTimestampMonotonic "
                          f"-p NRestarts {unit}.service", f"systemctl show {unit}"))
                if props.get("LoadState") == "loaded" and props.get("ActiveState") == "active":
                    stamps[name][unit] = props
    return stamps


# -- Phases 6-8: HTTP from this machine, commands over SSH ---------------------------------------


def http_get(url: str, credentials: str = "", timeout_s: float = HTTP_TIMEOUT_S) -> str:
    """The body of GET `url` (redirects followed); AssertionError on any failure."""
    request = urllib.request.Request(url)
    if credentials:
        request.add_header("Authorization",
                           "Basic " + base64.b64encode(credentials.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise AssertionError(f"GET {url}: {getattr(exc, 'reason', exc)}") from None


def get_json(url: str, credentials: str = "", timeout_s: float = HTTP_TIMEOUT_S) -> dict:
    return checks.parse_json_object(http_get(url, credentials, timeout_s), f"GET {url}")


def wait_until(check: Callable[[], str | None], timeout_s: float, what: str,
               interval_s: float = POLL_S) -> float:
    """Seconds until `check` returned None; pytest.fail naming `what` after `timeout_s`."""
    started = time.monotonic()
    problem = checks.wait_for(check, timeout_s, interval_s)
    if problem is not None:
        pytest.fail(f"{what}: {problem}", pytrace=False)
    return time.monotonic() - started


def marathon_url(hosts: Hosts, member: Any = None) -> str:
    member = member or hosts.topology.marathons[0]
    return f"http://{member.ip}:{int(hosts.data('marathon_http_port', member))}"


def marathon_app(hosts: Hosts) -> dict:
    credentials = checks.marathon_auth(hosts.topology.all_members[0])
    return get_json(f"{marathon_url(hosts)}/v2/apps/{APP_ID}", credentials)["app"]


def bridge_interval_s(hosts: Hosts) -> float:
    return float(hosts.data("haproxy_bridge_interval_s", hosts.topology.load_balancers[0]))


def app_answers(lb_ip: str, requests: int = 1) -> str | None:
    """None when `requests` GETs through one load balancer all answer APP_BODY."""
    url = f"http://{lb_ip}:{APP_SERVICE_PORT}{APP_PATH}"
    for _ in range(requests):
        body = http_get(url).strip()
        if body != APP_BODY:
            return f"{url} answered {body[:100]!r}, want {APP_BODY!r}"
    return None


def all_lbs_answer(hosts: Hosts, requests: int, what: str) -> None:
    """Every LB answers APP_BODY `requests` times in a row (round robin: every backend asked)."""
    for lb in hosts.topology.load_balancers:
        wait_until(lambda lb=lb: app_answers(lb.ip, requests), SETTLE_TIMEOUT_S / 4,
                   f"{what}: {lb.name}")


def app_containers(hosts: Hosts) -> dict[str, int]:
    """Running containers of APP_IMAGE on each agent."""
    command = f"docker ps -q --filter ancestor={shlex.quote(APP_IMAGE)}"
    return {agent.name: len(hosts.run(agent.name, command, "docker ps").split())
            for agent in hosts.topology.agents}


def lb_configs(hosts: Hosts) -> dict[str, str]:
    return {lb.name: hosts.run(lb.name, f"cat {HAPROXY_CONFIG}", f"read {HAPROXY_CONFIG}")
            for lb in hosts.topology.load_balancers}


def lb_checksums(hosts: Hosts) -> dict[str, str]:
    return {lb.name: parse_sha256sum(hosts.run(lb.name, f"sha256sum {HAPROXY_CONFIG}",
                                               f"sha256sum {HAPROXY_CONFIG}"))
            for lb in hosts.topology.load_balancers}


def deploy_apps(step: str, run: E2ERun, instances: int, timing: str | None = None) -> StepResult:
    data = "apps_instances=" + json.dumps({APP_ID: instances})
    result = run_logged(step, [PYINFRA, "-y", str(run.inventory), "deploy_apps.py",
                               "--data", data], APPS_DEPLOY_TIMEOUT_S)
    if timing:
        run.timings[timing] = result.seconds
    require_success(timing or step, result)
    return result


def scale_app(step: str, run: E2ERun, hosts: Hosts, instances: int) -> None:
    """deploy_apps at `instances`, then wait (SETTLE_TIMEOUT_S) until the app runs that many,
    all healthy."""
    deploy_apps(step, run, instances)
    wait_until(lambda: app_scale_problem(marathon_app(hosts), instances), SETTLE_TIMEOUT_S,
               f"{step}: scaling to {instances} instance(s)")


def require_no_changes(step: str, result: StepResult) -> None:
    try:
        summary = parse_pyinfra_results(result.output)
    except SummaryFormatError as exc:
        pytest.fail(f"{step}: {exc} (log: {result.log})")
    assert summary.total.changed == 0 and summary.total.errors == 0, (
        f"{step}: changed {summary.total.changed} and failed {summary.total.errors} "
        f"operation-host pair(s); it must change nothing (log: {result.log}):\n"
        f"{describe_changes(summary)}")


def http_status(url: str, method: str = "GET", body: bytes | None = None,
                timeout_s: float = HTTP_TIMEOUT_S) -> int:
    """The HTTP status of one unauthenticated request (0 when nothing answers)."""
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


def phase_marathon_refuses_anonymous(run: E2ERun) -> None:
    """3b. Marathon runs with HTTP credentials (generated by the deploy): without them every
    path answers 401 on every instance, /ping included (real Marathon: one security constraint
    on /*), and an app POST is refused; with them the API works (the checks above used them)."""
    with Hosts(run.inventory) as hosts:
        assert checks.marathon_auth(hosts.topology.all_members[0]), (
            "no Marathon credentials: the deploy should have generated them")
        app = json.dumps({"id": "/e2e-anonymous", "cmd": "sleep 1000", "cpus": 0.01,
                          "mem": 16}).encode()
        for member in hosts.topology.marathons:
            url = marathon_url(hosts, member)
            answers = {path: http_status(f"{url}{path}") for path in ("/ping", "/v2/apps")}
            answers["POST /v2/apps"] = http_status(f"{url}/v2/apps", "POST", app)
            assert set(answers.values()) == {401}, (
                f"{member.name}: Marathon answered without credentials: {answers}")
        print("[e2e] Marathon refuses anonymous requests (401) on every instance", flush=True)


SECRET_SCAN_DIRS = "/etc /usr/local/lib/pyinfra-mesos /var/lib/pyinfra-mesos-haproxy-bridge /root"
# On a host, with the secrets on stdin (one a line; never on a command line): every file under
# the scan dirs that holds one, as `mode owner path`, then a marker, then every process's
# command line and every unit's ExecStart (a secret there is readable by everyone with `ps`).
SECRET_HOLDERS_SCRIPT = (
    "umask 077; p=$(mktemp); cat > \"$p\"; "
    f"grep -rlF -f \"$p\" {SECRET_SCAN_DIRS} 2>/dev/null | grep -vxF \"$p\" "
    "| xargs -r stat -c '%a %U %n'; echo ---; "
    "if ps -eo args= | grep -qF -f \"$p\"; then echo 'a process command line'; fi; "
    "if systemctl show '*' -p ExecStart 2>/dev/null | grep -qF -f \"$p\"; then "
    "echo 'a unit ExecStart'; fi; rm -f \"$p\"")


def operator_secrets(run: E2ERun) -> dict[str, str]:
    """Every secret the deploy keeps on the operator's side (credentials/<cluster>/: Marathon's
    user:password, Mesos' principals, ZooKeeper's digests, ...), by file name; for `user:secret`
    files the secret part."""
    from pyinfra_mesos.credentials import cluster_credentials_dir

    member = _topology(run.inventory).all_members[0]
    directory = cluster_credentials_dir(member.data, PROJECT_ROOT)
    found = {}
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        value = path.read_text(encoding="utf-8").strip()
        found[path.name] = value.rpartition(":")[2]
    return found


def secret_holders(run: E2ERun, host: str, secrets: Sequence[str]) -> tuple[list[str], list[str]]:
    """(files holding a secret as `mode owner path`, places outside files where one shows)."""
    result = subprocess.run(
        [PYTHON, "-m", "sandbox", "ssh", str(run.inventory), host, "sh", "-c",
         shlex.quote(SECRET_HOLDERS_SCRIPT)],
        input="\n".join(secrets) + "\n", capture_output=True, text=True, timeout=120,
        cwd=PROJECT_ROOT)
    assert result.returncode == 0, f"{host}: the secret scan failed: {result.stderr[-1000:]}"
    files, _, elsewhere = result.stdout.partition("---")
    return ([line for line in files.splitlines() if line.strip()],
            [line for line in elsewhere.splitlines() if line.strip()])


def phase_secrets_never_shown(run: E2ERun) -> None:
    """4c. Secrets never in pyinfra's output in any mode, never readable by other users, never
    on a command line.

    A dry run with a new Marathon credential (so the env file, the credentials and the curl
    config would all change) in every output mode at once (--dry --diff -vvv --debug): neither
    it nor any secret the deploy keeps (every file of credentials/<cluster>/) appears. On every
    host, each file holding one of them is 0600 (or stricter) and owned by root (or by the
    service user that reads it), and none shows in a process command line or a unit."""
    secrets = operator_secrets(run)
    assert {"marathon_http_credentials", "mesos_agent_secret"} <= set(secrets), (
        f"the deploy should have generated its secrets, found {sorted(secrets)}")
    new = "marathon:e2e-" + os.urandom(12).hex()
    # No -y: with it pyinfra skips change detection, and so the diffs this is about.
    result = run_logged("4c-secrets-dry-all-modes", [
        PYINFRA, str(run.inventory), "deploy.py", "--dry", "--diff", "-vvv", "--debug",
        "--data", f"marathon_http_credentials={new}"], DEPLOY_TIMEOUT_S)
    require_success("dry run in every output mode", result)
    assert "Detected changes" in result.output, (
        f"the dry run must detect changes (the new secret's files) (log: {result.log})")
    shown = [name for name, secret in {**secrets, "new Marathon secret": new}.items()
             if secret and secret in result.output]
    assert not shown, f"secrets in pyinfra's output: {shown} (log: {result.log})"
    problems = []
    for member in _topology(run.inventory).all_members:
        files, elsewhere = secret_holders(run, member.name, list(secrets.values()))
        problems += [f"{member.name}: {line} (want 600/400)" for line in files
                     if line.split()[0] not in ("600", "400")]
        problems += [f"{member.name}: a secret in {place}" for place in elsewhere]
    assert not problems, "secrets exposed on the hosts:\n  " + "\n  ".join(problems)
    print(f"[e2e] secrets ({len(secrets)}: {', '.join(sorted(secrets))}): none in --dry --diff "
          "-vvv --debug output, every file holding one is 0600, none in a command line or "
          "unit", flush=True)


OUTSIDER = "outsider1"
OUTSIDER_INVENTORY = """# A sandbox host NOT in the cluster's inventory (the e2e firewall scan).
import sys
sys.path.insert(0, {root!r})
from sandbox.inventory import sandbox_host  # noqa: E402

SANDBOX = {sandbox!r}
outsiders = [sandbox_host(SANDBOX, {name!r})]
"""
# Every TCP port of every target from the outsider, 1 s a connect: a dropped SYN times out, an
# open port answers, a closed one refuses. Then the ports that must answer (SSH, the service
# ports) again, a connect of 3 s and three tries each: under thousands of pending connects a
# real answer can come late. Prints {"open": {ip: [ports]}, "must": {ip: {port: bool}}}.
SCAN_SCRIPT = """
import asyncio, json, resource
TARGETS = {targets!r}
MUST = {must!r}
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384), hard))
async def probe(ip, port, sem, timeout=1.0):
    async with sem:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
            writer.close()
            return ip, port
        except Exception:
            return None
async def answers(ip, port):
    for _ in range(3):
        if await probe(ip, port, asyncio.Semaphore(1), 3.0):
            return True
    return False
async def main():
    sem = asyncio.Semaphore(4000)
    found = await asyncio.gather(*(probe(ip, p, sem) for ip in TARGETS for p in range(1, 65536)))
    out = {{ip: [] for ip in TARGETS}}
    for hit in found:
        if hit:
            out[hit[0]].append(hit[1])
    must = {{ip: {{str(p): await answers(ip, p) for p in ports}} for ip, ports in MUST.items()}}
    print(json.dumps({{"open": out, "must": must}}))
asyncio.run(main())
"""
SCAN_TIMEOUT_S = 600


def phase_outsider_scan(run: E2ERun) -> None:
    """3c. The firewall: from a sandbox host that is not in the inventory, a scan of every TCP
    port of every cluster host finds SSH everywhere and, on the load balancers, only the app's
    service ports; nothing else answers (cluster ports, task ports, Docker's published ports)."""
    inventory = run.inventory.parent / "outsider.py"
    inventory.write_text(OUTSIDER_INVENTORY.format(root=str(PROJECT_ROOT), sandbox=run.sandbox,
                                                   name=OUTSIDER))
    result = run_logged("3c-sandbox-up-outsider", [PYTHON, "-m", "sandbox", "up", str(inventory)],
                        SANDBOX_UP_TIMEOUT_S)
    require_success("sandbox up (outsider)", result)
    topo = _topology(run.inventory)
    targets = {m.ip: m for m in topo.all_members}
    lbs = {m.name for m in topo.load_balancers}
    must = {ip: [22] + ([APP_SERVICE_PORT] if m.name in lbs else [])
            for ip, m in targets.items()}
    started = time.monotonic()
    scan = subprocess.run(
        [PYTHON, "-m", "sandbox", "ssh", str(inventory), OUTSIDER, "python3", "-"],
        input=SCAN_SCRIPT.format(targets=sorted(targets), must=must), capture_output=True,
        text=True, timeout=SCAN_TIMEOUT_S, cwd=PROJECT_ROOT)
    run.timings["firewall scan (outsider)"] = time.monotonic() - started
    assert scan.returncode == 0, f"the scan from {OUTSIDER} failed: {scan.stderr[-2000:]}"
    result = json.loads(scan.stdout.strip().splitlines()[-1])
    found = result["open"]
    for ip, ports in result["must"].items():
        found[ip] = sorted(set(found[ip]) | {int(p) for p, ok in ports.items() if ok})
    problems = []
    for ip, ports in found.items():
        member = targets[ip]
        allowed = {22} | ({APP_SERVICE_PORT} | set(range(10000, 20001))
                          if member.name in lbs else set())
        extra = sorted(set(ports) - allowed)
        if extra:
            problems.append(f"{member.name} ({ip}) answers on {extra}")
        if 22 not in ports:
            problems.append(f"{member.name}: SSH (22) does not answer")
        if member.name in lbs and APP_SERVICE_PORT not in ports:
            problems.append(f"{member.name}: the app's service port {APP_SERVICE_PORT} does "
                            "not answer from outside the cluster")
    assert not problems, "firewall scan from a host outside the inventory:\n  " + \
        "\n  ".join(problems)
    print(f"[e2e] firewall: from {OUTSIDER}, {len(found)} hosts x 65535 ports: only SSH and "
          f"the load balancers' service ports answer ({found})", flush=True)


MESOS_REFUSALS_SCRIPT = (
    # A real write endpoint without credentials (--authenticate_http_readwrite) ...
    "curl -s -o /dev/null -w '%{{http_code}} ' --location -X POST "
    "-d frameworkId=e2e-none http://{ip}:{port}/master/teardown; "
    # ... and an agent that registers without authenticating (--authenticate_agents; the
    # stand-in's register call stands for libprocess' RegisterSlaveMessage).
    "curl -s -o /dev/null -w '%{{http_code}}' --location -X POST "
    "-H 'Content-Type: application/json' -d '{{\"id\": null, \"hostname\": \"intruder\", "
    "\"ip\": \"{ip}\", \"port\": 5051, \"resources\": {{}}, \"attributes\": {{}}, "
    "\"tasks\": []}}' http://{ip}:{port}/standin/v1/agents/register")


def phase_mesos_refuses_unauthenticated(run: E2ERun) -> None:
    """3d. From a cluster member, the masters refuse what comes without Mesos credentials:
    a teardown (HTTP 401) and an agent that did not authenticate (403)."""
    with Hosts(run.inventory) as hosts:
        member = hosts.topology.masters[0]
        port = int(hosts.data("mesos_master_port", member))
        answer = hosts.run(member.name, MESOS_REFUSALS_SCRIPT.format(ip=member.ip, port=port),
                           "unauthenticated requests to the masters").split()
        assert answer == ["401", "403"], (
            f"unauthenticated teardown / agent registration answered {answer}, "
            "want 401 and 403")
    print("[e2e] Mesos: teardown without credentials 401, an unauthenticated agent 403",
          flush=True)


REGISTRY_PUSH_PROBE = ("curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 -X POST "
                       "http://{address}/v2/pyinfra-mesos/e2e-anonymous-push/blobs/uploads/")


def phase_zookeeper_and_registry_refuse_anonymous(run: E2ERun) -> None:
    """3e. From a cluster member: a ZooKeeper write under /mesos and under /marathon without
    the digest is refused (NoAuth), the same write with the digest (on zkCli's stdin) works;
    an anonymous push to the cluster's registry is refused (405: its public instance is
    read-only)."""
    with Hosts(run.inventory) as hosts:
        zk = hosts.topology.zookeepers[0]
        port = int(hosts.data("zookeeper_client_port", zk))
        for service in ("mesos", "marathon"):
            path = f"/{service}/e2e-probe"
            anonymous = zk_cli(run, zk.name, port, [f"create -e {path} x"])
            assert "Insufficient permission" in anonymous and "Created" not in anonymous, (
                f"{zk.name}: an unauthenticated create of {path} was not refused:\n"
                f"{anonymous[-800:]}")
            digest = zookeeper_credentials(zk.data, PROJECT_ROOT, service)
            assert digest, f"no ZooKeeper digest for {service}: zookeeper_acls is off?"
            owned = zk_cli(run, zk.name, port, [f"addauth digest {digest}",
                                                f"create -e {path} x"])
            assert f"Created {path}" in owned, (
                f"{zk.name}: the {service} digest could not create {path}:\n{owned[-800:]}")
        registries = hosts.topology.registries
        for registry in registries:
            address = f"{registry.ip}:{int(hosts.data('registry_port', registry))}"
            for member in hosts.topology.all_members:
                answer = hosts.run(member.name, REGISTRY_PUSH_PROBE.format(address=address),
                                   "an anonymous push to the registry").strip()
                assert answer == "405", (
                    f"{member.name}: an anonymous push to {registry.name} ({address}) "
                    f"answered {answer}, want 405")
    print(f"[e2e] ZooKeeper: writes under /mesos and /marathon without the digest refused "
          f"(NoAuth), with it accepted; registry: anonymous push refused (405) from every "
          f"member ({len(registries)} registry host(s))", flush=True)


def phase_refused_inventory(run: E2ERun) -> None:
    """4b. A typo in a flag on a converged cluster: one line naming host and field, exit 1,
    and not one operation run on any host."""
    result = run_logged("4b-deploy-refused", [
        PYINFRA, "-y", str(run.inventory), "deploy.py",
        "--data", 'mesos_master_flags={"work_dri": "/srv/mesos"}'], DEPLOY_TIMEOUT_S)
    run.timings["refused deploy"] = result.seconds
    assert result.rc not in (0, None), (
        f"a deploy with an unknown Mesos flag must fail (log: {result.log})\n{tail(result.output)}")
    assert "work_dri" in result.output and "mesos_master_flags" in result.output, (
        f"the refusal must name the field and the flag (log: {result.log})\n"
        f"{tail(result.output)}")
    assert "Starting operation" not in result.output, (
        f"a refused deploy ran operations (log: {result.log})")


def phase_scale_out(run: E2ERun) -> None:
    """5. Scale out by one inventory line: `sandbox up` boots only the new host, the deploy
    (timed) adds it, the checks see it registered with the leader, and no service on an old
    host restarted."""
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
    # The first scale-out run is killed while the new agent's apt installs its packages (Docker,
    # HAProxy: tasks/common.py's one transaction, their units masked): its apt-get and dpkg die
    # on the closed channel (or are still running). The re-run must finish it and unmask them.
    killed = run_killed_at("5-deploy-killed-during-apt", [
        PYINFRA, "-y", str(run.inventory), "deploy.py"],
        "Starting operation: tasks/common.py | Install this host's packages", DEPLOY_TIMEOUT_S,
        delay_s=KILL_DURING_APT_DELAY_S)
    with Hosts(run.inventory) as hosts:
        left = hosts.run(new_agent, "dpkg --audit | head -3; pgrep -a 'apt-get|dpkg' | head -3"
                         " || true", "what the killed run left in dpkg").strip()
    print(f"[e2e] deploy SIGKILLed after {killed.seconds:.1f} s during the new agent's apt; "
          f"left on {new_agent}: {left.splitlines()[:6] or 'nothing'}", flush=True)
    deploy("5-deploy-scale-out", run, "scale-out")
    # The full checks: the leader's activated_slaves must now equal the inventory's agents, and
    # the new agent's id must be among the leader's slaves.
    cluster_checks("5-cluster-checks-scale-out", run, "cluster checks (after scale-out)")

    after = service_stamps(run.inventory, old_hosts)
    restarted = restarted_services(before, after)
    assert not restarted, ("adding an agent restarted services on existing hosts:\n  "
                           + "\n  ".join(restarted))


def phase_app_scaling(run: E2ERun) -> None:
    """6. Scale to 3 and back to 1; Marathon, Docker and every haproxy.cfg agree each time."""
    with Hosts(run.inventory) as hosts:
        lb_bound = 2 * bridge_interval_s(hosts) + BRIDGE_SLACK_S
        for step, instances in (("6-apps-scale-3", 3), ("6-apps-scale-1", 1)):
            label = f"{instances} instance{'s' if instances > 1 else ''}"
            deploy_apps(step, run, instances, f"app scale to {instances}")
            wait_until(lambda n=instances: app_scale_problem(marathon_app(hosts), n),
                       SETTLE_TIMEOUT_S, f"after scaling to {label}")
            # The deploy has waited for running and healthy: from here the bridge has its input.
            settled = time.monotonic()
            want = marathon_task_addresses(marathon_app(hosts))
            assert len(want) == instances, (
                f"Marathon reports {instances} running tasks but their host:port are {want}")

            def containers(n: int = instances) -> str | None:
                found = app_containers(hosts)
                if sum(found.values()) != n:
                    return f"{APP_IMAGE} containers per agent: {found}, want {n} in all"
                return None

            def lbs_listed(want: set[str] = want) -> str | None:
                problems = [backends_problem(name, text, APP_SERVICE_PORT, want)
                            for name, text in lb_configs(hosts).items()]
                return "; ".join(p for p in problems if p) or None

            wait_until(lbs_listed, lb_bound,
                       f"every load balancer's {HAPROXY_CONFIG} within two bridge intervals "
                       f"+ {BRIDGE_SLACK_S:.0f} s ({lb_bound:.0f} s) of Marathon reporting {label}")
            run.timings[f"LB convergence ({label})"] = time.monotonic() - settled
            wait_until(containers, SETTLE_TIMEOUT_S, f"after scaling to {label}")
            print(f"[e2e] {label}: backends {sorted(want)} on every load balancer "
                  f"{run.timings[f'LB convergence ({label})']:.1f} s after Marathon settled",
                  flush=True)
            all_lbs_answer(hosts, 2 * instances, f"after scaling to {label}")
            require_no_changes(f"deploy_apps.py re-run at {label}",
                               deploy_apps(f"{step}-noop", run, instances))


# Apps in the forms Marathon rewrites when it stores them (docs/REAL-CONTRACTS.md): the 1.4
# docker.network/portMappings form, deprecated `ports`, and fields given empty. Converging on them
# relies on the Marathon stand-in storing apps as Marathon 1.10 does (omitEmpty, conversions,
# per-mode drops: tests/standins/test_marathon_cases.py) and honouring ?partialUpdate=false.
FORMS_LEGACY_ID = "/e2e/legacy-hello"
FORMS_HEALTH_CHECK = {"protocol": "HTTP", "path": "/health", "portIndex": 0,
                      "gracePeriodSeconds": 15, "intervalSeconds": 5, "timeoutSeconds": 3,
                      "maxConsecutiveFailures": 3}
FORMS_APPS: dict[str, dict[str, Any]] = {
    "legacy-hello.json": {
        "id": FORMS_LEGACY_ID, "cpus": 0.05, "mem": 48, "instances": 1,
        "container": {"type": "DOCKER", "docker": {
            "image": APP_IMAGE, "network": "BRIDGE",
            "portMappings": [{"containerPort": 4567, "hostPort": 0, "servicePort": 9001,
                              "protocol": "tcp"}]}},
        "env": {}, "constraints": [], "uris": [], "dependencies": [],
        "labels": {"HAPROXY_GROUP": "external"},
        "healthChecks": [FORMS_HEALTH_CHECK],
    },
    "deprecated-ports.json": {
        "id": "/e2e/deprecated-ports", "cpus": 0.05, "mem": 48, "instances": 1,
        "container": {"type": "DOCKER", "docker": {"image": APP_IMAGE}},
        "ports": [0], "env": {"GREETING": "hello"}, "healthChecks": [], "labels": {},
    },
}


def write_forms_apps(directory: Path, apps: dict[str, dict[str, Any]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.json"):
        old.unlink()
    for name, app in apps.items():
        (directory / name).write_text(json.dumps(app, indent=2) + "\n")


def deploy_forms(step: str, run: E2ERun, directory: Path) -> StepResult:
    result = run_logged(step, [PYINFRA, "-y", str(run.inventory), "deploy_apps.py",
                               "--data", f"apps_dir={directory}"], APPS_DEPLOY_TIMEOUT_S)
    require_success(step, result)
    return result


def phase_app_forms(run: E2ERun) -> None:
    """6b. Legacy and deprecated app forms and empty fields converge: the re-run changes
    nothing; a health check deleted from a file leaves Marathon on the next run."""
    directory = run.inventory.parent / "apps-forms"
    write_forms_apps(directory, FORMS_APPS)
    started = time.monotonic()
    deploy_forms("6b-apps-forms", run, directory)
    run.timings["apps in legacy forms"] = time.monotonic() - started
    require_no_changes("the re-run of apps in legacy and deprecated forms",
                       deploy_forms("6b-apps-forms-noop", run, directory))
    without = {**FORMS_APPS, "legacy-hello.json": {
        k: v for k, v in FORMS_APPS["legacy-hello.json"].items() if k != "healthChecks"}}
    write_forms_apps(directory, without)
    deploy_forms("6b-apps-forms-removed-health-check", run, directory)
    with Hosts(run.inventory) as hosts:
        credentials = checks.marathon_auth(hosts.topology.all_members[0])
        app = get_json(f"{marathon_url(hosts)}/v2/apps{FORMS_LEGACY_ID}", credentials)["app"]
        assert not app.get("healthChecks"), ("the health check deleted from the file is still "
                                             f"in Marathon: {app.get('healthChecks')}")
        require_no_changes("the re-run after deleting a health check",
                           deploy_forms("6b-apps-forms-removed-noop", run, directory))
        for app_id in (FORMS_LEGACY_ID, "/e2e/deprecated-ports"):
            request = urllib.request.Request(f"{marathon_url(hosts)}/v2/apps{app_id}",
                                             method="DELETE")
            request.add_header("Authorization",
                               "Basic " + base64.b64encode(credentials.encode()).decode())
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S):
                pass

        # The next phase compares load balancer configs: let every bridge drop the deleted
        # apps' listeners first (the legacy app's servicePort 9001, and the other's ports).
        def listeners_gone() -> str | None:
            stale = [name for name, text in lb_configs(hosts).items()
                     if "bind :9001" in text or "e2e" in text]
            return f"deleted apps still in haproxy.cfg on {stale}" if stale else None

        wait_until(listeners_gone, 2 * bridge_interval_s(hosts) + BRIDGE_SLACK_S + 30,
                   "the deleted apps leaving every load balancer")
    print("[e2e] legacy/deprecated app forms converge; a deleted health check left Marathon",
          flush=True)


def start_marathons(hosts: Hosts) -> list[str]:
    """`systemctl start marathon` on every Marathon host; the failures (never raises)."""
    failures = []
    for member in hosts.topology.marathons:
        try:
            hosts.run(member.name, "systemctl start marathon", "systemctl start marathon")
        except AssertionError as exc:
            failures.append(str(exc))
    return failures


def marathon_back_problem(hosts: Hosts) -> str | None:
    credentials = checks.marathon_auth(hosts.topology.all_members[0])
    for member in hosts.topology.marathons:
        if http_get(f"{marathon_url(hosts, member)}/ping", credentials).strip() != "pong":
            return f"{member.name}: /ping does not answer pong"
    leader = get_json(f"{marathon_url(hosts)}/v2/leader", credentials).get("leader")
    return None if leader else "Marathon has no leader (/v2/leader)"


def phase_marathon_outage(run: E2ERun) -> None:
    """7. With Marathon down everywhere the load balancers keep their config and keep serving."""
    with Hosts(run.inventory) as hosts:
        wait_s = 2 * bridge_interval_s(hosts) + BRIDGE_SLACK_S
        before = lb_checksums(hosts)
        since = int(time.time()) - 1  # the hosts share this machine's clock
        started = time.monotonic()
        try:
            for member in hosts.topology.marathons:
                hosts.run(member.name, "systemctl stop marathon", "systemctl stop marathon")
            credentials = checks.marathon_auth(hosts.topology.all_members[0])
            for member in hosts.topology.marathons:  # nothing answers: the outage is real
                answer = checks.probe(lambda m=member: http_get(
                    f"{marathon_url(hosts, m)}/ping", credentials, timeout_s=2))
                assert isinstance(answer, AssertionError), (
                    f"{member.name}: Marathon still answers /ping after systemctl stop marathon")
            print(f"[e2e] Marathon stopped on every host; waiting {wait_s:.0f} s "
                  f"(two bridge intervals + slack)", flush=True)
            time.sleep(wait_s)
            changed = changed_checksums(before, lb_checksums(hosts))
            assert not changed, (f"{HAPROXY_CONFIG} changed while Marathon was down (the bridge "
                                 f"must keep the last good config):\n  " + "\n  ".join(changed))
            for lb in hosts.topology.load_balancers:
                state = hosts.host(lb.name).run("systemctl is-active haproxy").stdout.strip()
                assert state == "active", f"{lb.name}: haproxy is {state!r} with Marathon down"
                problem = app_answers(lb.ip, 2)
                assert problem is None, f"{lb.name} with Marathon down: {problem}"
                log = hosts.run(lb.name, f"journalctl -u {BRIDGE_UNIT} --since @{since} "
                                         f"--no-pager -o cat", "bridge journal")
                runs = log.count(BRIDGE_UNREACHABLE_LOG)
                assert runs >= 2, (
                    f"{lb.name}: the bridge logged {BRIDGE_UNREACHABLE_LOG!r} {runs} time(s) in "
                    f"{wait_s:.0f} s of Marathon outage, want one per run (>= 2); log tail:\n"
                    f"{tail(log, 10)}")
        finally:
            failures = start_marathons(hosts)
        run.timings["marathon outage"] = time.monotonic() - started
        assert not failures, "starting Marathon again failed:\n  " + "\n  ".join(failures)
        run.timings["marathon back (leader)"] = wait_until(
            lambda: marathon_back_problem(hosts), MARATHON_BACK_TIMEOUT_S,
            "Marathon after `systemctl start marathon` on every host")
        wait_until(lambda: app_scale_problem(marathon_app(hosts), 1), SETTLE_TIMEOUT_S,
                   "the app after Marathon came back")
        all_lbs_answer(hosts, 2, "after Marathon came back")


def master_state(hosts: Hosts, member: Any, timeout_s: float = HTTP_TIMEOUT_S) -> dict:
    port = int(hosts.data("mesos_master_port", member))
    return get_json(f"http://{member.ip}:{port}/master/state", timeout_s=timeout_s)


def reported_leaders(hosts: Hosts, members: Sequence[Any]) -> dict[str, str | None]:
    """`{master: the leader pid its /master/state reports}`; None when it does not answer."""
    leaders: dict[str, str | None] = {}
    for member in members:
        try:
            leaders[member.name] = master_state(hosts, member, timeout_s=2).get("leader") or None
        except AssertionError:
            leaders[member.name] = None
    return leaders


def phase_master_failover(run: E2ERun) -> None:
    """8. SIGKILL the leading Mesos master: another takes over, agents and Marathon follow."""
    with Hosts(run.inventory) as hosts:
        masters = hosts.topology.masters
        by_ip = {m.ip: m for m in masters}
        old_pid, problem = leader_agreement(reported_leaders(hosts, masters))
        assert old_pid, f"before the failover: {problem}"
        old = by_ip.get(parse_master_pid(old_pid)[0])
        assert old, f"the leader {old_pid} is none of the masters {sorted(by_ip)}"
        others = [m for m in masters if m is not old]
        bound = parse_mesos_duration(hosts.data("mesos_zk_session_timeout")) + FAILOVER_SLACK_S

        monitor = load_monitor(hosts)
        try:
            time.sleep(2 * AVAILABILITY_INTERVAL_S)  # a baseline before the fault
            hosts.run(old.name, "systemctl kill -s SIGKILL mesos-master", "SIGKILL mesos-master")
            killed = time.monotonic()
            print(f"[e2e] SIGKILLed the leading master {old.name} ({old_pid})", flush=True)

            def new_leader() -> str | None:
                pid, problem = leader_agreement(reported_leaders(hosts, others))
                if pid is None:
                    return problem
                if pid == old_pid:
                    return f"the other masters still name the killed {old_pid} as leader"
                return None

            seconds = wait_until(new_leader, bound,
                                 f"a new leader after SIGKILL of {old.name} (ZooKeeper session "
                                 f"timeout + {FAILOVER_SLACK_S:.0f} s)")
            run.timings["master failover"] = seconds
            new_pid = leader_agreement(reported_leaders(hosts, others))[0]
            leader = by_ip[parse_master_pid(new_pid)[0]]
            print(f"[e2e] master failover: {old.name} -> {leader.name} in {seconds:.1f} s",
                  flush=True)

            def settled() -> str | None:
                pid, problem = leader_agreement(reported_leaders(hosts, masters))
                if pid != new_pid:
                    return problem or f"the leader moved on again: {new_pid} -> {pid}"
                state = master_state(hosts, leader)
                agents = len(hosts.topology.agents)
                if state.get("activated_slaves") != agents:
                    return (f"{leader.name}: activated_slaves={state.get('activated_slaves')}, "
                            f"want {agents}")
                problem = framework_problem(state)
                if problem:
                    return problem
                tasks = [t for f in state.get("frameworks") or [] for t in f.get("tasks") or []
                         if t.get("name") == APP_ID and t.get("state") == "TASK_RUNNING"]
                if len(tasks) != 1:
                    return f"{leader.name}: {len(tasks)} running {APP_ID} task(s), want 1"
                return app_scale_problem(marathon_app(hosts), 1)

            wait_until(settled, FAILOVER_SETTLE_TIMEOUT_S,
                       f"after the failover to {leader.name} (all masters agree, "
                       f"{len(hosts.topology.agents)} agents active, Marathon registered, "
                       f"the app running)")
        finally:
            monitor.stop()
        run.timings["master failover settled"] = time.monotonic() - killed
        failed = monitor.failures()
        print(f"[e2e] master failover under load: {monitor.report()}", flush=True)
        assert not failed, ("requests failed through the load balancers during the master "
                            "failover:\n  " + "\n  ".join(failed[:20]))
        state = hosts.host(old.name).run("systemctl is-active mesos-master").stdout.strip()
        assert state == "active", f"{old.name}: mesos-master is {state!r} after the SIGKILL"
        all_lbs_answer(hosts, 2, "after the master failover")


# -- Phase 8b: faults under load ---------------------------------------------------------------

FAULT_RECOVERY_TIMEOUT_S = 180.0  # a SIGKILLed Marathon: systemd's RestartSec + start + election


def load_monitor(hosts: Hosts, lbs: Sequence[Any] | None = None,
                 dead: Collection[str] = ()) -> AvailabilityMonitor:
    """An AvailabilityMonitor over the load balancers `lbs` (default: every one), every
    ZooKeeper member and every master but the hosts named in `dead` (cut off for good: never
    a leader again, and each probe of one would only wait out its timeout)."""
    topo = hosts.topology
    return AvailabilityMonitor(
        [m.ip for m in (topo.load_balancers if lbs is None else lbs)],
        [(m.ip, int(hosts.data("zookeeper_client_port", m))) for m in topo.zookeepers
         if m.name not in dead],
        [(m.ip, int(hosts.data("mesos_master_port", m))) for m in topo.masters
         if m.name not in dead]).start()


def marathon_leaders(hosts: Hosts) -> dict[str, str | None]:
    """`{marathon host: the leader it names ("ip:port") or None}` (silent hosts: None)."""
    credentials = checks.marathon_auth(hosts.topology.all_members[0])
    found: dict[str, str | None] = {}
    for member in hosts.topology.marathons:
        answer = checks.probe(lambda m=member: get_json(
            f"{marathon_url(hosts, m)}/v2/leader", credentials, 2))
        found[member.name] = None if isinstance(answer, AssertionError) else answer.get("leader")
    return found


def zookeeper_leader(hosts: Hosts) -> Any:
    """The ZooKeeper member that answers `srvr` with `Mode: leader`, else None."""
    for member in hosts.topology.zookeepers:
        if zookeeper_mode(member.ip, int(hosts.data("zookeeper_client_port", member))) == \
                "leader":
            return member
    return None


def fault_under_load(run: E2ERun, hosts: Hosts, name: str, inject: Callable[[], None],
                     recovered: Callable[[], str | None], timeout_s: float) -> str:
    """Inject a fault while the app is requested through every load balancer once a second;
    wait until `recovered` is None; the timing `name` is the recovery time. Fails on any failed
    request. Returns the monitor's report."""
    monitor = load_monitor(hosts)
    try:
        time.sleep(2 * AVAILABILITY_INTERVAL_S)  # a baseline before the fault
        inject()
        run.timings[name] = wait_until(recovered, timeout_s, f"recovery from: {name}")
        time.sleep(3 * AVAILABILITY_INTERVAL_S)  # requests after the recovery count too
    finally:
        monitor.stop()
    report = monitor.report()
    print(f"[e2e] {name}: recovered in {run.timings[name]:.1f} s; {report}", flush=True)
    failed = monitor.failures()
    assert not failed, f"{name}: requests failed through the load balancers ({report}):\n  " + \
        "\n  ".join(failed[:20])
    return report


def phase_faults(run: E2ERun) -> None:
    """8b. Faults under load through every load balancer, each with zero failed requests and
    its recovery time: SIGKILL of the leading Marathon (its container's process; systemd brings
    it back, another instance leads meanwhile), stop of the ZooKeeper leader (the ensemble
    elects another; the stopped member is started again and rejoins)."""
    with Hosts(run.inventory) as hosts:
        by_address = {m.ip: m for m in hosts.topology.marathons}
        leaders = marathon_leaders(hosts)
        old = set(leaders.values())
        assert len(old) == 1 and None not in old, f"before the fault: Marathon leaders {leaders}"
        old_leader = old.pop() or ""
        victim = by_address[old_leader.rpartition(":")[0]]
        container = hosts.data("marathon_container_name", victim)

        def marathon_back() -> str | None:
            now = marathon_leaders(hosts)
            if len(set(now.values())) != 1 or None in now.values():
                return f"Marathon leaders: {now}"
            state = hosts.run(victim.name, "systemctl is-active marathon || true",
                              "marathon's state").strip()
            if state != "active":
                return f"{victim.name}: marathon is {state}"
            return app_scale_problem(marathon_app(hosts), 1)

        fault_under_load(
            run, hosts, "Marathon leader SIGKILL",
            lambda: hosts.run(victim.name, f"docker kill -s KILL {shlex.quote(container)}",
                              "SIGKILL the leading Marathon"),
            marathon_back, FAULT_RECOVERY_TIMEOUT_S)

        zk_old = zookeeper_leader(hosts)
        assert zk_old is not None, "before the fault: no ZooKeeper leader"
        unit = hosts.data("zookeeper_service", zk_old)

        stopped_at: list[float] = []

        def zookeeper_back() -> str | None:
            # First another member leads (the measured failover), then the stopped one is
            # started again and must rejoin as a follower.
            modes = {m.name: zookeeper_mode(m.ip, int(hosts.data("zookeeper_client_port", m)))
                     for m in hosts.topology.zookeepers}
            if modes[zk_old.name] is None and "ZooKeeper new leader" not in run.timings:
                if "leader" not in modes.values():
                    return f"no new ZooKeeper leader yet: {modes}"
                run.timings["ZooKeeper new leader"] = time.monotonic() - stopped_at[0]
                hosts.run(zk_old.name, f"systemctl start {shlex.quote(unit)}",
                          "start the stopped ZooKeeper leader again")
            return checks.ensemble_problem(modes)

        def stop_leader() -> None:
            hosts.run(zk_old.name, f"systemctl stop {shlex.quote(unit)}",
                      "stop the ZooKeeper leader")
            stopped_at.append(time.monotonic())

        fault_under_load(
            run, hosts, "ZooKeeper leader stop",
            stop_leader, zookeeper_back, FAILOVER_SETTLE_TIMEOUT_S)
        all_lbs_answer(hosts, 2, "after the faults")


# -- Phase 8c: an agent lost without warning, under load ------------------------------------------

# `show stat` columns (HAProxy 2.x management guide, section 9.1): proxy, server, status.
STAT_PXNAME, STAT_SVNAME, STAT_STATUS = 0, 1, 17
AGENT_LOST_S = 12.0  # the cut lasts this long: well inside Mesos' 75 s agent ping timeout


def server_states(hosts: Hosts, lb: Any) -> dict[str, str]:
    """`{server name: status}` in the app's listener, from `show stat` on the LB's own stats
    socket (the path its haproxy.cfg gives; asked on the host, the socket is local)."""
    config = hosts.run(lb.name, f"cat {HAPROXY_CONFIG}", f"read {HAPROXY_CONFIG}")
    path = next(line.split()[2] for line in config.splitlines()
                if line.strip().startswith("stats socket"))
    script = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.settimeout(2)\n"
              f"s.connect({path!r})\ns.sendall(b'show stat\\n')\nb=b''\n"
              "while True:\n c=s.recv(65536)\n if not c: break\n b+=c\n"
              "sys.stdout.write(b.decode())")
    out = hosts.run(lb.name, f"python3 -c {shlex.quote(script)}", "haproxy show stat")
    listener = f"_{APP_SERVICE_PORT}"
    states = {}
    for line in out.splitlines():
        cols = line.split(",")
        if len(cols) > STAT_STATUS and cols[STAT_PXNAME].endswith(listener) and \
                cols[STAT_SVNAME] not in ("FRONTEND", "BACKEND"):
            states[cols[STAT_SVNAME]] = cols[STAT_STATUS]
    return states


def veth_of(sandbox: str, name: str) -> str:
    """The machine-side veth of a sandbox host (the sandbox's state file records it)."""
    state = json.loads((STATE_ROOT / sandbox / "state.json").read_text())
    return str(state["hosts"][name]["veth"])


def set_link(veth: str, up: bool) -> None:
    """`ip link set VETH up|down` on this machine: down, the host behind it is a powered-off
    machine to every other host (CalledProcessError or TimeoutExpired when ip fails)."""
    subprocess.run(["ip", "link", "set", veth, "up" if up else "down"], check=True, timeout=30)


def phase_agent_lost(run: E2ERun) -> None:
    """8c. An agent running an instance is cut off the network without warning (its veth on this
    machine goes down: to every other host it is a powered-off machine) while the app is asked
    through every surviving load balancer once a second. HAProxy's 1 s connect timeout with
    `retries`/`redispatch` sends each request that hit the dead backend to a live one, and its
    checks take the backend out: at most a second of failures is the goal, 0 is what we want.
    The link comes back before Mesos' agent ping timeout, and everything is as before."""
    with Hosts(run.inventory) as hosts:
        agents = hosts.topology.agents
        assert len(agents) >= 2, "losing an agent needs at least two"
        scale_app("8c-apps-spread", run, hosts, len(agents))
        want = marathon_task_addresses(marathon_app(hosts))
        lb_bound = 2 * bridge_interval_s(hosts) + BRIDGE_SLACK_S

        def lbs_listed() -> str | None:
            problems = [backends_problem(name, text, APP_SERVICE_PORT, want)
                        for name, text in lb_configs(hosts).items()]
            return "; ".join(p for p in problems if p) or None

        wait_until(lbs_listed, lb_bound, "every load balancer lists every instance")
        by_agent = app_containers(hosts)
        holders = [a for a in agents if by_agent.get(a.name)]
        assert len(holders) >= 2, f"the instances did not spread over two agents: {by_agent}"
        victim = holders[-1]
        survivors = [lb for lb in hosts.topology.load_balancers if lb.name != victim.name]
        assert survivors, f"{victim.name} is the only load balancer"
        prefixes = tuple(f"{a}_" for a in (victim.ip, victim.ip.replace(".", "_"), victim.name))
        dead = {name for name in server_states(hosts, survivors[0]) if name.startswith(prefixes)}
        assert dead, f"no backend of {victim.name} ({victim.ip}) in {survivors[0].name}'s stats"
        veth = veth_of(run.sandbox, victim.name)
        monitor = load_monitor(hosts, survivors)
        cut = False
        try:
            time.sleep(2 * AVAILABILITY_INTERVAL_S)  # a baseline before the fault
            set_link(veth, up=False)
            cut, cut_at = True, time.monotonic()

            def backends_down() -> str | None:
                up = {lb.name: sorted(n for n, s in server_states(hosts, lb).items()
                                      if n in dead and not s.startswith("DOWN"))
                      for lb in survivors}
                up = {name: servers for name, servers in up.items() if servers}
                return f"still in rotation: {up}" if up else None

            run.timings["lost agent's backends DOWN"] = wait_until(
                backends_down, AGENT_LOST_S, f"{victim.name}'s backends marked DOWN")
            time.sleep(max(0.0, AGENT_LOST_S - (time.monotonic() - cut_at)))
        finally:
            if cut:
                set_link(veth, up=True)
            monitor.stop()
        report = monitor.report()
        failed = monitor.failures()
        down_s = run.timings["lost agent's backends DOWN"] or 0.0
        print(f"[e2e] agent lost ({victim.name}, {len(dead)} backend(s)): out of every "
              f"surviving HAProxy after {down_s:.1f} s; {report}", flush=True)
        per_lb: dict[str, int] = {}
        for line in failed:
            ip = line.split()[2].rstrip(":")
            per_lb[ip] = per_lb.get(ip, 0) + 1
        run.timings["agent lost: failed requests"] = float(len(failed))
        assert all(count <= 1 for count in per_lb.values()), (
            f"more than a second of failures through a surviving load balancer ({report}):\n  "
            + "\n  ".join(failed[:20]))
        # Back as before: the agent's link is up, every backend serves again.
        wait_until(lambda: app_scale_problem(marathon_app(hosts), len(agents)),
                   FAULT_RECOVERY_TIMEOUT_S, "the app after the agent came back")
        all_lbs_answer(hosts, 2 * len(agents), "after the agent came back")
        scale_app("8c-apps-scale-1", run, hosts, 1)


# -- Phase 9: grow the masters 3 -> 5 -------------------------------------------------------------


def zookeeper_command(ip: str, port: int, word: str, timeout_s: float) -> str | None:
    """A four-letter word's whole answer, asked straight from this machine (the bridge
    routes); None when the member is silent. ZooKeeper closes the connection after it."""
    try:
        with socket.create_connection((ip, port), timeout=timeout_s) as conn:
            conn.sendall(word.encode())
            chunks = []
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
    except OSError:
        return None
    return b"".join(chunks).decode(errors="replace")


def zookeeper_mode(ip: str, port: int, timeout_s: float = 2.0) -> str | None:
    """`Mode` from `srvr`; None if silent."""
    answer = zookeeper_command(ip, port, "srvr", timeout_s)
    return None if answer is None else checks.parse_srvr(answer).get("Mode")


def mesos_elected(ip: str, port: int) -> bool:
    try:
        metrics = get_json(f"http://{ip}:{port}/metrics/snapshot", timeout_s=1)
    except AssertionError:
        return False
    return float(metrics.get("master/elected") or 0) == 1.0


class AvailabilityMonitor:
    """Background samplers while a deploy runs, stopped by `stop()` (bounded join).

    - the app: GET /greet/world through every load balancer once a second (each its own sample)
    - the ZooKeeper leader: does any member answer `srvr` with `Mode: leader`
    - the Mesos leader: does any master report `master/elected` 1
    """

    def __init__(self, lb_ips: Sequence[str], zookeepers: Sequence[tuple[str, int]],
                 masters: Sequence[tuple[str, int]]) -> None:
        self.lb_ips, self.zookeepers, self.masters = list(lb_ips), list(zookeepers), list(masters)
        # (monotonic time, wall-clock time, lb, problem or None): the wall clock finds the
        # moment in the hosts' journals (diagnostics.py).
        self.requests: list[tuple[float, float, str, str | None]] = []
        self.zk_leader: list[tuple[float, bool]] = []
        self.mesos_leader: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._requests, daemon=True),
                         threading.Thread(target=self._leaders, daemon=True)]

    def start(self) -> AvailabilityMonitor:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _requests(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            for ip in self.lb_ips:
                url = f"http://{ip}:{APP_SERVICE_PORT}{APP_PATH}"
                try:
                    body = http_get(url, timeout_s=AVAILABILITY_TIMEOUT_S).strip()
                    problem = None if body == APP_BODY else f"answered {body[:60]!r}"
                except AssertionError as exc:
                    problem = str(exc)
                self.requests.append((time.monotonic(), time.time(), ip, problem))
            self._stop.wait(max(0.0, AVAILABILITY_INTERVAL_S - (time.monotonic() - started)))

    def _leaders(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            zk = any(zookeeper_mode(ip, port, 1.0) == "leader" for ip, port in self.zookeepers)
            self.zk_leader.append((time.monotonic(), zk))
            mesos = any(mesos_elected(ip, port) for ip, port in self.masters)
            self.mesos_leader.append((time.monotonic(), mesos))
            self._stop.wait(max(0.0, AVAILABILITY_INTERVAL_S - (time.monotonic() - started)))

    def failures(self) -> list[str]:
        first = self.requests[0][0] if self.requests else 0.0
        return [f"+{when - first:.1f} s {ip}: {problem} (at {utc_clock(wall)})"
                for when, wall, ip, problem in self.requests if problem]

    def report(self) -> str:
        failed = self.failures()
        return (f"{len(self.requests)} requests through {len(self.lb_ips)} load balancer(s), "
                f"{len(failed)} failed; longest stretch without a ZooKeeper leader "
                f"{longest_outage(self.zk_leader):.1f} s, without an elected Mesos master "
                f"{longest_outage(self.mesos_leader):.1f} s "
                f"({len(self.zk_leader)} leader samples)")


def replicated_log_inodes(hosts: Hosts, members: Sequence[Any]) -> dict[str, str]:
    """`{master: inode of <work_dir>/replicated_log}`: moved aside and recreated = new inode."""
    found = {}
    for member in members:
        path = f"{hosts.data('mesos_master_work_dir', member).rstrip('/')}/replicated_log"
        found[member.name] = hosts.run(member.name, f"stat -c %i {shlex.quote(path)}",
                                       f"stat {path}").strip()
    return found


def grown_cluster_problem(hosts: Hosts) -> str | None:
    """None when the 5-master cluster is whole (phase 9's assertions, in dependency order)."""
    topo = hosts.topology
    masters = topo.masters
    want_quorum = str(len(masters) // 2 + 1)
    for member in masters:
        env = hosts.run(member.name, "cat /etc/default/mesos-master", "/etc/default/mesos-master")
        quorum = parse_env_lines(env.splitlines(), "MESOS").get("quorum")
        if quorum != want_quorum:
            return f"{member.name}: MESOS_QUORUM={quorum}, want {want_quorum}"
    modes = {m.name: zookeeper_mode(m.ip, int(hosts.data("zookeeper_client_port", m)))
             for m in topo.zookeepers}
    problem = checks.ensemble_problem(modes)
    if problem:
        return problem
    pid, problem = leader_agreement(reported_leaders(hosts, masters))
    if pid is None:
        return problem
    leader = next((m for m in masters if m.ip == parse_master_pid(pid)[0]), None)
    if leader is None:
        return f"the leader {pid} is none of the masters"
    state = master_state(hosts, leader)
    if state.get("activated_slaves") != len(topo.agents):
        return (f"{leader.name}: activated_slaves={state.get('activated_slaves')}, "
                f"want {len(topo.agents)}")
    credentials = checks.marathon_auth(hosts.topology.all_members[0])
    marathon_leaders = {}
    for member in topo.marathons:
        url = marathon_url(hosts, member)
        answer = checks.probe(lambda u=url: http_get(f"{u}/ping", credentials, 2).strip())
        if answer != "pong":
            return f"{member.name}: Marathon /ping answered {answer!r}"
        answer = checks.probe(lambda u=url: get_json(f"{u}/v2/leader", credentials, 2))
        if isinstance(answer, AssertionError):
            return f"{member.name}: Marathon /v2/leader: {answer}"
        marathon_leaders[member.name] = answer.get("leader")
    if len(set(marathon_leaders.values())) != 1 or not all(marathon_leaders.values()):
        return f"the Marathons do not agree on one leader: {marathon_leaders}"
    return app_scale_problem(marathon_app(hosts), 1)


def phase_grow_masters(run: E2ERun) -> None:
    """9. Grow the masters (and the ZooKeeper ensemble, and Marathon) 3 -> 5 on the live cluster."""
    with Hosts(run.inventory) as hosts:
        old = hosts.topology.masters
        assert len(old) == 3, f"phase 9 grows 3 masters to 5, the inventory has {len(old)}"
        old_logs = replicated_log_inodes(hosts, old)
    old_hosts = [m.name for m in _topology(run.inventory).all_members]
    before = service_stamps(run.inventory, old_hosts)

    text = run.inventory.read_text()
    names = [m.name for m in old]
    ids = [int(m.data["zookeeper_id"]) for m in old]
    new_masters = []
    for _ in range(2):  # zookeeper_id never renumbered: the new ones come after the highest
        name = next_agent_name(names, prefix="master")
        text = add_master_line(text, name, max(ids) + 1)
        names.append(name)
        ids.append(max(ids) + 1)
        new_masters.append(name)
    run.inventory.write_text(text)
    grown = _topology(run.inventory)
    assert [m.name for m in grown.masters] == [m.name for m in old] + new_masters, (
        f"added {new_masters} to the inventory copy, pyinfra's masters are "
        f"{[m.name for m in grown.masters]}")

    result = run_logged("9-sandbox-up-masters", [PYTHON, "-m", "sandbox", "up",
                                                 str(run.inventory)], SANDBOX_UP_TIMEOUT_S)
    run.timings["sandbox up (+2 masters)"] = result.seconds
    require_success("sandbox up (+2 masters)", result)

    with Hosts(run.inventory) as hosts:
        topo = hosts.topology
        monitor = AvailabilityMonitor(
            [lb.ip for lb in topo.load_balancers],
            [(m.ip, int(hosts.data("zookeeper_client_port", m))) for m in topo.zookeepers],
            [(m.ip, int(hosts.data("mesos_master_port", m))) for m in topo.masters])
    monitor.start()
    try:
        result = run_logged("9-deploy-grow-masters",
                            [PYINFRA, "-y", str(run.inventory), "deploy.py"], DEPLOY_TIMEOUT_S)
    finally:
        monitor.stop()
    run.timings["grow masters 3->5"] = result.seconds
    print(f"[e2e] during the growth deploy: {monitor.report()}", flush=True)
    require_success("grow masters 3->5", result)

    with Hosts(run.inventory) as hosts:
        seconds = wait_until(lambda: grown_cluster_problem(hosts), GROW_SETTLE_TIMEOUT_S,
                             "after growing the masters 3 -> 5")
        run.timings["grow masters settled"] = seconds
        all_lbs_answer(hosts, 2, "after growing the masters")
        kept = replicated_log_inodes(hosts, old)
        assert kept == old_logs, (
            f"the old masters' replicated logs must be the same directories (data kept): "
            f"inodes before {old_logs}, after {kept}")

    after = service_stamps(run.inventory, old_hosts)
    restarted = restarted_services(before, after)
    print("[e2e] restarted on the old hosts by the growth:\n  " + "\n  ".join(restarted),
          flush=True)
    # Growth changes zoo.cfg, the masters' quorum and every zk:// URL: ZooKeeper, the masters,
    # Marathon and the agents take new config. Docker and HAProxy (reloads only) must not restart.
    unexpected = [line for line in restarted if line.split(": ")[1] in ("docker", "haproxy")]
    assert not unexpected, "growing the masters restarted:\n  " + "\n  ".join(unexpected)
    failed = monitor.failures()
    assert not failed, (f"the app failed {len(failed)} request(s) while the masters grew "
                        f"({monitor.report()}):\n  " + "\n  ".join(failed[:20]))

    cluster_checks("9-cluster-checks-5-masters", run, "cluster checks (5 masters)")
    require_no_changes("the re-run with 5 masters",
                       deploy("9-deploy-noop-5-masters", run, "no-op re-run (5 masters)"))


STATUS_TIMEOUT_S = 120
BACKUP_TIMEOUT_S = 600
RESTORE_TIMEOUT_S = 1200
ZK_CLI = "/usr/share/zookeeper/bin/zkCli.sh"


def zk_cli(run: E2ERun, host: str, port: int, commands: Sequence[str]) -> str:
    """zkCli's output (stdout and stderr: it reports a refusal such as "Insufficient
    permission" on stderr and exits 1) for `commands`, fed on its stdin over SSH (a digest
    given with `addauth` stays off every command line). The caller judges the output."""
    result = subprocess.run(
        [PYTHON, "-m", "sandbox", "ssh", str(run.inventory), host, ZK_CLI, "-server",
         f"127.0.0.1:{port}"], input="\n".join([*commands, "quit"]) + "\n",
        capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    return result.stdout + result.stderr


def cluster_status(step: str, run: E2ERun) -> StepResult:
    """`python -m pyinfra_mesos status`: the operator's view over SSH, exit 0 when healthy."""
    return run_logged(step, [PYTHON, "-m", "pyinfra_mesos", "status", str(run.inventory)],
                      STATUS_TIMEOUT_S)


def wait_healthy_status(step: str, run: E2ERun, timeout_s: float) -> float:
    """Seconds until `status` exits 0 (the cluster as the operator sees it is healthy)."""
    started = time.monotonic()
    last: StepResult | None = None
    while time.monotonic() - started < timeout_s:
        last = cluster_status(step, run)
        if last.rc == 0:
            return time.monotonic() - started
        time.sleep(5)
    pytest.fail(f"{step}: `status` still unhealthy after {timeout_s:.0f} s "
                f"(log: {last.log if last else '-'}):\n{tail(last.output) if last else ''}")


def phase_backup_restore(run: E2ERun) -> None:
    """10. Back up ZooKeeper (Mesos and Marathon state) to this machine, delete /marathon, restore:
    the app comes back, the operator's status is healthy, and a re-run changes nothing."""
    out = run.inventory.parent / "backups"
    result = run_logged("10-backup", [PYTHON, "-m", "pyinfra_mesos", "backup",
                                      str(run.inventory), "--out", str(out)], BACKUP_TIMEOUT_S)
    run.timings["backup"] = result.seconds
    require_success("backup", result)
    lines = [line for line in result.output.splitlines() if line.startswith("backup: ")]
    assert lines, f"backup printed no 'backup: DIR' line (log: {result.log})"
    backup_dir = lines[-1].removeprefix("backup: ").strip()
    with Hosts(run.inventory) as hosts:
        # Marathon stopped first: a running instance recreates /marathon (its leader latch)
        # at once, and the point is that its state is gone, not that the node is.
        for member in hosts.topology.marathons:
            hosts.run(member.name, "systemctl stop marathon", "systemctl stop marathon")
        zk = hosts.topology.zookeepers[0]
        port = int(hosts.data("zookeeper_client_port", zk))
        # Marathon's nodes are CREATOR_ALL: only its digest may delete them (given on stdin).
        digest = zookeeper_credentials(zk.data, PROJECT_ROOT, "marathon")
        zk_cli(run, zk.name, port, ([f"addauth digest {digest}"] if digest else [])
               + ["deleteall /marathon"])
        listing = hosts.run(zk.name, f"{ZK_CLI} -server 127.0.0.1:{port} ls /",
                            "list ZooKeeper's root")
        assert "marathon" not in listing.split("[", 1)[-1], (
            f"/marathon is still in ZooKeeper after deleteall: {listing[-300:]}")
    print("[e2e] /marathon deleted from ZooKeeper; restoring", flush=True)
    result = run_logged("10-restore", [PYTHON, "-m", "pyinfra_mesos", "restore",
                                       str(run.inventory), backup_dir, "--yes"],
                        RESTORE_TIMEOUT_S)
    run.timings["restore"] = result.seconds
    require_success("restore", result)
    run.timings["healthy after restore"] = wait_healthy_status(
        "10-status-after-restore", run, FAILOVER_SETTLE_TIMEOUT_S)
    with Hosts(run.inventory) as hosts:
        wait_until(lambda: app_scale_problem(marathon_app(hosts), 1), SETTLE_TIMEOUT_S,
                   "the app back in Marathon after the restore")
        all_lbs_answer(hosts, 2, "after the restore")
    cluster_checks("10-cluster-checks-restored", run, "cluster checks (restored)")
    require_no_changes("the re-run after the restore",
                       deploy("10-deploy-noop-restored", run, "no-op re-run (restored)"))


# -- Phase 11: a deploy killed between a config write and its restart --------------------------

# A Mesos master flag real Mesos takes (default 50), changed only to make the masters' env file
# differ; the cluster keeps it after this last phase.
INTERRUPT_DATA = 'mesos_master_flags={"max_completed_frameworks": "60"}'
# The operation that follows the masters' config write in tasks/mesos_master.py: once pyinfra
# starts it, every master's new env file is written and none has restarted yet.
INTERRUPT_AFTER = "mesos-master enabled and running"
INTERRUPT_WAIT_S = 900.0
# tasks/mesos_master.py's rolling restart of running masters (one turn each, then the leader).
MASTER_RESTART_OP = "Restart running masters with the new config"
# Phase 5: seconds after the new agent's package install started (downloads and unpacks run).
KILL_DURING_APT_DELAY_S = 8.0


def run_killed_at(step: str, command: Sequence[str], marker: str,
                  timeout_s: float, delay_s: float = 0.0,
                  when: Callable[[], bool] | None = None) -> StepResult:
    """Run `command` like run_logged, SIGKILL its whole process group `delay_s` after its
    output first has a line containing `marker` and then `when()` (polled, if given) is true:
    an operator's run killed mid-way. rc is the killed process's; AssertionError when the
    marker (or `when`) never came within `timeout_s` or the run ended first."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{step}.log"
    print(f"\n[e2e] {step}: {' '.join(command)}  (killed at {marker!r}; log: {log})", flush=True)
    started = time.monotonic()
    with log.open("w") as handle:
        proc = subprocess.Popen(list(command), cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL,
                                stdout=handle, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                start_new_session=True)
        seen = False
        while time.monotonic() - started < timeout_s and proc.poll() is None:
            if marker in log.read_text(errors="replace") and (when is None or when()):
                seen = True
                time.sleep(delay_s)
                assert proc.poll() is None, (
                    f"{step}: the run ended within {delay_s} s of {marker!r} (log: {log})")
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.1)
        if proc.poll() is None and not seen:
            _kill_group(proc)
        rc = proc.wait(timeout=30)
    output = log.read_text(errors="replace")
    assert seen, (f"{step}: the run never reached {marker!r}"
                  f"{' and its condition' if when else ''} (exit {rc}, log: {log})\n"
                  f"{tail(output)}")
    return StepResult(rc, output, time.monotonic() - started, log)


def phase_interrupted_deploy(run: E2ERun) -> None:
    """11. A deploy that changes the masters' config is SIGKILLed after writing it and before
    any restart: the masters run the old config while systemd calls them active. The cluster
    checks catch the drift; the next run (same change) restarts them, one at a time, although
    no file changes in it; then the checks pass and a re-run changes nothing."""
    killed = run_killed_at("11-deploy-killed", [
        PYINFRA, "-y", str(run.inventory), "deploy.py", "--data", INTERRUPT_DATA],
        f"Starting operation: tasks/mesos_master.py | {INTERRUPT_AFTER}", INTERRUPT_WAIT_S)
    print(f"[e2e] deploy SIGKILLed after {killed.seconds:.1f} s, the masters' config written",
          flush=True)
    drift = run_logged("11-checks-see-drift", [
        PYTHON, "-m", "pytest", "tests/cluster/test_services_fresh.py", "--inventory",
        str(run.inventory), "-p", "no:cacheprovider", "-q"], CHECKS_TIMEOUT_S)
    assert drift.rc not in (0, None) and "mesos-master" in drift.output, (
        "the cluster checks must fail on masters running an older config than their files "
        f"(exit {drift.rc}, log: {drift.log})\n{tail(drift.output)}")
    with Hosts(run.inventory) as hosts:
        by_ip = {m.ip: m.name for m in hosts.topology.masters}
        pid, problem = leader_agreement(reported_leaders(hosts, hosts.topology.masters))
        assert pid, f"before the re-run: {problem}"
        leader = by_ip[parse_master_pid(pid)[0]]
    result = run_logged("11-deploy-converges", [
        PYINFRA, "-y", str(run.inventory), "deploy.py", "--data", INTERRUPT_DATA],
        DEPLOY_TIMEOUT_S)
    run.timings["re-run after a killed deploy"] = result.seconds
    require_success("the re-run after a killed deploy", result)
    # Leader last: every other master restarted in its own turn, the leader in the last one.
    last = operation_hosts(result.output, f"{MASTER_RESTART_OP}: the leader, last")
    every = operation_hosts(result.output, f"{MASTER_RESTART_OP}: ")  # the turns, then last
    assert last == [leader], (
        f"the leading master {leader} must restart last, alone: the last turn restarted {last} "
        f"(log: {result.log})")
    assert sorted(every) == sorted(by_ip.values()) and every[-1] == leader, (
        f"every master restarts once, the leader last: {every} (log: {result.log})")
    print(f"[e2e] the masters restarted one at a time, the leader {leader} last", flush=True)
    cluster_checks("11-cluster-checks-converged", run, "cluster checks (after the re-run)")
    require_no_changes("the run after the convergence", run_logged(
        "11-deploy-noop", [PYINFRA, "-y", str(run.inventory), "deploy.py",
                           "--data", INTERRUPT_DATA], DEPLOY_TIMEOUT_S))
    print("[e2e] killed deploy: the checks saw the drift, the re-run restarted the masters, "
          "the next run changed nothing", flush=True)


# The phases, one test each, in the order they run. A phase names what it needs: the deployed
# cluster (`deployed`), which the first phase builds and any phase run alone (`-k`) builds first.
# After a failed phase the cluster is in an unknown state: the phases after it fail at once,
# naming it, rather than reporting faults of their own (nothing is skipped).


def test_01_bare_deploy(e2e_run: E2ERun) -> None:
    """1-2. Bare hosts, then the deploy from bare hosts (timed)."""
    with phase(e2e_run, "bare deploy", needs_cluster=False):
        ensure_deployed(e2e_run)


def test_03_cluster_checks_and_status(e2e_run: E2ERun) -> None:
    """3. The checks users run (app checks in tests/cluster included), and the operator's
    status."""
    with phase(e2e_run, "cluster checks and status"):
        cluster_checks("3-cluster-checks", e2e_run, "cluster checks")
        result = cluster_status("3-status", e2e_run)
        e2e_run.timings["status"] = result.seconds
        require_success("status (healthy cluster)", result)


def test_03b_marathon_refuses_anonymous(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "Marathon refuses anonymous requests"):
        phase_marathon_refuses_anonymous(e2e_run)


def test_03c_outsider_scan(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "firewall scan from outside the cluster"):
        phase_outsider_scan(e2e_run)


def test_03d_mesos_refuses_unauthenticated(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "Mesos refuses the unauthenticated"):
        phase_mesos_refuses_unauthenticated(e2e_run)


def test_03e_zookeeper_and_registry_refuse_anonymous(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "ZooKeeper and the registry refuse the anonymous"):
        phase_zookeeper_and_registry_refuse_anonymous(e2e_run)


def test_04_noop_rerun(e2e_run: E2ERun) -> None:
    """4. A converged cluster: a re-run changes nothing on any host."""
    with phase(e2e_run, "no-op re-run"):
        require_no_changes("the re-run on a converged cluster",
                           deploy("4-deploy-noop", e2e_run, "no-op re-run"))


def test_04b_refused_inventory(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "a bad inventory refused"):
        phase_refused_inventory(e2e_run)


def test_04c_secrets_never_shown(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "secrets never shown"):
        phase_secrets_never_shown(e2e_run)


def test_05_scale_out(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "scale out by one agent"):
        phase_scale_out(e2e_run)


def test_06_app_scaling(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "app scaling"):
        phase_app_scaling(e2e_run)


def test_06b_app_forms(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "apps in the forms Marathon rewrites"):
        phase_app_forms(e2e_run)


def test_07_marathon_outage(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "Marathon outage"):
        phase_marathon_outage(e2e_run)


def test_08_master_failover(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "Mesos master failover"):
        phase_master_failover(e2e_run)


def test_08b_faults_under_load(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "faults under load"):
        phase_faults(e2e_run)


def test_08c_agent_lost_under_load(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "an agent lost under load"):
        phase_agent_lost(e2e_run)


def test_08d_agent_drained_under_load(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "an agent drained under load"):
        phase_drain(e2e_run)


def test_09_grow_masters(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "grow masters 3 -> 5"):
        phase_grow_masters(e2e_run)


def test_10_backup_restore(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "backup and restore"):
        phase_backup_restore(e2e_run)


def test_11_interrupted_deploy(e2e_run: E2ERun) -> None:
    with phase(e2e_run, "a deploy killed between config and restart"):
        phase_interrupted_deploy(e2e_run)


def test_12_upgrade_and_downgrade(e2e_run: E2ERun) -> None:
    """12. Rolling upgrade of aventer-mesos and the Marathon image under load, then back (with
    phase 11's data, so its change is not undone)."""
    with phase(e2e_run, "upgrade and downgrade"):
        phase_upgrade(e2e_run, base_data=(INTERRUPT_DATA,))


def test_12b_docker_restarted_under_load(e2e_run: E2ERun) -> None:
    """12b. docker.io moved to the sandbox's second build and back by deploys (daemon.json
    changed and back with it), Docker restarted on every Docker host, each agent's tasks moved
    off first, under load (with phase 11's data, as 12)."""
    with phase(e2e_run, "Docker moved and restarted under load"):
        phase_docker_restart(e2e_run, base_data=(INTERRUPT_DATA,))


def test_13_shrink_masters(e2e_run: E2ERun) -> None:
    """13. Shrink the masters 5 -> 3 under load: the newest cut off for good, `remove` the two
    newest (`--dead` for the cut one), delete their lines,
    the deploy refuses without mesos_allow_master_removal, then lowers the quorum with it (the
    replicated log kept; phase 11's data passed on, as phase 12 does)."""
    with phase(e2e_run, "shrink masters 5 -> 3"):
        phase_shrink(e2e_run, base_data=(INTERRUPT_DATA,))


def test_14_remove_agent(e2e_run: E2ERun) -> None:
    """14. Remove the newest agent under load: `remove` drains it and masks its agent, HAProxy
    and Docker (the machine left DOWN), its line is deleted, the deploy makes every other host
    forget it (/etc/hosts, firewall), checks, zero-change re-run (phase 11's data passed on)."""
    with phase(e2e_run, "remove an agent"):
        phase_remove_agent(e2e_run, base_data=(INTERRUPT_DATA,))


def test_15_readd_agent(e2e_run: E2ERun) -> None:
    """15. The agent phase 14 removed comes back: its line back, `undrain` (the machine UP, the
    masked agent left to the deploy), the deploy unmasks and starts it; it is active under its
    old agent id, every LB answers, checks, zero-change re-run (phase 11's data passed on)."""
    with phase(e2e_run, "add the removed agent back"):
        phase_readd_agent(e2e_run, base_data=(INTERRUPT_DATA,))
