"""check_master_count_change (facts fed by the deploy) and group_override_warnings (files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyinfra_mesos.mesos_master import check_master_count_change
from pyinfra_mesos.topology import Topology, build_topology
from pyinfra_mesos.validation import group_override_warnings


def cluster(n: int) -> Topology:
    return build_topology({"masters": [(f"m{i}", {"ip": f"10.0.0.{i}", "zookeeper_id": i})
                                       for i in range(1, n + 1)]})


@pytest.mark.parametrize("previous,new,log", [(None, 3, True), (3, 3, True), (1, 3, False),
                                              (3, 5, True), (1, 1, True)])
def test_no_consent_needed(previous: int | None, new: int, log: bool) -> None:
    assert check_master_count_change(previous, log, new, allowed=False) == []


def test_growing_from_one_master_with_a_log_needs_consent() -> None:
    [p] = check_master_count_change(1, True, 3, allowed=False)
    assert p.level == "error" and p.field == "mesos_allow_replicated_log_reset"
    assert "--data mesos_allow_replicated_log_reset=true" in p.message
    assert "1 master to 3" in p.message


def test_growing_from_one_master_with_consent_is_a_warning() -> None:
    [p] = check_master_count_change(1, True, 3, allowed=True)
    assert p.level == "warning"


@pytest.mark.parametrize("previous,new", [(3, 1), (5, 3), (7, 5)])
def test_shrinking_one_quorum_step_needs_the_removal_consent(previous: int, new: int) -> None:
    [p] = check_master_count_change(previous, True, new, allowed=False)
    assert p.level == "error" and p.field == "mesos_allow_master_removal"
    assert f"shrinking from {previous} masters to {new}" in p.message
    assert "--data mesos_allow_master_removal=true" in p.message
    assert "python -m pyinfra_mesos remove" in p.message
    assert "Nothing was changed" in p.message
    # The log-reset consent is not the one a shrink asks for.
    assert check_master_count_change(previous, True, new, allowed=True)[0].level == "error"
    [ok] = check_master_count_change(previous, True, new, allowed=False, allow_removal=True)
    assert ok.level == "warning" and ok.field == "mesos_allow_master_removal"
    assert "replicated log is kept" in ok.message


@pytest.mark.parametrize("previous,new,line", [
    (5, 1, "remove 2, deploy, then 2 more"),
    (7, 3, "remove 2, deploy, then 2 more"),
    (7, 1, "remove 2, deploy, then 4 more"),
])
def test_shrinking_more_than_one_quorum_step_is_refused_even_with_consent(
        previous: int, new: int, line: str) -> None:
    for consent in (False, True):
        [p] = check_master_count_change(previous, True, new, allowed=consent,
                                        allow_removal=consent)
        assert p.level == "error" and p.field == "masters"
        assert line in p.message and "one step at a time" in p.message


def test_where_names_the_host_when_given() -> None:
    [p] = check_master_count_change(1, True, 3, allowed=False, where="m1")
    assert p.where == "m1"


def _project(tmp_path: Path, inventory: str, group_data: dict[str, str]) -> Path:
    (tmp_path / "group_data").mkdir()
    for name, text in group_data.items():
        (tmp_path / "group_data" / f"{name}.py").write_text(text)
    path = tmp_path / "prod.py"
    path.write_text(inventory)
    return path


def test_group_key_also_in_group_data_file_warns(tmp_path: Path) -> None:
    inv = _project(tmp_path,
                   'masters = [("m1", {"zookeeper_id": 1})]\n'
                   'agents = (["a1"], {"mesos_agent_ports": "[31000-31500]", "x": 1})\n',
                   {"agents": 'mesos_agent_ports = "[31000-32000]"\n'})
    [p] = group_override_warnings(str(inv))
    assert p.level == "warning" and p.where == str(inv)
    assert p.field == "agents.mesos_agent_ports"
    assert "agents.py" in p.message


def test_all_group_data_in_inventory_is_lost_to_all_py(tmp_path: Path) -> None:
    inv = tmp_path / "inv" / "prod.py"
    inv.parent.mkdir()
    inv.write_text('all = (["m1"], {"cluster_name": "mine"})\nmasters = ["m1"]\n')
    # The project's group_data/all.py sets cluster_name and outranks this.
    [p] = group_override_warnings(str(inv))
    assert p.field == "all.cluster_name"


def test_no_warning_without_overlap(tmp_path: Path) -> None:
    inv = _project(tmp_path, 'agents = (["a1"], {"haproxy_group": "web"})\n'
                             'masters = [("m1", {"mesos_agent_ports": "[1-2]"})]\n',
                   {"masters": 'mesos_agent_ports = "[3-4]"\n'})  # host data outranks: fine
    assert group_override_warnings(str(inv)) == []


def test_group_data_all_dunder_respected(tmp_path: Path) -> None:
    inv = _project(tmp_path, 'agents = (["a1"], {"a": 1, "b": 2})\n',
                   {"agents": '__all__ = ["b"]\na = 1\nb = 2\n'})
    assert [p.field for p in group_override_warnings(str(inv))] == ["agents.b"]


def test_unloadable_inventory_gives_no_warnings(tmp_path: Path) -> None:
    inv = tmp_path / "broken.py"
    inv.write_text("masters = [\n")
    assert group_override_warnings(str(inv)) == []
