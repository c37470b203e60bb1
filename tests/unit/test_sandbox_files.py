"""Config text the sandbox writes into hosts and for its services (pure)."""

from pathlib import Path

from sandbox import hostfiles
from sandbox.images import tree_hash
from sandbox.services import registry_conf, tinyproxy_conf


def test_network_file_static_address_no_gateway() -> None:
    text = hostfiles.network_file("198.51.100.14")
    assert "Name=eth0" in text and "Address=198.51.100.14/24" in text
    assert "Gateway=" not in text


def test_apt_proxy_conf_matches_contract() -> None:
    text = hostfiles.apt_proxy_conf()
    assert 'Acquire::http::Proxy "http://198.51.100.1:8888";' in text
    assert 'Acquire::http::Proxy::198.51.100.1 "DIRECT";' in text
    assert 'Acquire::Retries "3";' in text


def test_cgroup_unit_runs_before_docker() -> None:
    assert "Before=docker.service" in hostfiles.CGROUP_RW_UNIT
    assert "remount,bind,rw" in hostfiles.CGROUP_RW_SCRIPT


def test_tinyproxy_allows_only_the_mirror_host(tmp_path: Path) -> None:
    conf, filt = tinyproxy_conf(tmp_path, "mirror.example.org")
    assert filt == "^mirror\\.example\\.org$\n"
    assert "FilterDefaultDeny Yes" in conf and "Listen 198.51.100.1" in conf
    assert "Allow 198.51.100.0/24" in conf


def test_registry_conf_bridge_only_no_auth(tmp_path: Path) -> None:
    text = registry_conf(tmp_path)
    assert "addr: 198.51.100.1:5000" in text and "auth:" not in text
    assert f"rootdirectory: {tmp_path / 'registry'}" in text


def test_tree_hash_changes_with_content_not_with_caches(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    first = tree_hash(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.pyc").write_bytes(b"x")
    assert tree_hash(tmp_path) == first
    (tmp_path / "Dockerfile").write_text("FROM y\n")
    assert tree_hash(tmp_path) != first
    assert tree_hash(tmp_path, extra="base:1") != tree_hash(tmp_path, extra="base:2")
