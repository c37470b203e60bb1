"""Fixtures for the cluster checks: inventory -> topology -> one testinfra host per cluster host.

    pytest tests/cluster --inventory inventory/sandbox.py

The inventory is loaded offline the way pyinfra loads it (group_data included), so the checks see
exactly the hosts and data the deploy saw. Every check talks to the hosts over SSH (paramiko) and
runs HTTP requests with curl *on* the hosts: the operator's machine may not reach the cluster
network, but the hosts reach each other.

The pure helpers at the top (connection specs, output parsers, the bounded retry) carry no pytest
state; tests/unit/test_cluster_conftest.py covers them.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Inventories import `sandbox.inventory` and the loader imports `pyinfra_mesos`; both live at the
# project root, which is not on sys.path when pytest is started as `.venv/bin/pytest`.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

# One host-key policy for the checks and the operator's status/backup (same data, same rule).
from pyinfra_mesos.remote import host_key_checking  # noqa: E402,F401
from pyinfra_mesos.topology import Member, Topology, topology_from_inventory  # noqa: E402

# Elections (ZooKeeper, Mesos, Marathon) and agent registration settle within seconds on a healthy
# cluster; 60 s covers a checks run started right after a deploy restarted something.
DEFAULT_CONVERGE_TIMEOUT_S = 60.0
# Every HTTP request and four-letter word runs on a host; bound each one so a hung service fails
# the check instead of hanging the run.
REQUEST_TIMEOUT_S = 5

# Fixture names that pytest_generate_tests parametrises, and the topology group each one walks.
PER_HOST_FIXTURES: dict[str, str] = {
    "master": "masters",
    "agent": "agents",
    "zookeeper": "zookeepers",
    "marathon_host": "marathons",
    "load_balancer": "load_balancers",
    "cluster_host": "all_members",
}


# -- Connection specs (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class HostConnection:
    """How testinfra reaches one inventory host.

    `host_key_checking` is "yes" (unknown or changed keys refused), "accept-new" (unknown keys
    accepted, changed keys refused) or "no" (sandbox: every key accepted, nothing remembered).
    """

    name: str
    hostspec: str
    host_key_checking: str
    known_hosts_files: tuple[str, ...] = ()


def testinfra_hostspec(name: str, data: Mapping[str, Any]) -> str:
    """`paramiko://user@host:port?ssh_identity_file=KEY` from pyinfra's ssh_* host data."""
    user = data.get("ssh_user") or "root"
    address = str(data.get("ssh_hostname") or name)
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"  # an IPv6 literal needs brackets before `:port`
    port = int(data.get("ssh_port") or 22)
    spec = f"paramiko://{user}@{address}:{port}"
    key = data.get("ssh_key")
    if key:
        spec += "?" + urllib.parse.urlencode({"ssh_identity_file": str(key)})
    return spec


def host_connection(name: str, data: Mapping[str, Any]) -> HostConnection:
    known_hosts = data.get("ssh_known_hosts_file")
    files = (str(known_hosts),) if known_hosts and known_hosts != "/dev/null" else ()
    return HostConnection(name, testinfra_hostspec(name, data), host_key_checking(data), files)


# The ssh config handed to testinfra for hosts with checking off: testinfra's paramiko backend
# ignores --ssh-extra-args and honours only `StrictHostKeyChecking no` from a config file.
# UserKnownHostsFile documents the intent (nothing is remembered) for anyone reading the file.
INSECURE_SSH_CONFIG = """\
# Written by tests/cluster/conftest.py for hosts whose inventory data says
# ssh_strict_host_key_checking="no" (throw-away sandbox hosts). Removed after the run.
Host *
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
"""


# -- Output parsers (pure) ---------------------------------------------------------------------


def parse_srvr(text: str) -> dict[str, str]:
    """ZooKeeper's `srvr` answer (`Key: value` lines) as a dict; `Mode` is the one that matters."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            result.setdefault(key.strip(), value.strip())
    return result


def ensemble_problem(modes: Mapping[str, str | None]) -> str | None:
    """None when the modes form a healthy ensemble, else why not.

    Healthy: one `standalone` for a 1-node ensemble; otherwise exactly one `leader` and every other
    member `follower`. A multi-node ensemble in standalone mode is the classic "every myid = 1"
    mistake: each node serves alone and the cluster splits.
    """
    if not modes:
        return "no ZooKeeper hosts in the inventory"
    summary = ", ".join(f"{name}={mode or 'no answer'}" for name, mode in sorted(modes.items()))
    if len(modes) == 1:
        (mode,) = modes.values()
        if mode in ("standalone", "leader"):
            return None
        return f"single ZooKeeper is not serving: {summary}"
    leaders = [n for n, m in modes.items() if m == "leader"]
    followers = [n for n, m in modes.items() if m == "follower"]
    if len(leaders) == 1 and len(followers) == len(modes) - 1:
        return None
    return (f"expected exactly 1 leader and {len(modes) - 1} followers in the ZooKeeper "
            f"ensemble, got {len(leaders)} leader(s): {summary}")


def parse_listening_ports(ss_output: str) -> set[int]:
    """TCP ports in LISTEN state from `ss -Htln` (any local address, IPv4 or IPv6)."""
    ports: set[int] = set()
    for line in ss_output.splitlines():
        fields = line.split()
        # State Recv-Q Send-Q Local:Port Peer:Port [Process]
        if len(fields) < 4:
            continue
        _, _, port = fields[3].rpartition(":")
        if port.isdigit():
            ports.add(int(port))
    return ports


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """A JSON object from an HTTP body, or AssertionError naming what was fetched."""
    try:
        value = json.loads(text)
    except ValueError:
        raise AssertionError(f"{what}: not JSON: {text[:200]!r}") from None
    if not isinstance(value, dict):
        raise AssertionError(f"{what}: expected a JSON object, got {text[:200]!r}")
    return value


def master_pid_address(pid: str) -> str:
    """`master@10.0.0.1:5050` -> `10.0.0.1:5050` (the form /master/state uses for `leader`)."""
    return pid.rpartition("@")[2]


def slave_matches_member(slave: Mapping[str, Any], member: Member) -> bool:
    """Does a `/master/state` slaves[] entry belong to this inventory agent (by name or ip)?"""
    names = {member.name, member.ip}
    if slave.get("hostname") in names:
        return True
    address = master_pid_address(str(slave.get("pid", ""))).rpartition(":")[0]
    return address in names


def wait_for(check: Callable[[], str | None], timeout_s: float, interval_s: float = 2.0,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> str | None:
    """Run `check` until it returns None (healthy) or `timeout_s` passes; the last problem or None.

    A check that raises AssertionError counts as a problem with that message, so one-off
    failures (a master mid-election answering garbage) are retried like any other.
    """
    deadline = clock() + timeout_s
    while True:
        try:
            problem = check()
        except AssertionError as exc:
            problem = str(exc)
        if problem is None:
            return None
        if clock() >= deadline:
            return f"{problem} (still after {timeout_s:.0f} s)"
        sleep(interval_s)


@dataclass(frozen=True, repr=False)
class HostParam(Member):
    """A Member whose repr is its name and address only.

    pytest prints test arguments in tracebacks; host data can hold secrets (Marathon's
    credentials), and pages of group_data help nobody reading a failure.
    """

    def __repr__(self) -> str:
        return f"<{self.name} {self.ip}>"


def redacted(topology: Topology) -> Topology:
    """The topology with every member a HostParam (same names, addresses and data)."""
    return replace(topology, **{
        f.name: tuple(HostParam(m.name, m.ip, m.data) for m in getattr(topology, f.name))
        for f in fields(topology)})


# -- Inventory loading ---------------------------------------------------------------------------


def load_inventory(path: Path) -> Any:
    """The pyinfra Inventory for `path`, loaded offline with group_data from the project root."""
    try:
        from pyinfra_mesos.inventory_loader import load_inventory as project_loader
    except ImportError:
        project_loader = None
    if project_loader is not None:
        return project_loader(str(path))
    # The same two lines the project's loader runs: pyinfra's CLI inventory code, cwd = project
    # root so group_data/ is found the way `pyinfra inventory/x.py deploy.py` finds it.
    from pyinfra_cli.inventory import make_inventory

    return make_inventory(str(path), cwd=str(PROJECT_ROOT))


# -- testinfra hosts -----------------------------------------------------------------------------


def _strict_backend_class() -> type:
    """A testinfra paramiko backend that really checks host keys.

    testinfra's own paramiko backend never loads known_hosts and accepts any key with a warning,
    so "host-key checking on" needs this: known keys from ~/.ssh/known_hosts,
    /etc/ssh/ssh_known_hosts and the inventory's ssh_known_hosts_file; unknown keys refused
    ("yes") or accepted for this run ("accept-new"); a changed key always refused (paramiko raises
    BadHostKeyException for a known host with a different key).
    """
    import paramiko
    from testinfra.backend.paramiko import ParamikoBackend

    class HostKeyCheckingParamikoBackend(ParamikoBackend):
        NAME = "paramiko"

        def __init__(self, hostspec: str, *args: Any, known_hosts_files: Sequence[str] = (),
                     accept_new: bool = False, **kwargs: Any) -> None:
            super().__init__(hostspec, *args, **kwargs)
            self.known_hosts_files = tuple(known_hosts_files)
            self.accept_new = accept_new

        @functools.cached_property
        def client(self) -> paramiko.SSHClient:
            client = paramiko.SSHClient()
            client.load_system_host_keys()
            for extra in ("/etc/ssh/ssh_known_hosts", *self.known_hosts_files):
                if os.path.isfile(os.path.expanduser(extra)):
                    client.load_system_host_keys(os.path.expanduser(extra))
            client.set_missing_host_key_policy(
                paramiko.AutoAddPolicy() if self.accept_new else paramiko.RejectPolicy())
            cfg: dict[str, Any] = {
                "hostname": self.host.name,
                "port": int(self.host.port) if self.host.port else 22,
                "username": self.host.user,
                "timeout": self.timeout,
                "password": self.host.password,
            }
            # Like the stock backend, honour ~/.ssh/config (a user's own StrictHostKeyChecking
            # there still wins, as it does for OpenSSH).
            user_config = os.path.expanduser("~/.ssh/config")
            if os.path.isfile(user_config):
                with open(user_config) as handle:
                    parsed = paramiko.SSHConfig()
                    parsed.parse(handle)
                self._load_ssh_config(client, cfg, parsed, os.path.dirname(user_config))
            if self.ssh_identity_file:
                cfg["key_filename"] = self.ssh_identity_file
            client.connect(**cfg)
            return client

    return HostKeyCheckingParamikoBackend


def make_testinfra_host(connection: HostConnection, insecure_ssh_config: Path | None) -> Any:
    """A testinfra Host for one connection spec (not connected until the first command)."""
    import testinfra

    if connection.host_key_checking == "no":
        if insecure_ssh_config is None:
            raise ValueError("an ssh config file is needed for hosts without host-key checking")
        return testinfra.get_host(connection.hostspec, ssh_config=str(insecure_ssh_config))
    from testinfra.backend import parse_hostspec
    from testinfra.host import Host

    address, kwargs = parse_hostspec(connection.hostspec)
    kwargs.pop("connection", None)
    backend = _strict_backend_class()(
        address, known_hosts_files=connection.known_hosts_files,
        accept_new=connection.host_key_checking == "accept-new", **kwargs)
    host = Host(backend)
    backend.set_host(host)
    return host


# -- Commands run on the hosts -------------------------------------------------------------------


def run_on(host: Any, command: str, what: str) -> str:
    """stdout of `command` on a host; AssertionError naming `what` (not the command) on failure.

    The command is kept out of the message: Marathon's credentials can be part of it.
    """
    result = host.run(command)
    if result.rc != 0:
        raise AssertionError(f"{what}: exit {result.rc}: {(result.stderr or result.stdout)[:300]}")
    return result.stdout


# Written 0600 by the deploy on every Marathon host (pyinfra_mesos/deploy/marathon_files.py).
MARATHON_CURL_CONFIG = "/etc/pyinfra-mesos/marathon-curl.conf"


def http_get(host: Any, url: str, what: str, credentials: str = "") -> str:
    """GET `url` with curl on `host`; the body, or AssertionError on a connection or HTTP error.

    Redirects are followed: a non-leading Mesos master answers leader-only endpoints with 307 to
    `//<leader>:<port><path>` (apache/mesos 1.11.0 src/master/http.cpp). With `credentials`
    set, curl reads them from the deploy's 0600 config on that host (a Marathon host), never
    from its command line, where any local user could read them in `ps`.
    """
    auth = f"-K {MARATHON_CURL_CONFIG} " if credentials else ""
    command = (f"curl -sS --fail --location --max-time {REQUEST_TIMEOUT_S} {auth}"
               f"{shlex.quote(url)}")
    return run_on(host, command, f"{what} (GET {url})")


def zookeeper_srvr(host: Any, address: str, port: int) -> str:
    """The `srvr` four-letter word, sent with bash's /dev/tcp (no nc needed on the hosts)."""
    script = f"exec 3<>/dev/tcp/{address}/{port}; echo srvr >&3; cat <&3"
    command = f"timeout {REQUEST_TIMEOUT_S} bash -c {shlex.quote(script)}"
    return run_on(host, command, f"ZooKeeper srvr on {address}:{port}")


def listening_ports(host: Any) -> set[int]:
    return parse_listening_ports(run_on(host, "ss -Htln", "list listening TCP sockets"))


def wait_listening(host: Any, name: str, port: int, timeout_s: float,
                   what: str = "") -> str | None:
    """None once something listens on TCP `port` on the host, else (after `timeout_s`) why."""
    label = f"{what} {port}" if what else str(port)
    return wait_for(lambda: None if port in listening_ports(host)
                    else f"{name}: nothing listens on {label}", timeout_s)


def service_problem(host: Any, name: str, unit: str) -> str | None:
    """None when `unit` is running and enabled on the host, else what is wrong."""
    service = host.service(unit)
    problems = []
    if not service.is_running:
        problems.append("not running")
    if not service.is_enabled:
        problems.append("not enabled (would not come back after a reboot)")
    return f"{name}: service {unit} " + " and ".join(problems) if problems else None


# -- pytest wiring -------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pyinfra-mesos cluster checks")
    group.addoption("--inventory", metavar="PATH", default=None,
                    help="the pyinfra inventory the cluster was deployed from (required)")
    group.addoption("--converge-timeout", metavar="SECONDS", type=float,
                    default=DEFAULT_CONVERGE_TIMEOUT_S,
                    help="how long checks wait for elections and registrations (default 60)")


_TOPOLOGY_KEY = pytest.StashKey[Topology]()


def _topology(config: pytest.Config) -> Topology:
    """Load the inventory once per run; UsageError with a clear message when it cannot be."""
    if _TOPOLOGY_KEY in config.stash:
        return config.stash[_TOPOLOGY_KEY]
    option = config.getoption("inventory", default=None)
    if not option:
        raise pytest.UsageError(
            "tests/cluster needs the inventory the cluster was deployed from: "
            "pytest tests/cluster --inventory inventory/<env>.py")
    path = Path(option)
    if not path.is_absolute():
        path = Path(config.invocation_params.dir) / path
    if not path.is_file():
        raise pytest.UsageError(f"--inventory {option}: no such file ({path})")
    try:
        inventory = load_inventory(path)
    except Exception as exc:  # any import/exec error in the inventory file is a usage error
        raise pytest.UsageError(f"--inventory {option}: cannot load it: {exc!r}") from exc
    topology = redacted(topology_from_inventory(inventory))
    if not topology.masters:
        raise pytest.UsageError(f"--inventory {option}: no hosts in group `masters`")
    config.stash[_TOPOLOGY_KEY] = topology
    return topology


def pytest_configure(config: pytest.Config) -> None:
    # Fail before collection, not as N errors, when the option is missing. --help must still work.
    if not config.getoption("help", default=False):
        _topology(config)


def members_for(topology: Topology, fixture: str) -> tuple[Member, ...]:
    return tuple(getattr(topology, PER_HOST_FIXTURES[fixture]))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per host for the per-host fixtures, with the inventory name as the test id."""
    topology = _topology(metafunc.config)
    for fixture in PER_HOST_FIXTURES:
        if fixture in metafunc.fixturenames:
            hosts = members_for(topology, fixture)
            metafunc.parametrize(fixture, hosts, ids=[m.name for m in hosts], scope="session")


@pytest.fixture(scope="session")
def cluster(pytestconfig: pytest.Config) -> Topology:
    return _topology(pytestconfig)


@pytest.fixture(scope="session")
def converge_timeout(pytestconfig: pytest.Config) -> float:
    return float(pytestconfig.getoption("converge_timeout"))


@pytest.fixture(scope="session")
def _insecure_ssh_config() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="pyinfra-mesos-checks-"))
    path = directory / "ssh_config"
    path.write_text(INSECURE_SSH_CONFIG)
    yield path
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def testinfra_host_for(cluster: Topology, _insecure_ssh_config: Path) -> Callable[[str], Any]:
    """`testinfra_host_for(name)`: the (cached) testinfra host for an inventory host name."""
    by_name = {m.name: m for m in cluster.all_members}
    cache: dict[str, Any] = {}
    unreachable: dict[str, str] = {}

    def get(name: str) -> Any:
        # One failed connect per host per run: a down host must not cost every one of its checks
        # another SSH timeout.
        if name not in cache and name not in unreachable:
            if name not in by_name:
                raise KeyError(f"{name} is not a cluster host in the inventory")
            connection = host_connection(name, by_name[name].data)
            host = make_testinfra_host(connection, _insecure_ssh_config)
            try:
                host.backend.client  # noqa: B018 (connects now, so the failure is named here)
            except Exception as exc:  # paramiko/socket errors: report, don't crash the run
                target = connection.hostspec.partition("?")[0]
                unreachable[name] = (f"{name}: cannot connect over SSH ({target}, host-key "
                                     f"checking {connection.host_key_checking}): "
                                     f"{type(exc).__name__}: {exc}")
            else:
                cache[name] = host
        if name in unreachable:
            pytest.fail(unreachable[name], pytrace=False)
        return cache[name]

    return get


def marathon_auth(member: Member) -> str:
    """Marathon's credentials as the deploy resolved them (the inventory's value, else the
    secret generated under credentials/<cluster_name>/); "" when auth is off."""
    from pyinfra_mesos.credentials import marathon_credentials

    return marathon_credentials(member.data, PROJECT_ROOT)


def data_value(member: Member, key: str, default: Any) -> Any:
    """A group_data value for a host (group_data/all.py defaults are already merged in)."""
    value = member.data.get(key)
    return default if value is None else value


def probe(fn: Callable[[], Any]) -> Any:
    """Call `fn`; on AssertionError return the exception (for checks that gather per host)."""
    try:
        return fn()
    except AssertionError as exc:
        return exc


def find_member(members: Sequence[Member], address: str) -> Member | None:
    """The inventory member whose ip or name is `address` (`host` or `host:port`)."""
    host = address.rpartition(":")[0] if re.search(r":\d+$", address) else address
    for member in members:
        if host in (member.ip, member.name):
            return member
    return None
