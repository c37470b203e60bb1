"""Files each host's overlay gets on its first boot (pure text, so it can be read and tested)."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox import config

CGROUP_RW_SCRIPT = """#!/bin/sh
# Written by the pyinfra-mesos sandbox. systemd-nspawn mounts the cgroup v1 hierarchies
# read-only; dockerd must create cgroups in them, so remount each one read-write.
for m in $(awk '$2 ~ "^/sys/fs/cgroup" {print $2}' /proc/self/mounts); do
    mount -o remount,bind,rw "$m" || echo "sandbox-cgroup-rw: could not remount $m" >&2
done
exit 0
"""

CGROUP_RW_UNIT = """# pyinfra-mesos sandbox: Docker in an nspawn host needs writable cgroups.
[Unit]
Description=Make cgroup hierarchies writable for Docker (sandbox host)
DefaultDependencies=no
After=local-fs.target
Before=docker.service containerd.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/sandbox-cgroup-rw

[Install]
WantedBy=multi-user.target
"""

# Hosts have no DNS server to ask (no route off the bridge); a resolver with no nameserver
# fails at once instead of timing out against the machine's upstream servers.
RESOLV_CONF = "# pyinfra-mesos sandbox: no DNS; names come from /etc/hosts\noptions timeout:1\n"


def network_file(ip: str) -> str:
    # No Gateway on purpose: the bridge forwards nothing, hosts talk only to the machine and
    # each other.
    return (
        "# pyinfra-mesos sandbox: static address on the sandbox bridge\n"
        f"[Match]\nName={config.HOST_IFACE}\n\n"
        f"[Network]\nAddress={ip}/{config.PREFIX_LEN}\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n"
    )


def apt_proxy_conf() -> str:
    proxy = f"http://{config.BRIDGE_IP}:{config.PROXY_PORT}"
    return (
        "// pyinfra-mesos sandbox: apt goes through the proxy on the bridge (the only way out);\n"
        "// the sandbox's own repository on the bridge address is fetched directly.\n"
        f'Acquire::http::Proxy "{proxy}";\n'
        f'Acquire::https::Proxy "{proxy}";\n'
        f'Acquire::http::Proxy::{config.BRIDGE_IP} "DIRECT";\n'
        'Acquire::Retries "3";\n'
    )


def point_release_sources(lines: Sequence[str]) -> str:
    return ("# pyinfra-mesos sandbox: the updates and security suites of this machine's own apt "
            "sources\n" + "".join(f"{line}\n" for line in lines))


# -- upstream sources only (PYINFRA_MESOS_SOURCES=upstream; sandbox/sources.py) ---------------
# With the stand-ins none of these exist on a host: it reaches only the machine and the mirror.

DOCKER_PROXY_DROPIN = "etc/systemd/system/docker.service.d/sandbox-proxy.conf"
SSHD_PROXY_CONF = "etc/ssh/sshd_config.d/50-sandbox-proxy.conf"


def proxy_url() -> str:
    return f"http://{config.BRIDGE_IP}:{config.PROXY_PORT}"


def no_proxy() -> str:
    """What is reached directly: the host itself and the sandbox subnet (the cluster, the
    sandbox registry). CIDR entries work for Go's net/http (dockerd) and curl >= 7.86."""
    return f"localhost,127.0.0.0/8,::1,{config.SUBNET_PREFIX}0/{config.PREFIX_LEN}"


def docker_proxy_dropin() -> str:
    """docker.service drop-in: dockerd pulls through the proxy (Docker Hub has no mirror here),
    the sandbox subnet directly (the registry group's host, the sandbox registry)."""
    proxy = proxy_url()
    return (
        "# pyinfra-mesos sandbox (upstream sources): dockerd pulls through the proxy.\n"
        "[Service]\n"
        f'Environment="HTTP_PROXY={proxy}" "HTTPS_PROXY={proxy}" "NO_PROXY={no_proxy()}"\n'
    )


def sshd_proxy_conf() -> str:
    """sshd drop-in: every SSH session (pyinfra's commands, files.download's curl) gets the
    proxy. sshd_config(5) SetEnv; Debian 12's sshd_config includes sshd_config.d/*.conf. Both
    cases: curl reads only lower-case http_proxy, other tools read upper case."""
    proxy = proxy_url()
    pairs = [f"{name}={value}" for names, value in
             ((("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"), proxy),
              (("no_proxy", "NO_PROXY"), no_proxy()))
             for name in names]
    return (
        "# pyinfra-mesos sandbox (upstream sources): SSH sessions go out through the proxy.\n"
        f"SetEnv {' '.join(pairs)}\n"
    )


def source_files(upstream: bool) -> dict[str, str]:
    """{path relative to the host root: text} written on a host's first boot for its mode."""
    if not upstream:
        return {}
    return {DOCKER_PROXY_DROPIN: docker_proxy_dropin(), SSHD_PROXY_CONF: sshd_proxy_conf()}
