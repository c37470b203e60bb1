"""The floor's package set per role (pyinfra_mesos/floor.py) and the per-host script
(sandbox/bench/floor.py).

The drift test plans the deploy's real task files on pyinfra @fake hosts (test_tasks_harness)
and checks that what they install and pull on a fresh host is exactly what the floor installs
and pulls: the benchmark measures the deploy's own work, no more, no less.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from test_tasks_harness import TASK_ROLES, fake_host, group_defaults, plan

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:  # `sandbox` lives at the project root
    sys.path.insert(0, str(PROJECT_ROOT))

from pyinfra_mesos import floor  # noqa: E402
from pyinfra_mesos.apps import load_apps  # noqa: E402
from pyinfra_mesos.mesos_package import (  # noqa: E402
    MESOS_KEYRING,
    MESOS_PIN_FILE,
    MESOS_SOURCES_FILE,
)
from pyinfra_mesos.remote import Connection  # noqa: E402
from pyinfra_mesos.topology import build_topology  # noqa: E402
from sandbox.bench.floor import (  # noqa: E402
    HostPlan,
    floor_script,
    host_plan,
    parse_stages,
    slowest_host,
)

DATA = group_defaults()
# The base packages, then nftables when the host firewall is on (tasks/firewall.py).
BASE = list(DATA["base_packages"]) + (["nftables"] if DATA.get("firewall_enabled") else [])
INSTALL = re.compile(r"apt-get -y .*\binstall (?P<packages>[^|;&]+)$")
PULL = re.compile(r"docker pull -q (?P<image>\S+)")


def test_packages_per_role_follow_the_deploy_order():
    assert floor.packages_for(set(), DATA) == []
    assert floor.packages_for({"master", "zookeeper", "marathon"}, DATA) == [
        *BASE, "docker.io", "zookeeperd", "aventer-mesos"]
    assert floor.packages_for({"agent", "load_balancer"}, DATA) == [
        *BASE, "docker.io", "haproxy", "aventer-mesos"]
    assert floor.packages_for({"registry"}, DATA) == [*BASE, "docker-registry"]
    assert floor.packages_for({"load_balancer"}, DATA) == [*BASE, "haproxy"]


def test_packages_follow_the_data_and_appear_once():
    data = {**DATA, "base_packages": ["curl", "haproxy"], "docker_package": "docker-ce",
            "mesos_package": "mesos", "firewall_enabled": False}
    assert floor.packages_for({"agent", "load_balancer"}, data) == [
        "curl", "haproxy", "docker-ce", "mesos"]


def test_images_per_role():
    apps = ["pyinfra-mesos/hello-sinatra:1.0"]
    assert floor.images_for({"master", "marathon"}, DATA, apps) == [DATA["marathon_image"]]
    assert floor.images_for({"agent"}, DATA, apps) == apps
    assert floor.images_for({"master", "zookeeper"}, DATA, apps) == []


def test_app_images_come_from_the_app_definitions():
    loaded, problems = load_apps(str(PROJECT_ROOT / "apps"))
    assert not problems
    assert floor.app_images([a.app for a in loaded]) == ["pyinfra-mesos/hello-sinatra:1.0"]
    assert floor.app_images([{"id": "/cmd-only", "cmd": "sleep 1"},
                             {"container": {"type": "MESOS", "docker": {"image": "b:1"}}},
                             {"container": {"docker": {"image": "a:1"}}},
                             {"container": {"docker": {"image": "a:1"}}}]) == ["a:1", "b:1"]


def test_the_floor_installs_and_pulls_exactly_what_the_deploy_does_on_fresh_hosts():
    groups = {
        "masters": [fake_host(f"m{i}", ip=f"10.0.0.{10 + i}", zookeeper_id=i)
                    for i in (1, 2, 3)],
        "agents": [fake_host("a1", ip="10.0.1.11")],
        "load_balancers": [fake_host("lb1", ip="10.0.2.11")],
        "registry": [fake_host("m1", ip="10.0.0.11", zookeeper_id=1)],
    }
    planned = plan(groups, list(TASK_ROLES))
    topo = build_topology({g: [(n.removeprefix("@fake/"), d) for n, d in hosts]
                           for g, hosts in groups.items()})
    for name, ops in planned.items():
        commands = [c for op in ops for c in op.commands]
        installed = [p for c in commands if (m := INSTALL.search(c))
                     for p in shlex.split(m["packages"])]
        pulled = [m["image"] for c in commands if (m := PULL.search(c))]
        roles = topo.roles_of(name)
        assert installed == floor.packages_for(roles, DATA), name
        # Agents pull app images when Marathon places a task, not in a task file.
        assert pulled == [i for i in floor.images_for(roles, DATA, []) if i], name


def plan_for(roles: set[str], **data) -> HostPlan:
    member_data = {**DATA, "ip": "10.0.0.11", "zookeeper_id": 1, **data}
    groups = {"masters": [("m1", member_data)], "agents": [("a1", {**member_data,
                                                                   "ip": "10.0.1.11"})]}
    if "registry" in roles:
        groups["registry"] = [("m1", member_data)]
    topo = build_topology(groups)
    member = topo.masters[0]
    return host_plan(member, roles, topo, ["pyinfra-mesos/hello-sinatra:1.0"], "Debian",
                     "bookworm")


def test_a_master_plan_writes_daemon_json_and_the_mesos_repo_before_apt():
    plan_ = plan_for({"master", "zookeeper", "marathon", "registry"},
                     docker_insecure_registries=["198.51.100.1:5000"],
                     mesos_apt_key_url="http://198.51.100.1:8081/mesos/key.asc")
    assert plan_.packages == (*BASE, "docker.io", "zookeeperd", "docker-registry",
                              "aventer-mesos")
    assert plan_.images == (DATA["marathon_image"],)
    daemon = json.loads(plan_.files["/etc/docker/daemon.json"])
    assert daemon["insecure-registries"] == ["198.51.100.1:5000", "10.0.0.11:5000"]
    assert plan_.files[MESOS_SOURCES_FILE].splitlines()[1].startswith(
        f"deb [signed-by={MESOS_KEYRING}] http://rpm.aventer.biz/Debian/ bookworm main")
    assert f"Pin: version {DATA['mesos_version']}*" in plan_.files[MESOS_PIN_FILE]
    assert plan_.key_url == "http://198.51.100.1:8081/mesos/key.asc"

    script = floor_script(plan_)
    order = [script.index(s) for s in ("/etc/docker/daemon.json", "curl -fsSL",
                                       "apt-get -y", "install ca-certificates",
                                       "docker pull -q")]
    assert order == sorted(order)
    assert script.count("apt-get -y") == 2 and script.count(" install ") == 1
    assert subprocess.run(["bash", "-n"], input=script.encode(), timeout=30).returncode == 0


def test_a_host_without_docker_or_mesos_only_installs():
    plan_ = plan_for({"load_balancer"})
    assert plan_.files == {} and plan_.key_url is None and plan_.images == ()
    script = floor_script(plan_)
    assert "docker" not in script and "curl -fsSL" not in script
    assert "install " + " ".join([*BASE, "haproxy"]) + " >" in script


def test_file_contents_survive_the_shell_quoting(tmp_path: Path):
    target = tmp_path / "sub" / "f"
    content = "it's \"quoted\" $HOME `x`\nline 2\n"
    script = floor_script(HostPlan("h", (), (), (), {str(target): content}))
    done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=30, text=True)
    assert done.returncode == 0, done.stderr
    assert target.read_text() == content
    assert list(parse_stages(done.stdout)) == ["files"]


def test_stages_are_the_seconds_between_marks():
    out = ("noise\nbench-stage start 100.0\nbench-stage files 100.5\n"
           "bench-stage update 110.25\nbench-stage install 170.25\nbench-stage pull 180\n")
    assert parse_stages(out) == {"files": 0.5, "update": 9.75, "install": 60.0, "pull": 9.75}
    assert parse_stages("") == {}


def test_the_floor_is_the_slowest_host():
    assert slowest_host({"a": {"seconds": 10.0}, "b": {"seconds": 25.5}}) == 25.5
    assert slowest_host({}) is None


@pytest.mark.parametrize("roles", [{"master"}, {"agent"}])
def test_mesos_hosts_refuse_a_distribution_without_a_repository(roles):
    from pyinfra_mesos.deploy.refused import DeployRefused

    with pytest.raises(DeployRefused):
        floor.mesos_repo_files(DATA, "Alpine", "v3")


class LocalConnection(Connection):
    """A remote.Connection whose commands run in this machine's bash (no SSH)."""

    def __init__(self, spec, fail: bool = False) -> None:
        super().__init__(spec, client=None)
        self.fail = fail
        self.closed = False

    def run(self, command: str, timeout_s: float = 10.0) -> tuple[int, str, str]:
        if self.fail and "bench-stage" in command:
            return 100, "", "E: Unable to locate package zookeeperd\n"
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                              timeout=timeout_s)
        return done.returncode, done.stdout, done.stderr

    def close(self) -> None:
        self.closed = True


def test_the_distribution_is_read_with_pyinfras_own_fact(tmp_path):
    from sandbox.bench.floor import distribution

    release = dict(line.split("=", 1) for line in
                   Path("/etc/os-release").read_text().splitlines() if "=" in line)
    name, codename = distribution(LocalConnection(None))
    # pyinfra names Debian and Ubuntu by their ID (pyinfra/facts/server.py name_to_pretty_name).
    assert name == {"debian": "Debian", "ubuntu": "Ubuntu"}[release["ID"].strip('"')]
    assert codename == release.get("VERSION_CODENAME", "").strip('"')


def test_measure_floor_runs_every_host_at_once_and_reports_the_slowest(monkeypatch):
    from sandbox.bench import floor as bench_floor

    scripts: dict[str, str] = {}

    def fake_script(plan_: HostPlan) -> str:
        # The real script installs packages; here each host sleeps its own time and marks
        # stages the same way, so the timing, parsing and error paths are the real ones.
        scripts[plan_.name] = floor_script(plan_)
        delay = {"m1": 0.2, "m2": 0.1, "a1": 0.6}[plan_.name]
        return ('stage() { echo "bench-stage $1 $(date +%s.%N)"; }\n'
                f"stage start\nsleep {delay}\nstage install\n")

    monkeypatch.setattr(bench_floor, "floor_script", fake_script)
    opened: list[LocalConnection] = []

    def connector(spec):
        opened.append(LocalConnection(spec, fail=spec.name == "m2"))
        return opened[-1]

    member = {**DATA, "ssh_hostname": "203.0.113.1"}
    topo = build_topology({
        "masters": [("m1", {**member, "ip": "10.0.0.11", "zookeeper_id": 1}),
                    ("m2", {**member, "ip": "10.0.0.12", "zookeeper_id": 2})],
        "agents": [("a1", {**member, "ip": "10.0.1.11"})]})
    images = ["pyinfra-mesos/hello-sinatra:1.0"]
    result = bench_floor.measure_floor(topo, ["m1", "a1"], images, 60, connector)
    assert result.errors == {}
    assert 0.55 < result.seconds < 5 and result.seconds == result.hosts["a1"]["seconds"]
    assert 0.55 < result.hosts["a1"]["stages"]["install"] < 5
    assert result.hosts["a1"]["images"] == images
    assert "haproxy" in result.hosts["a1"]["packages"]
    assert "zookeeperd" in scripts["m1"] and "hello-sinatra" in scripts["a1"]
    assert all(c.closed for c in opened)

    failed = bench_floor.measure_floor(topo, ["m1", "m2"], images, 60, connector)
    assert failed.seconds is None and list(failed.hosts) == ["m1"]
    assert failed.errors == {
        "m2": "m2: floor script exit 100: E: Unable to locate package zookeeperd"}
    with pytest.raises(ValueError, match="not in the inventory's groups: x9"):
        bench_floor.measure_floor(topo, ["x9"], images, 60, connector)
