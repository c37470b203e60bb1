"""Unknown data keys and groups are refused (known_keys.py, validation.check_groups): by
`check`, by deploy.py and by deploy_apps.py alike, with a difflib hint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyinfra_mesos.cli import main
from pyinfra_mesos.known_keys import known_keys, pyinfra_keys
from pyinfra_mesos.topology import build_topology
from pyinfra_mesos.validation import check_groups, validate

REPO = Path(__file__).resolve().parents[2]
PYINFRA = Path(sys.executable).parent / "pyinfra"


def topo(**extra: object):
    masters = [("m1", {"ip": "10.0.0.11", "zookeeper_id": 1, **extra})]
    return build_topology({"masters": masters, "agents": [("a1", {"ip": "10.0.0.21"}),
                                                          ("a2", {"ip": "10.0.0.22"})]})


def lines(problems) -> list[str]:
    return [p.format() for p in problems]


def test_pyinfra_keys_come_from_the_installed_pyinfra() -> None:
    # pyinfra/api/arguments.py (global arguments) and connectors/ssh.py (ConnectorData).
    for key in ("ssh_user", "ssh_key", "ssh_port", "ssh_password", "ssh_known_hosts_file",
                "_sudo", "_sudo_user", "_sudo_password", "_su_user", "_env"):
        assert key in pyinfra_keys()
    assert "mesos_master_port" not in pyinfra_keys()
    assert {"ip", "zookeeper_id", "marathon_flags"} <= known_keys()


def test_a_typo_key_is_an_error_with_the_closest_key() -> None:
    assert lines(validate(topo(mesos_master_prot=5052))) == [
        "error: m1: mesos_master_prot: unknown key; did you mean 'mesos_master_port'?"]


def test_pyinfra_own_keys_are_accepted() -> None:
    assert validate(topo(ssh_user="admin", ssh_port=2222, _sudo=True, _sudo_user="root",
                         _env={"LANG": "C"})) == []


def test_a_key_with_nothing_close_says_so() -> None:
    [line] = lines(validate(topo(zzqqxx=1)))
    assert line.startswith("error: m1: zzqqxx: unknown key (no setting")


def test_the_same_key_on_every_host_is_one_line() -> None:
    t = build_topology({"masters": [("m1", {"ip": "10.0.0.11", "zookeeper_id": 1,
                                            "cluster_nmae": "x"})],
                        "agents": [("a1", {"ip": "10.0.0.21", "cluster_nmae": "x"})]})
    assert lines(validate(t)) == ["error: m1: cluster_nmae: unknown key; did you mean "
                                  "'cluster_name'? (also on a1)"]


@pytest.mark.parametrize(("groups", "path", "expected"), [
    ({"masters": ["m1"], "agent": ["a1"]}, "inv/prod.py",
     ["error: inv/prod.py: agent: unknown group; did you mean 'agents'? (1 host(s) (a1) would "
      "get no role; rename it)"]),
    # pyinfra's file-name group (prod.py -> prod) holds every host.
    ({"masters": ["m1"], "prod": ["m1"]}, "inv/prod.py", []),
    # Without the file name (API use): the group holding every host is taken for it.
    ({"masters": ["m1"], "agents": ["a1"], "whatever": ["m1", "a1"]}, None, []),
    # A group_data file for no group: its data applies to nobody.
    ({"masters": ["m1"], "loadbalancers": []}, "inv/prod.py",
     ["error: inv/prod.py: loadbalancers: unknown group; did you mean 'load_balancers'? "
      "(group_data/loadbalancers.py applies to no host; rename it)"]),
])
def test_groups(groups, path, expected) -> None:
    assert lines(check_groups(groups, path)) == expected


def test_a_group_data_file_of_a_sibling_inventory_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "prod.py").write_text("")
    (tmp_path / "staging.py").write_text("")
    assert check_groups({"masters": ["m1"], "staging": []}, str(tmp_path / "prod.py")) == []


INVENTORY = """
masters = [("@fake/m1", {"ip": "10.0.0.11", "zookeeper_id": 1, "mesos_master_prot": 5052,
                         "fake_delay": 0, "fake_delay_jitter": 0})]
agents = [("@fake/a1", {"ip": "10.0.0.21", "fake_delay": 0, "fake_delay_jitter": 0})]
"""
TYPO = "error: @fake/m1: mesos_master_prot: unknown key; did you mean 'mesos_master_port'?"


def test_check_refuses_a_typo_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = tmp_path / "prod.py"
    inventory.write_text(INVENTORY)
    assert main(["check", str(inventory), "--apps", str(REPO / "apps")]) == 1
    assert TYPO in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("deploy", ["deploy.py", "deploy_apps.py"])
def test_the_deploy_refuses_a_typo_key_before_any_operation(tmp_path: Path,
                                                            deploy: str) -> None:
    inventory = tmp_path / "prod.py"
    inventory.write_text(INVENTORY)
    env = {**os.environ, "PYINFRA_FAKE_DELAY": "0", "PYINFRA_FAKE_DELAY_JITTER": "0"}
    done = subprocess.run([str(PYINFRA), "-y", str(inventory), deploy, "--data",
                           f"credentials_dir={tmp_path}"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=env, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert TYPO in out.splitlines()
    assert "nothing was changed on any host" in out
    assert "Starting operation" not in out and "--> Beginning operation run" not in out
