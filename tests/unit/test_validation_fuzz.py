"""Fuzz: generated bad values for every group_data key (and the flag dicts, ip, zookeeper_id)
through validate() and through `check` itself: never a traceback, exit 1, and every problem line
names the field that was bad.

validate() takes the full cross product (fast, no inventory load); `check` (cli.main, in process,
with `--data KEY=<json>` exactly as a user types it) takes every key once with a value picked in
turn from the list, so every kind of bad value goes through the CLI path too.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest

from pyinfra_mesos import cli
from pyinfra_mesos.inventory_loader import load_inventory
from pyinfra_mesos.schema import FLAG_DICT_KEYS, SCHEMA
from pyinfra_mesos.topology import Topology, build_topology, topology_from_inventory
from pyinfra_mesos.validation import validate

INVENTORY = "inventory/example_production.py"

# Wrong types, newlines, NUL, shell metacharacters, None, huge and negative numbers, empty values.
VALUES: list[Any] = [None, True, -1, 10**20, 1.5, "", "x\n", "\x00", "a;b $(id) `id` | & > <",
                     "../../etc", [], {}, ["ok", "bad\nline"], {"k\n": "v"}]

# (key, value) pairs that are valid on purpose: empty lists/dicts where "none" is meaningful, an
# empty optional secret, fingerprint or version pin, a consent switch turned on, and free text
# that never reaches a shell (JVM options go to a docker env file literally; apps_dir and
# credentials_dir are paths on the operator's machine, opened by Python).
VALID = {
    ("base_packages", "[]"), ("docker_insecure_registries", "[]"),
    ("docker_registry_mirrors", "[]"), ("mesos_resources", "{}"), ("mesos_attributes", "{}"),
    ("mesos_apt_key_fingerprint", '""'), ("mesos_allow_replicated_log_reset", "true"),
    ("mesos_allow_agent_checkpoint_reset", "true"), ("mesos_allow_master_removal", "true"),
    ("mesos_authentication", "true"),
    ("marathon_http_credentials", '""'), ("zookeeper_acls", "true"),
    ("zookeeper_mesos_credentials", '""'), ("zookeeper_marathon_credentials", '""'),
    ("zookeeper_version", '""'), ("docker_version", '""'),
    ("marathon_java_opts", '""'), ("marathon_java_opts", '"a;b $(id) `id` | & > <"'),
    ("marathon_java_opts", '"../../etc"'), ("marathon_env", "{}"),
    ("apps_dir", '"a;b $(id) `id` | & > <"'), ("apps_dir", '"../../etc"'),
    ("credentials_dir", '"a;b $(id) `id` | & > <"'), ("credentials_dir", '"../../etc"'),
    ("apps_instances", "{}"),
    ("firewall_enabled", "true"), ("firewall_operator_networks", "[]"),
    ("backup_before_upgrade", "true"),
    ("firewall_extra_open_tcp_ports", "[]"),
    *((key, value) for key in FLAG_DICT_KEYS for value in ("null", "{}")),
}

# Host-level keys with their own rules, fuzzed the same way.
HOST_KEYS = ("ip", "zookeeper_id")
KEYS = [*SCHEMA, *FLAG_DICT_KEYS, *HOST_KEYS]


def _flag_dicts(value: Any) -> list[Any]:
    """For the flag dicts: the value itself, and as the value of a known and a computed flag."""
    return [value, {"max_completed_frameworks": value}, {"hostname": value}]


def _cases() -> list[tuple[str, Any]]:
    cases = []
    for key in KEYS:
        for value in VALUES:
            for v in (_flag_dicts(value) if key in FLAG_DICT_KEYS else [value]):
                if (key, json.dumps(v)) not in VALID:
                    cases.append((key, v))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def production() -> Topology:
    loaded = load_inventory(INVENTORY)
    assert not isinstance(loaded, Exception) and hasattr(loaded, "get_group")
    return topology_from_inventory(loaded)


def _with(topo: Topology, key: str, value: Any) -> Topology:
    """The topology with `key` set to `value` on every host, as `--data` does."""
    groups = {}
    for group, members in (("masters", topo.masters), ("agents", topo.agents)):
        groups[group] = [(m.name, {**m.data, key: value}) for m in members]
    return build_topology(groups)


def _named(problem_field: str, key: str) -> bool:
    return problem_field == key or problem_field.startswith((f"{key}.", f"{key}["))


def test_valid_exceptions_really_are_valid(production: Topology) -> None:
    for key, value in VALID:
        problems = validate(_with(production, key, json.loads(value)), INVENTORY)
        assert [p for p in problems if p.level == "error"] == [], (key, value)


def test_every_generated_value_refused_naming_the_field(production: Topology) -> None:
    failures = []
    for key, value in CASES:
        try:
            problems = validate(_with(production, key, value), INVENTORY)
        except Exception as exc:  # the point of the test: report every crash, not the first
            failures.append(f"{key}={value!r}: {type(exc).__name__}: {exc}")
            continue
        errors = [p for p in problems if p.level == "error"]
        if not errors:
            failures.append(f"{key}={value!r}: accepted")
        for p in errors:
            if not _named(p.field, key) or "\n" in p.format() or "\r" in p.format():
                failures.append(f"{key}={value!r}: {p.format()!r}")
    assert failures == [], "\n".join(failures[:40])


def _main(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli.main(list(args))
    return code, out.getvalue()


@pytest.mark.parametrize("index,key", list(enumerate(KEYS)))
def test_check_cli_refuses_a_bad_value_for_every_key(index: int, key: str) -> None:
    """`check --data KEY=<json>`: exit 1, one line per problem naming KEY, no traceback."""
    candidates = [v for k, v in CASES if k == key]
    value = candidates[index % len(candidates)]
    code, output = _main("check", INVENTORY, "--data", f"{key}={json.dumps(value)}")
    assert code == 1, output
    lines = output.splitlines()
    assert lines[-1].startswith(f"refused: {INVENTORY}: ")
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors and all(_named(line.split(": ")[2], key) for line in errors), output
    assert "Traceback" not in output
