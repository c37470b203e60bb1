"""Flags aventer-mesos (m3scluster/clusterd) adds to Apache Mesos 1.11.0, name -> default.

Real Mesos loads them like any other flag; without them the stand-in would refuse a flag the
real package accepts ("Failed to load unknown flag"). Defaults are written the way the flag
lists in pyinfra_mesos/data are ("" for an unset Option<>, "true"/"false" for booleans, which
also marks them as booleans for `--no-<flag>`).

Source: m3scluster/clusterd, tags v1.11.0-0.6.0 through v1.11.0-0.9.0 (the same set in each;
the deploy pins 0.7.1), checked against the Apache 1.11.0 lists in pyinfra_mesos/data:
- src/logging/flags.cpp: `cleanup_log_files` (int days, 0 = off), a logging flag, so master
  AND agent have it.
- src/slave/flags.cpp (ENABLE_PORT_MAPPING_ISOLATOR and ENABLE_XFS_DISK_ISOLATOR blocks): the
  17 agent flags below. Newer clusterd HEAD also adds `http_cors_allowed_origins`; it is not in
  any tagged build up to 1.11.0-0.9.0, so it is not listed. The master gains nothing else.
"""

from __future__ import annotations

LOGGING_EXTRA: dict[str, str] = {
    "cleanup_log_files": "0",
}

AGENT_EXTRA: dict[str, str] = {
    "egress_rate_per_cpu": "",
    "minimum_egress_rate_limit": "",
    "maximum_egress_rate_limit": "",
    "egress_ceil_limit": "",
    "egress_burst": "",
    "ingress_rate_limit_per_container": "",
    "ingress_rate_per_cpu": "",
    "minimum_ingress_rate_limit": "",
    "maximum_ingress_rate_limit": "",
    "ingress_ceil_limit": "",
    "ingress_burst": "",
    "ingress_isolate_existing_containers": "true",
    "network_link_speed": "",
    "network_enable_rate_statistics": "false",
    "network_rate_statistics_window": "",
    "network_rate_statistics_interval": "",
    "xfs_quota_headroom": "10MB",
}


def extra_flags(kind: str) -> dict[str, str]:
    """aventer-mesos' additions for `kind` ('master' or 'agent')."""
    out = dict(LOGGING_EXTRA)
    if kind == "agent":
        out.update(AGENT_EXTRA)
    return out
