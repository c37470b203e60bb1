"""The flags and env lines of every inventory in the repository, pinned byte for byte.

The flag tables (pyinfra_mesos/flag_tables.py) replaced hand-written code paths; this test holds
what those paths produced, captured before the change, for every inventory under inventory/
(but the sandbox's, below) and tests/data/inventories/: each as written and with three data
overrides (the `--data` form, VARIANTS) that reach the optional rows: authentication off;
attributes, resources, flag-dict merges and Marathon's JAVA_OPTS and env; the service port
range as a list. Every agent is also rendered without the systemd cgroup hierarchy. Values,
their order (the env files list flags in dict order) and the errors for data the flags cannot
be computed from are all compared.

Regenerate only for an intended change, and review the diff:
`.venv/bin/python -m tests.unit.test_flags_golden --write`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos.flags import (
    agent_flags,
    docker_env_file_lines,
    env_lines,
    marathon_env,
    master_flags,
)
from pyinfra_mesos.inventory_loader import load_inventory
from pyinfra_mesos.problems import Problem
from pyinfra_mesos.topology import Member, Topology, topology_from_inventory

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("flags_golden.json")
# inventory/sandbox.py is left out: its hosts' data come from the live sandbox's state file
# (sandbox/inventory.py sandbox_host), so its flags change with every `sandbox up`.
INVENTORIES = sorted([*ROOT.glob("inventory/*.py"), *ROOT.glob("tests/data/inventories/*.py")])
INVENTORIES = [p for p in INVENTORIES if p != ROOT / "inventory" / "sandbox.py"]

# name -> `--data` overrides applied to every host of the inventory.
VARIANTS: dict[str, dict[str, Any]] = {
    "as_written": {},
    "authentication_off": {"mesos_authentication": False},
    "merges": {
        "mesos_attributes": {"rack": "r1", "zone": "a"},
        "mesos_resources": {"cpus": 2, "mem": 1024},
        "mesos_master_flags": {"quorum": 3, "max_agent_ping_timeouts": 5, "cluster": "x"},
        "mesos_agent_flags": {"docker_stop_timeout": "30secs", "port": 5052},
        "marathon_flags": {"http_credentials": "x:y", "disable_ha": "", "hostname": "h"},
        "marathon_java_opts": "-Xmx1g",
        "marathon_env": {"TZ": "UTC"},
    },
    "port_range_as_list": {
        "marathon_service_port_range": [11000, 12000],
    },
}


def _outcome(compute: Any) -> Any:
    """The lines `compute()` returns, or the error it raises as `Type: message`."""
    try:
        return compute()
    except Exception as exc:  # pinned as part of the behaviour
        return f"{type(exc).__name__}: {exc}"


def _member_outcomes(member: Member, topo: Topology) -> dict[str, Any]:
    roles = topo.roles_of(member.name)
    out: dict[str, Any] = {}
    if "master" in roles:
        out["master"] = _outcome(lambda: env_lines("MESOS", master_flags(member, topo)))
    if "agent" in roles:
        out["agent"] = _outcome(lambda: env_lines("MESOS", agent_flags(member, topo)))
        out["agent_without_systemd_hierarchy"] = _outcome(lambda: env_lines(
            "MESOS", agent_flags(member, topo, systemd_cgroup_hierarchy=False)))
    if "marathon" in roles:
        # MARATHON_* lines in flag order, then the rest of the container's environment.
        out["marathon_env"] = _outcome(lambda: docker_env_file_lines(
            marathon_env(member, topo, "admin:pw", "marathon:zkpw")))
    return out


def _digest(outcome: Any) -> str:
    return hashlib.sha256(json.dumps(outcome).encode()).hexdigest()[:16]


def golden_form(rendered: dict[str, Any]) -> dict[str, Any]:
    """`rendered` with each distinct outcome stored once (inventories share most hosts):
    `{"outcomes": {digest: lines | error}, "inventories": {...: {program: digest}}}`."""
    outcomes: dict[str, Any] = {}
    index: dict[str, Any] = {}
    for inventory, variants in rendered.items():
        index[inventory] = {}
        for variant, hosts in variants.items():
            if isinstance(hosts, str):
                index[inventory][variant] = hosts
                continue
            index[inventory][variant] = {
                host: {program: _digest(outcome) for program, outcome in programs.items()}
                for host, programs in hosts.items()}
            for programs in hosts.values():
                outcomes.update({_digest(o): o for o in programs.values()})
    return {"outcomes": outcomes, "inventories": index}


def expand(golden: dict[str, Any]) -> dict[str, Any]:
    """The inverse of golden_form."""
    outcomes = golden["outcomes"]
    return {inventory: {variant: hosts if isinstance(hosts, str) else {
                host: {program: outcomes[d] for program, d in programs.items()}
                for host, programs in hosts.items()}
            for variant, hosts in variants.items()}
            for inventory, variants in golden["inventories"].items()}


def render_all() -> dict[str, Any]:
    """`{inventory: {variant: {host: {program: lines | error}}}}` for every inventory."""
    result: dict[str, Any] = {}
    for path in INVENTORIES:
        per_variant: dict[str, Any] = {}
        for variant, data in VARIANTS.items():
            inventory = load_inventory(str(path), override_data=data, root=ROOT)
            if isinstance(inventory, Problem):
                per_variant[variant] = inventory.format()
                continue
            topo = topology_from_inventory(inventory)
            per_variant[variant] = {m.name: _member_outcomes(m, topo)
                                    for m in topo.all_members}
        result[str(path.relative_to(ROOT))] = per_variant
    return result


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    return render_all()


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return expand(json.loads(GOLDEN.read_text("utf-8")))


def test_golden_covers_every_inventory_in_the_repository(rendered: dict[str, Any],
                                                         golden: dict[str, Any]) -> None:
    assert sorted(golden) == sorted(rendered)
    assert len(rendered) >= 30


@pytest.mark.parametrize("inventory", [str(p.relative_to(ROOT)) for p in INVENTORIES])
def test_flags_are_byte_identical_to_the_golden_file(inventory: str, rendered: dict[str, Any],
                                                      golden: dict[str, Any]) -> None:
    assert rendered[inventory] == golden.get(inventory)


def test_golden_reaches_every_optional_row(rendered: dict[str, Any]) -> None:
    """The variants do reach what they are for: without this, a variant whose override was
    refused or ignored would pin nothing."""
    text = json.dumps(rendered)
    for needle in ("MESOS_ATTRIBUTES='rack:r1;zone:a'", "MESOS_SYSTEMD_ENABLE_SUPPORT=false",
                   "MESOS_CREDENTIAL=/etc/pyinfra-mesos/mesos-agent-credential.json",
                   "MESOS_MAX_AGENT_PING_TIMEOUTS=5", "MARATHON_DISABLE_HA=",
                   "MARATHON_LOCAL_PORT_MIN=11000", "MESOSPHERE_HTTP_CREDENTIALS=admin:pw",
                   "JAVA_OPTS=-Xmx1g"):
        assert needle in text, needle
    off = rendered["inventory/example_production.py"]["authentication_off"]
    assert "AUTHENTICATE" not in json.dumps(off) and "CREDENTIAL=" not in json.dumps(off)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    GOLDEN.write_text(json.dumps(golden_form(render_all()), indent=1, sort_keys=True) + "\n",
                      "utf-8")
    print(f"wrote {GOLDEN}")
