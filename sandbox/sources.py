"""Which sources the sandbox's hosts install Mesos and Marathon from: stand-ins or upstream.

``PYINFRA_MESOS_SOURCES`` (read by ``python -m sandbox up`` and ``python -m sandbox sources``):

- ``standins`` (the default; also when unset or empty): the sandbox serves the stand-ins from
  tests/standins (its own apt repository and registry on the bridge), and the inventory points
  the hosts at them. Hosts reach nothing outside but the Debian mirror.
- ``upstream``: the inventory leaves the Mesos/Marathon source overrides out, so
  group_data/all.py's real sources apply (AVENTER's apt repository and key, the Marathon image
  from its registry), and the hosts get out through the proxy on the bridge.

``up`` records the mode in the state file (``sources``); everything later (the inventory, status)
follows that record, so a deploy always matches the hosts it was booted for. A sandbox keeps its
mode until ``down``: the hosts' proxy files are written on their first boot.

Stdlib only and cheap: ``sandbox.inventory`` imports it while pyinfra loads an inventory.
"""

from __future__ import annotations

import os
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sandbox import config

ENV_VAR = "PYINFRA_MESOS_SOURCES"
STANDINS = "standins"
UPSTREAM = "upstream"
MODES = (STANDINS, UPSTREAM)
STATE_KEY = "sources"

GROUP_DATA = Path(__file__).resolve().parent.parent / "group_data" / "all.py"
# The keys sandbox_data sets only with the stand-ins: where Mesos and Marathon come from.
SOURCE_OVERRIDE_KEYS = (
    "mesos_apt_repo_urls", "mesos_apt_key_url", "mesos_apt_key_fingerprint", "marathon_image",
)

# The second version of each stand-in, what the e2e upgrade phase moves to and back from: a real
# release name each (m3scluster/clusterd tag v1.11.0-0.8.0; d2iq-archive/marathon tag v1.10.17,
# an older build of the same 1.10 line, whose storage version 110.100 matches v1.10.26's, so
# real Marathon accepts the move both ways: storage/migration/Migration.scala). The defaults
# stay group_data/all.py's pins (mesos_version "1.11.0-0.7.1", Marathon v1.10.26).
UPGRADE_MESOS_VERSION = "1.11.0-0.8.0"
MARATHON_UPGRADE_RELEASE = "1.10.17"
STANDIN_MARATHON_UPGRADE_IMAGE = (
    f"{config.MARATHON_IMAGE.rsplit(':', 1)[0]}:{MARATHON_UPGRADE_RELEASE}")
UPSTREAM_MARATHON_UPGRADE_IMAGE = f"mesosphere/marathon:v{MARATHON_UPGRADE_RELEASE}"


def upgrade_data(mode: str) -> dict[str, str]:
    """The data overrides that move a sandbox of `mode` to the second Mesos package build and
    Marathon image: `{"mesos_version": ..., "marathon_image": ...}`. Without them (the
    defaults) a run moves it back."""
    image = (UPSTREAM_MARATHON_UPGRADE_IMAGE if mode == UPSTREAM
             else STANDIN_MARATHON_UPGRADE_IMAGE)
    return {"mesos_version": UPGRADE_MESOS_VERSION, "marathon_image": image}


STANDINS_LINE = (
    f"sources: stand-ins (tests/standins; set {ENV_VAR}={UPSTREAM} to use the real "
    "aventer-mesos and Marathon image where reachable)"
)


class SourcesError(ValueError):
    """A bad ``PYINFRA_MESOS_SOURCES`` value or a mode switch on a live sandbox (one line)."""


def mode_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The mode ``environ`` (default: this process's environment) asks for.

    Unset or empty means ``standins``. Raises SourcesError with one ``error: ...`` line naming
    the variable and the allowed values for anything else (no case folding, no trimming: a typo
    must not quietly pick a mode).
    """
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "")
    if value == "":
        return STANDINS
    if value in MODES:
        return value
    raise SourcesError(
        f"error: environment: {ENV_VAR}: {value!r} is not allowed; use {STANDINS} "
        f"(the default) or {UPSTREAM}"
    )


def recorded_mode(state: Mapping[str, Any]) -> str:
    """The mode ``up`` recorded in ``state``; stand-ins when none is (state files before it)."""
    return UPSTREAM if state.get(STATE_KEY) == UPSTREAM else STANDINS


def record_mode(data: dict[str, Any], mode: str) -> None:
    """Record ``mode`` in the state dict ``data``; refuse a switch while the sandbox is up.

    Hosts get their proxy files on their first boot and the proxy its filter at its start, so a
    different mode needs ``down`` first. Raises SourcesError (one line) on a switch.
    """
    recorded = data.get(STATE_KEY)
    live = bool(data.get("hosts")) or bool(data.get("services"))
    if recorded and recorded != mode and live:
        raise SourcesError(
            f"error: environment: {ENV_VAR}: sandbox {data.get('sandbox')!r} is up with sources "
            f"{recorded!r}, this run asks for {mode!r}; run `python -m sandbox down INVENTORY` "
            f"first, or set {ENV_VAR}={recorded}"
        )
    data[STATE_KEY] = mode


def upstream_data(path: Path = GROUP_DATA) -> dict[str, Any]:
    """The source keys of group_data/all.py (its module globals), read at run time."""
    values = runpy.run_path(str(path))
    return {k: values[k] for k in SOURCE_OVERRIDE_KEYS if k in values}


def describe(mode: str, group_data: Mapping[str, Any] | None = None) -> str:
    """One line for the operator: which sources this run uses.

    Upstream names the URLs and image from ``group_data`` (default: group_data/all.py).
    """
    if mode != UPSTREAM:
        return STANDINS_LINE
    data = upstream_data() if group_data is None else group_data
    repos = data.get("mesos_apt_repo_urls") or {}
    repo = repos.get("Debian", "") if isinstance(repos, Mapping) else ""
    return (
        f"sources: upstream (aventer-mesos from {repo or '?'} with the key from "
        f"{data.get('mesos_apt_key_url') or '?'}, Marathon image "
        f"{data.get('marathon_image') or '?'}; hosts go out through the proxy on "
        f"{config.BRIDGE_IP}:{config.PROXY_PORT})"
    )
