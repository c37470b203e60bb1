"""GET /v2/info in the shape of examples/marathon/get-v2-info.json, plus "standin": true."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .flags import Flags
from .zk import redact

# Which build this is, as Marathon's BuildInfo reads it from its jar's manifest
# (d2iq-archive/marathon v1.10.26 src/main/scala/mesosphere/marathon/BuildInfo.scala):
# `Implementation-Version` parsed as a SemVer (SemVer.scala: `1.10.17` or `1.10.17-<commit>`;
# absent or `0.1-SNAPSHOT` -> DefaultBuildVersion 1.10.0-SNAPSHOT) and `Git-Commit` (absent ->
# "unknown"). The image build copies manifests/<MARATHON_VERSION>.MF to META-INF/MANIFEST.MF
# (tests/standins/marathon/Dockerfile); it is read once at start, like the jar's.
MANIFEST = Path(__file__).resolve().parents[1] / "META-INF" / "MANIFEST.MF"
DEFAULT_BUILD_VERSION = "1.10.0-SNAPSHOT"
# SemVer.scala's two patterns: `versionPattern` (no `v`) and `versionCommitPattern`.
SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)")
SEMVER_COMMIT = re.compile(r"v?(\d+)\.(\d+)\.(\d+)-(\w+)")


def read_manifest(path: Path = MANIFEST) -> tuple[str, str]:
    """(version, buildref) from a JAR manifest at `path` (`Name: value` lines, CRLF or LF).

    Errors: a version SemVer.scala cannot parse raises ValueError, as Marathon fails at start
    ("Could not parse version ...")."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return DEFAULT_BUILD_VERSION, "unknown"
    attributes = dict(line.split(": ", 1) for line in lines if ": " in line)
    version = attributes.get("Implementation-Version", "").strip()
    buildref = attributes.get("Git-Commit", "").strip() or "unknown"
    if not version or version == "0.1-SNAPSHOT":
        return DEFAULT_BUILD_VERSION, buildref
    match = SEMVER_COMMIT.fullmatch(version) or SEMVER.fullmatch(version)
    if match is None:
        raise ValueError(f"Could not parse version {version}.")
    major, minor, patch, *commit = match.groups()
    return f"{major}.{minor}.{patch}" + "".join(f"-{c}" for c in commit), buildref


VERSION, BUILDREF = read_manifest()

# Keys of marathon_config whose flag has another name.
RENAMED = {"launch_token": "launch_tokens",
           "leader_proxy_connection_timeout_ms": "leader_proxy_connection_timeout",
           "leader_proxy_read_timeout_ms": "leader_proxy_read_timeout"}
NUMBERS = ["decline_offer_duration", "failover_timeout", "launch_token",
           "launch_token_refresh_interval", "leader_proxy_connection_timeout_ms",
           "leader_proxy_read_timeout_ms", "local_port_max", "local_port_min",
           "max_instances_per_offer", "mesos_heartbeat_failure_threshold",
           "mesos_heartbeat_interval", "min_revive_offers_interval", "offer_matching_timeout",
           "on_elected_prepare_timeout", "reconciliation_initial_delay",
           "reconciliation_interval", "scale_apps_initial_delay", "scale_apps_interval",
           "task_launch_confirm_timeout", "task_launch_timeout", "task_lost_expunge_initial_delay",
           "task_lost_expunge_interval", "task_reservation_timeout"]
STRINGS = ["default_network_name", "env_vars_prefix", "executor", "framework_name",
           "master", "mesos_bridge_name", "mesos_role", "webui_url"]
TOGGLES = ["checkpoint", "ha", "store_cache"]
ZK_NUMBERS = ["zk_compression_threshold", "zk_connection_timeout", "zk_max_node_size",
              "zk_max_versions", "zk_session_timeout", "zk_timeout"]


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def build_info(flags: Flags, elected: bool, leader: str | None, framework_id: str | None,
               mesos_leader: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key in NUMBERS:
        config[key] = flags.number(RENAMED.get(key, key))
    for key in STRINGS:
        config[key] = flags.text(key)
    master = flags.text("master")
    config["master"] = redact(master) if master else master
    for key in TOGGLES:
        config[key] = flags.toggle(key)
    config["access_control_allow_origin"] = _split(flags.text("access_control_allow_origin"))
    config["features"] = _split(flags.text("enable_features")) or []
    config["hostname"] = flags.hostname
    config["mesos_user"] = flags.mesos_user
    config["mesos_leader_ui_url"] = flags.text("mesos_leader_ui_url") or (
        f"http://{mesos_leader}/" if mesos_leader else None)
    zk_config: dict[str, Any] = {key: flags.number(key) for key in ZK_NUMBERS}
    # InfoResource.scala shows both URLs' `redactedConnectionString` (xxxxxxxx:xxxxxxxx@).
    zk = flags.text("zk")
    zk_config["zk"] = redact(zk) if zk else zk
    zk_config["zk_compression"] = flags.toggle("zk_compression")
    return {
        "name": "marathon",
        "version": VERSION,
        "buildref": BUILDREF,
        "standin": True,
        "elected": elected,
        "leader": leader,
        "frameworkId": framework_id,
        "marathon_config": dict(sorted(config.items())),
        "zookeeper_config": dict(sorted(zk_config.items())),
        "http_config": {"http_port": flags.number("http_port"),
                        "https_port": flags.number("https_port")},
    }
