"""How hosts get out in each sources mode: proxy filter, apt, SSH sessions, dockerd (pure)."""

from pathlib import Path

import pytest

from sandbox import hostfiles
from sandbox.hosts import write_source_files
from sandbox.services import tinyproxy_conf

# tinyproxy's config as the sandbox wrote it before the sources switch existed.
STANDINS_TINYPROXY = (
    "# Written by the pyinfra-mesos sandbox: apt proxy for the sandbox hosts.\n"
    "User nobody\nGroup nogroup\nPort 8888\nListen 198.51.100.1\nTimeout 600\n"
    "MaxClients 100\nAllow 198.51.100.0/24\nDisableViaHeader Yes\n"
    'Filter "/S/tinyproxy.filter"\nFilterType ere\nFilterURLs Off\nFilterDefaultDeny Yes\n'
    "ConnectPort 443\nLogLevel Notice\n"
)
# The apt proxy file as it was: the same in both modes (it already proxies http and https).
APT_PROXY = (
    "// pyinfra-mesos sandbox: apt goes through the proxy on the bridge (the only way out);\n"
    "// the sandbox's own repository on the bridge address is fetched directly.\n"
    'Acquire::http::Proxy "http://198.51.100.1:8888";\n'
    'Acquire::https::Proxy "http://198.51.100.1:8888";\n'
    'Acquire::http::Proxy::198.51.100.1 "DIRECT";\n'
    'Acquire::Retries "3";\n'
)


def test_tinyproxy_standins_is_unchanged_and_denies_by_default() -> None:
    conf, filt = tinyproxy_conf(Path("/S"), "mirror.example.org")
    assert conf == STANDINS_TINYPROXY
    assert filt == "^mirror\\.example\\.org$\n"


def test_tinyproxy_upstream_has_no_filter_but_keeps_the_subnet_only() -> None:
    conf, filt = tinyproxy_conf(Path("/S"), "mirror.example.org", upstream=True)
    assert filt == ""
    assert "Filter" not in conf and "mirror" not in conf
    assert "Allow 198.51.100.0/24" in conf and "Listen 198.51.100.1" in conf
    assert "ConnectPort 443" in conf
    # Everything else as with the stand-ins.
    kept = [line for line in STANDINS_TINYPROXY.splitlines() if "Filter" not in line]
    assert conf.splitlines() == kept


def test_apt_proxy_file_is_the_same_in_both_modes() -> None:
    assert hostfiles.apt_proxy_conf() == APT_PROXY


def test_no_source_files_with_standins() -> None:
    assert hostfiles.source_files(upstream=False) == {}


def test_docker_dropin_proxies_and_bypasses_the_sandbox_subnet() -> None:
    text = hostfiles.source_files(upstream=True)[hostfiles.DOCKER_PROXY_DROPIN]
    assert hostfiles.DOCKER_PROXY_DROPIN == (
        "etc/systemd/system/docker.service.d/sandbox-proxy.conf")
    lines = text.splitlines()
    assert "[Service]" in lines
    env = next(line for line in lines if line.startswith("Environment="))
    assert env == ('Environment="HTTP_PROXY=http://198.51.100.1:8888" '
                   '"HTTPS_PROXY=http://198.51.100.1:8888" '
                   '"NO_PROXY=localhost,127.0.0.0/8,::1,198.51.100.0/24"')


def test_sshd_dropin_sets_both_cases_for_ssh_sessions() -> None:
    text = hostfiles.source_files(upstream=True)[hostfiles.SSHD_PROXY_CONF]
    assert hostfiles.SSHD_PROXY_CONF == "etc/ssh/sshd_config.d/50-sandbox-proxy.conf"
    setenv = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(setenv) == 1 and setenv[0].startswith("SetEnv ")
    pairs = dict(p.split("=", 1) for p in setenv[0].split()[1:])
    proxy = "http://198.51.100.1:8888"
    assert pairs == {
        "http_proxy": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy,
        "no_proxy": "localhost,127.0.0.0/8,::1,198.51.100.0/24",
        "NO_PROXY": "localhost,127.0.0.0/8,::1,198.51.100.0/24",
    }


@pytest.mark.parametrize("upstream", [False, True])
def test_write_source_files_into_a_host_root(tmp_path: Path, upstream: bool) -> None:
    (tmp_path / "etc/ssh").mkdir(parents=True)
    (tmp_path / "etc/ssh/sshd_config").write_text("Include /etc/ssh/sshd_config.d/*.conf\n")
    written = write_source_files(tmp_path, upstream)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    if not upstream:
        assert written == [] and files == ["etc/ssh/sshd_config"]
        return
    assert sorted(written) == sorted([hostfiles.DOCKER_PROXY_DROPIN, hostfiles.SSHD_PROXY_CONF])
    assert files == sorted([*written, "etc/ssh/sshd_config"])
    for rel in written:
        assert (tmp_path / rel).read_text() == hostfiles.source_files(True)[rel]
        assert (tmp_path / rel).stat().st_mode & 0o777 == 0o644
