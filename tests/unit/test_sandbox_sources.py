"""PYINFRA_MESOS_SOURCES: parsing, the recorded mode, the inventory data and `up`'s first step.

Nothing here boots a sandbox or reaches the internet: the upstream reachability is checked
against ports on 127.0.0.1 only.
"""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import config, sources
from sandbox.__main__ import main
from sandbox.inventory import sandbox_data
from sandbox.state import StateFile
from sandbox.up import choose_sources

# The keys sandbox_data gives in both modes (docs/CONTRACTS.md, section Sandbox): the ones it
# gave before the switch existed, and the machine as the firewall's operator network.
TODAYS_KEYS = {
    "ssh_hostname", "ssh_user", "ssh_key", "ssh_known_hosts_file",
    "ssh_strict_host_key_checking", "ip", "mesos_apt_repo_urls", "mesos_apt_key_url",
    "mesos_apt_key_fingerprint", "marathon_image", "docker_insecure_registries",
    "docker_registry_mirrors", "firewall_operator_networks",
}


def _state(mode: str | None) -> dict:
    state = {"sandbox": "sb", "ssh_key": "/k/id", "hosts": {"agent1": {"ip": "198.51.100.14"}},
             "mesos_repo": {"fingerprint": "B" * 40}}
    if mode is not None:
        state["sources"] = mode
    return state


@pytest.mark.parametrize(("environ", "mode"), [
    ({}, "standins"),
    ({"PYINFRA_MESOS_SOURCES": ""}, "standins"),
    ({"PYINFRA_MESOS_SOURCES": "standins"}, "standins"),
    ({"PYINFRA_MESOS_SOURCES": "upstream"}, "upstream"),
])
def test_mode_from_env_accepts_the_two_modes(environ: dict, mode: str) -> None:
    assert sources.mode_from_env(environ) == mode


@pytest.mark.parametrize("value", ["Upstream", "upstream ", "real", "stand-ins", "1"])
def test_mode_from_env_refuses_anything_else_in_one_line(value: str) -> None:
    with pytest.raises(sources.SourcesError) as raised:
        sources.mode_from_env({"PYINFRA_MESOS_SOURCES": value})
    line = str(raised.value)
    assert "\n" not in line and line.startswith("error: environment: PYINFRA_MESOS_SOURCES: ")
    assert repr(value) in line and "standins" in line and "upstream" in line


def test_sources_command_prints_the_line_and_refuses_a_bad_value(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PYINFRA_MESOS_SOURCES", raising=False)
    assert main(["sources"]) == 0
    assert capsys.readouterr().out == sources.STANDINS_LINE + "\n"
    monkeypatch.setenv("PYINFRA_MESOS_SOURCES", "upstream")
    assert main(["sources"]) == 0
    assert capsys.readouterr().out.startswith("sources: upstream (aventer-mesos from ")
    monkeypatch.setenv("PYINFRA_MESOS_SOURCES", "bogus")
    assert main(["sources"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PYINFRA_MESOS_SOURCES" in err


def test_up_refuses_a_bad_value_before_reading_anything(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.setenv("PYINFRA_MESOS_SOURCES", "bogus")
    assert main(["up", str(tmp_path / "no-such-inventory.py")]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    assert out.err.startswith("error: environment: PYINFRA_MESOS_SOURCES: 'bogus'")


def test_standins_line_says_how_to_switch() -> None:
    assert sources.describe("standins") == (
        "sources: stand-ins (tests/standins; set PYINFRA_MESOS_SOURCES=upstream to use the real "
        "aventer-mesos and Marathon image where reachable)")


def test_upstream_line_names_group_data_sources() -> None:
    data = sources.upstream_data()
    line = sources.describe("upstream")
    assert line.startswith("sources: upstream (")
    assert data["mesos_apt_repo_urls"]["Debian"] in line
    assert data["mesos_apt_key_url"] in line and data["marathon_image"] in line
    assert "198.51.100.1:8888" in line


def test_upstream_data_is_group_data_all() -> None:
    text = sources.GROUP_DATA.read_text()
    data = sources.upstream_data()
    assert set(data) == set(sources.SOURCE_OVERRIDE_KEYS)
    assert f'marathon_image = "{data["marathon_image"]}"' in text


@pytest.mark.parametrize("mode", [None, "standins"])
def test_sandbox_data_standins_is_exactly_todays(mode: str | None) -> None:
    data = sandbox_data(_state(mode), "agent1")
    assert set(data) == TODAYS_KEYS
    assert data["mesos_apt_repo_urls"] == {"Debian": config.MESOS_REPO_URL}
    assert data["mesos_apt_key_url"] == config.MESOS_KEY_URL
    assert data["mesos_apt_key_fingerprint"] == "B" * 40
    assert data["marathon_image"] == config.MARATHON_IMAGE
    assert data["docker_insecure_registries"] == [config.REGISTRY]
    assert data["docker_registry_mirrors"] == [f"http://{config.REGISTRY}"]


def test_sandbox_data_upstream_leaves_the_source_overrides_out() -> None:
    data = sandbox_data(_state("upstream"), "agent1")
    assert not set(sources.SOURCE_OVERRIDE_KEYS) & set(data)
    assert set(data) == TODAYS_KEYS - set(sources.SOURCE_OVERRIDE_KEYS)
    # The demo app lives only in the sandbox registry: it stays a mirror.
    assert data["docker_registry_mirrors"] == [f"http://{config.REGISTRY}"]
    assert data["ip"] == data["ssh_hostname"] == "198.51.100.14"


def test_recorded_mode_defaults_to_standins() -> None:
    assert sources.recorded_mode({}) == "standins"
    assert sources.recorded_mode({"sources": "upstream"}) == "upstream"
    assert sources.recorded_mode({"sources": "garbage"}) == "standins"


def test_record_mode_refuses_a_switch_while_up_and_allows_it_after_down() -> None:
    live = _state("upstream")
    with pytest.raises(sources.SourcesError) as raised:
        sources.record_mode(live, "standins")
    line = str(raised.value)
    assert "\n" not in line and "'upstream'" in line and "'standins'" in line
    assert "python -m sandbox down" in line and live["sources"] == "upstream"
    after_down = {"sandbox": "sb", "sources": "upstream", "hosts": {}, "services": {}}
    sources.record_mode(after_down, "standins")
    assert after_down["sources"] == "standins"


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def open_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def _local_sources(port: int) -> dict:
    return {"mesos_apt_repo_urls": {"Debian": f"http://127.0.0.1:{port}/Debian/"},
            "mesos_apt_key_url": f"http://127.0.0.1:{port}/key.asc",
            "marathon_image": "mesosphere/marathon:v1.10.26"}


def test_choose_upstream_unreachable_fails_in_one_line_and_records_nothing(
        tmp_path: Path, closed_port: int) -> None:
    st = StateFile(tmp_path / "state.json", "sb")
    with pytest.raises(sources.SourcesError) as raised:
        choose_sources(st, "upstream", _local_sources(closed_port))
    line = str(raised.value)
    assert "\n" not in line and line.startswith("error: environment: PYINFRA_MESOS_SOURCES: ")
    assert f"127.0.0.1:{closed_port} (Connection refused)" in line
    assert "sources" not in st.data and not (tmp_path / "state.json").exists()


def test_choose_upstream_reachable_records_it(tmp_path: Path, open_port: int) -> None:
    st = StateFile(tmp_path / "state.json", "sb")
    line = choose_sources(st, "upstream", _local_sources(open_port))
    assert line.startswith("sources: upstream (aventer-mesos from http://127.0.0.1:")
    assert StateFile(tmp_path / "state.json", "sb").data["sources"] == "upstream"


def test_choose_standins_probes_nothing_and_records_it(tmp_path: Path) -> None:
    st = StateFile(tmp_path / "state.json", "sb")
    assert choose_sources(st, "standins") == sources.STANDINS_LINE
    assert StateFile(tmp_path / "state.json", "sb").data["sources"] == "standins"
