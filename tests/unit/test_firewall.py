"""The firewall's ruleset (pyinfra_mesos/firewall.py): golden files, nft's own check, and a load
into a throw-away network namespace.

Golden files live in tests/data/firewall/<case>/<host>.nft: a reviewed ruleset per case, compared
byte for byte. After a deliberate change, regenerate them with
`.venv/bin/python tests/unit/test_firewall.py` and review the diff.

nft is needed (`nft -c -f` asks the kernel to check the whole transaction without committing).
A missing nft fails these tests with the install line: it is never skipped.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pyinfra_mesos import firewall  # noqa: E402
from pyinfra_mesos.deploy import firewall_facts  # noqa: E402
from pyinfra_mesos.schema import check_value  # noqa: E402
from pyinfra_mesos.topology import Topology, build_topology  # noqa: E402

GOLDEN = ROOT / "tests" / "data" / "firewall"


def _masters(n: int = 3, **data: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(f"m{i}", {"ip": f"10.0.0.{10 + i}", "zookeeper_id": i, **data})
            for i in range(1, n + 1)]


def _agents(n: int = 2, **data: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(f"a{i}", {"ip": f"10.0.1.{10 + i}", **data}) for i in range(1, n + 1)]


# case -> (groups, hosts whose ruleset is golden)
CASES: dict[str, tuple[dict[str, list[tuple[str, dict[str, Any]]]], tuple[str, ...]]] = {
    # 3 masters (ZooKeeper, Mesos master, Marathon), 2 agents (Mesos agent, HAProxy).
    "three_masters_two_agents": ({"masters": _masters(), "agents": _agents()}, ("m1", "a1")),
    # The registry on m1 adds 5000 to the cluster ports of every host.
    "with_registry": ({"masters": _masters(), "agents": _agents(),
                       "registry": [("m1", {"ip": "10.0.0.11", "zookeeper_id": 1})]},
                      ("m1", "a2")),
    # Operator networks (overlapping ones collapse), an SSH port, extra open ports, an agent's
    # own ports(*) resource, a separate load balancer group.
    "operator_networks": ({
        "masters": _masters(firewall_operator_networks=["203.0.113.0/24", "203.0.113.128/25",
                                                        "198.51.100.7"]),
        "agents": [("a1", {"ip": "10.0.1.11", "ssh_port": 2222,
                           "mesos_resources": {"ports(*)": "[31000-31999, 33000-33010]"},
                           "firewall_extra_open_tcp_ports": [9100, 9100, 9101]}),
                   ("a2", {"ip": "10.0.1.12"})],
        "load_balancers": [("lb1", {"ip": "10.0.2.11",
                                    "firewall_operator_networks": ["192.0.2.0/24"]})],
    }, ("m1", "a1", "lb1")),
}


def topology(case: str) -> Topology:
    return build_topology(CASES[case][0])


def golden_params() -> list[tuple[str, str]]:
    return [(case, name) for case, (_, hosts) in CASES.items() for name in hosts]


def nft() -> str:
    found = shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail("nft is not installed: `apt-get install nftables` (the Makefile's "
                    "MACHINE_PACKAGES lists it); these tests check every ruleset with nft itself")
    return found


def in_netns(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) in a new user + network namespace: root there, nothing shared with the
    machine's own network, gone when the script ends."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare (util-linux) is not installed")
    return subprocess.run([unshare, "--user", "--map-root-user", "--net", "sh", "-ec", script],
                          cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


# -- golden files and nft's check ---------------------------------------------------------------

@pytest.mark.parametrize(("case", "name"), golden_params())
def test_ruleset_matches_its_golden_file(case: str, name: str) -> None:
    rendered = firewall.render(firewall.ruleset(topology(case), name))
    assert rendered == (GOLDEN / case / f"{name}.nft").read_text()


@pytest.mark.parametrize(("case", "name"), golden_params())
def test_nft_accepts_every_golden_ruleset(case: str, name: str) -> None:
    done = subprocess.run([nft(), "-c", "-f", str(GOLDEN / case / f"{name}.nft")],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def test_a_loaded_table_carries_its_marker_and_replaces_itself_atomically(tmp_path: Path) -> None:
    nft()
    topo = topology("three_masters_two_agents")
    first = firewall.ruleset(topo, "a1")
    grown = build_topology({"masters": _masters(), "agents": _agents(3)})
    second = firewall.ruleset(grown, "a1")
    (tmp_path / "first.nft").write_text(firewall.render(first))
    (tmp_path / "second.nft").write_text(firewall.render(second))
    # Load, load again over itself, list; then what the rollback does: the listing of the loaded
    # table behind the replace idiom puts it back after another table was loaded.
    done = in_netns(
        "nft -f first.nft; nft -f first.nft; nft list table inet pyinfra_mesos > listed1; "
        "{ printf 'table inet pyinfra_mesos\\ndelete table inet pyinfra_mesos\\n'; "
        "cat listed1; } > rollback.nft; "
        "nft -f second.nft; nft list table inet pyinfra_mesos > listed2; "
        "nft -f rollback.nft; nft list table inet pyinfra_mesos > listed3; "
        "nft list tables > tables", tmp_path)
    assert done.returncode == 0, done.stderr

    def read(name: str) -> list[str]:
        return (tmp_path / name).read_text().splitlines()

    assert firewall.parse_loaded_marker(read("listed1")) == firewall.marker(first)
    assert firewall.parse_loaded_marker(read("listed2")) == firewall.marker(second)
    assert "10.0.1.13" in (tmp_path / "listed2").read_text()
    assert firewall.parse_loaded_marker(read("listed3")) == firewall.marker(first)
    assert read("tables") == ["table inet pyinfra_mesos"]


def test_other_tables_survive_a_load(tmp_path: Path) -> None:
    nft()
    (tmp_path / "rules.nft").write_text(
        firewall.render(firewall.ruleset(topology("three_masters_two_agents"), "m1")))
    done = in_netns("nft add table ip filter; nft add table inet site; nft -f rules.nft; "
                    "nft -f rules.nft; nft list tables", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["table ip filter", "table inet site",
                                        "table inet pyinfra_mesos"]


def test_no_marker_without_our_table() -> None:
    assert firewall.parse_loaded_marker([]) == ""
    assert firewall.parse_loaded_marker(['table inet pyinfra_mesos {', '\tcomment "site"']) == ""


# -- what goes into the sets --------------------------------------------------------------------

def test_members_and_cluster_ports_are_the_same_on_every_host() -> None:
    topo = topology("with_registry")
    tables = [firewall.ruleset(topo, m.name) for m in topo.all_members]
    assert {t.members for t in tables} == {("10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.1.11",
                                            "10.0.1.12")}
    assert {t.cluster_tcp_ports for t in tables} == {
        ((2181, 2181), (2888, 2888), (3888, 3888), (5000, 5000), (5050, 5051), (8080, 8080),
         (31000, 32000))}


def test_only_load_balancers_open_the_service_ports() -> None:
    topo = topology("operator_networks")
    assert firewall.ruleset(topo, "m1").open_tcp_ports == ((22, 22),)
    assert firewall.ruleset(topo, "a2").open_tcp_ports == ((22, 22),)
    assert firewall.ruleset(topo, "lb1").open_tcp_ports == ((22, 22), (10000, 20000))
    # ssh_port and extra ports (duplicates and neighbours merge: nft refuses overlaps).
    assert firewall.ruleset(topo, "a1").open_tcp_ports == ((22, 22), (2222, 2222), (9100, 9101))


def test_an_agents_own_ports_resource_is_a_cluster_port_range() -> None:
    ports = firewall.ruleset(topology("operator_networks"), "m1").cluster_tcp_ports
    assert (31000, 32000) in ports and (33000, 33010) in ports


def test_operator_networks_collapse() -> None:
    topo = topology("operator_networks")
    assert firewall.ruleset(topo, "m1").operator_networks == ("198.51.100.7", "203.0.113.0/24")
    assert firewall.ruleset(topo, "lb1").operator_networks == ("192.0.2.0/24",)


@pytest.mark.parametrize(("ranges", "merged"), [
    ([], ()),
    ([(5, 5), (1, 3), (4, 4)], ((1, 5),)),
    ([(10, 20), (12, 15), (30, 30)], ((10, 20), (30, 30))),
])
def test_merge_ranges(ranges: list[tuple[int, int]], merged: tuple[tuple[int, int], ...]) -> None:
    assert firewall.merge_ranges(ranges) == merged


def test_members_named_by_dns_are_listed_by_their_resolved_addresses() -> None:
    topo = build_topology({"masters": [("m1.example.internal", {"zookeeper_id": 1})],
                           "agents": [("a1", {"ip": "10.0.1.11"})]})
    assert firewall.names_to_resolve(topo) == ["m1.example.internal"]
    rules = firewall.ruleset(topo, "a1", {"m1.example.internal": ["10.0.0.11", "10.0.0.9"]})
    assert rules.members == ("10.0.0.9", "10.0.0.11", "10.0.1.11")
    with pytest.raises(ValueError, match=r"m1.example.internal: ip: .* does not resolve"):
        firewall.ruleset(topo, "a1", {})


def test_resolved_ipv4_fact_parses_getent_lines() -> None:
    fact = firewall_facts.ResolvedIPv4()
    assert fact.process(["m1 10.0.0.11", "m1 10.0.0.11", "m1 10.0.0.9", "", "m2 10.0.0.12"]) == {
        "m1": ["10.0.0.11", "10.0.0.9"], "m2": ["10.0.0.12"]}
    command = fact.command(["m1.example.internal", "a b"]).get_raw_value()
    assert "getent ahostsv4" in command and "'a b'" in command


# -- the schema's rules for the new keys ----------------------------------------------------------

@pytest.mark.parametrize(("key", "value", "message"), [
    ("firewall_enabled", "yes", "must be True or False"),
    ("firewall_operator_networks", "10.0.0.0/8", "must be a list"),
    ("firewall_operator_networks", ["2001:db8::/32"], "is IPv6; the deploy is IPv4 only"),
    ("firewall_operator_networks", ["10.0.0.1/8"], "has host bits set"),
    ("firewall_operator_networks", ["10.0.0.0/8\n"], "is not an IPv4 CIDR"),
    ("firewall_operator_networks", ["office"], "is not an IPv4 CIDR"),
    ("firewall_operator_networks", [167772160], "must be a string"),
    ("firewall_extra_open_tcp_ports", [0], "is not a port number"),
    ("firewall_extra_open_tcp_ports", ["9100"], "is not a port number"),
    ("firewall_extra_open_tcp_ports", [True], "is not a port number"),
])
def test_bad_firewall_values_are_refused_naming_the_field(key: str, value: Any,
                                                         message: str) -> None:
    problems = check_value(key, value)
    assert problems and all(field.startswith(key) for field, _ in problems)
    assert any(message in text for _, text in problems), problems


@pytest.mark.parametrize(("key", "value"), [
    ("firewall_enabled", False),
    ("firewall_operator_networks", ["203.0.113.0/24", "198.51.100.7", "0.0.0.0/0"]),
    ("firewall_extra_open_tcp_ports", [9100, 65535]),
])
def test_good_firewall_values_pass(key: str, value: Any) -> None:
    assert check_value(key, value) == []


# -- how it is applied ----------------------------------------------------------------------------

def test_apply_checks_arms_a_rollback_loads_then_confirms_in_a_second_command() -> None:
    load, confirm = firewall.apply_commands()
    steps = [s.strip() for s in load.split(";")]
    check = steps.index(f"{firewall.NFT} -c -f {firewall.RULES_FILE}")
    arm = next(i for i, s in enumerate(steps) if s.startswith("systemd-run"))
    apply = steps.index(f"{firewall.NFT} -f {firewall.RULES_FILE}")
    assert steps[0] == "set -e" and check < arm < apply == len(steps) - 1
    assert f"--on-active={firewall.ROLLBACK_S}" in steps[arm]
    assert confirm.startswith(f"systemctl stop {firewall.ROLLBACK_UNIT}.timer")
    assert "flush ruleset" not in load


def test_the_rendered_file_never_flushes_the_ruleset() -> None:
    for case, name in golden_params():
        text = (GOLDEN / case / f"{name}.nft").read_text()
        body = [line.strip() for line in text.splitlines() if not line.strip().startswith("#")]
        assert "flush ruleset" not in body
        assert body[:2] == ["table inet pyinfra_mesos", "delete table inet pyinfra_mesos"]


def test_member_addresses_are_sorted_numerically() -> None:
    topo = build_topology({"masters": [("m1", {"ip": "10.0.0.9", "zookeeper_id": 1})],
                           "agents": [("a1", {"ip": "10.0.0.10"})]})
    members = firewall.ruleset(topo, "a1").members
    assert members == tuple(sorted(members, key=ipaddress.IPv4Address)) == ("10.0.0.9",
                                                                             "10.0.0.10")


def _write_goldens() -> None:
    for case, name in golden_params():
        path = GOLDEN / case / f"{name}.nft"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(firewall.render(firewall.ruleset(topology(case), name)))
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    _write_goldens()
