"""Files each host's overlay gets on its first boot (pure text, so it can be read and tested)."""

from __future__ import annotations

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
