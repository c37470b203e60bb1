"""State file load/save, sandbox_host and inventory reading (pure, on tmp files)."""

import json
from pathlib import Path

import pytest

from sandbox import config
from sandbox import inventory as sb_inventory
from sandbox.invfile import InventoryError, host_names, load_inventory
from sandbox.state import StateFile, load_state, save_state


def test_missing_state_is_empty(tmp_path: Path) -> None:
    st = load_state(tmp_path / "state.json", "sb")
    assert st["sandbox"] == "sb" and st["hosts"] == {} and st["services"] == {}


def test_save_then_load_round_trip_and_no_temp_left(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    st = StateFile(path, "sb")
    st.host("agent1")["ip"] = "198.51.100.11"
    st.save()
    assert load_state(path, "sb")["hosts"]["agent1"]["ip"] == "198.51.100.11"
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


def test_partial_state_gets_missing_sections(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"sandbox": "sb", "hosts": None, "bridge": {"name": "pmsbr0"}}))
    st = load_state(path, "sb")
    assert st["hosts"] == {} and st["artifacts"] == {} and st["bridge"]["name"] == "pmsbr0"


def test_damaged_state_is_an_error_not_a_reset(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(ValueError):
        load_state(path, "sb")


@pytest.fixture
def state_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(config, "STATE_ROOT", tmp_path)
    return tmp_path


def test_sandbox_host_without_state_returns_names_and_data_only(state_root: Path) -> None:
    assert sb_inventory.sandbox_host("sb", "master1", zookeeper_id=1) == (
        "master1",
        {"zookeeper_id": 1},
    )


def test_sandbox_host_merges_state_and_given_data_wins(state_root: Path) -> None:
    save_state(
        state_root / "sb" / "state.json",
        {
            "sandbox": "sb",
            "ssh_key": "/k/id_ed25519",
            "hosts": {"agent1": {"ip": "198.51.100.14"}},
            "mesos_repo": {"fingerprint": "A" * 40},
        },
    )
    name, data = sb_inventory.sandbox_host("sb", "agent1", marathon_image="mine:1")
    assert name == "agent1"
    assert data["ssh_hostname"] == data["ip"] == "198.51.100.14"
    assert data["ssh_user"] == "root" and data["ssh_key"] == "/k/id_ed25519"
    assert data["ssh_strict_host_key_checking"] == "no"
    assert data["ssh_known_hosts_file"] == "/dev/null"
    assert data["mesos_apt_repo_urls"] == {"Debian": "http://198.51.100.1:8081/mesos/"}
    assert data["mesos_apt_key_url"] == "http://198.51.100.1:8081/mesos/key.asc"
    assert data["mesos_apt_key_fingerprint"] == "A" * 40
    assert data["docker_insecure_registries"] == ["198.51.100.1:5000"]
    assert data["docker_registry_mirrors"] == ["http://198.51.100.1:5000"]
    assert data["marathon_image"] == "mine:1"
    # a host the state does not know: names only
    assert sb_inventory.sandbox_host("sb", "agent9") == ("agent9", {})


def test_host_names_from_groups_in_order() -> None:
    attrs = {
        "SANDBOX": "sb",
        "masters": [("m1", {}), ("m2", {})],
        "agents": (["a1", ("m1", {})], {"x": 1}),
        "_private": [("hidden", {})],
        "not_a_group": 3,
    }
    assert host_names(attrs) == ["m1", "m2", "a1"]


def test_load_inventory_needs_sandbox_name(tmp_path: Path) -> None:
    inv = tmp_path / "inv.py"
    inv.write_text("masters = [('m1', {})]\n")
    with pytest.raises(InventoryError, match="SANDBOX"):
        load_inventory(inv)
    inv.write_text("SANDBOX = 'sb'\nmasters = [('m1', {})]\nagents = [('a1', {})]\n")
    loaded = load_inventory(inv)
    assert loaded.sandbox == "sb" and loaded.hosts == ["m1", "a1"]
