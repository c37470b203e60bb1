"""Marathon (tasks/marathon.py): its files on a host, its inputs and its curl credentials.

Marathon's flags and env are computed in flags.py (flag_tables.MARATHON).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyinfra_mesos.flags import MARATHON_MESOS_SECRET_FILE

MARATHON_ENV = "/etc/default/marathon"


MARATHON_CREDENTIALS_FILE = "/etc/pyinfra-mesos/marathon-credentials"


MARATHON_CURL_CONFIG = "/etc/pyinfra-mesos/marathon-curl.conf"


MARATHON_UNIT = "/etc/systemd/system/marathon.service"


def marathon_inputs(data: Mapping[str, Any]) -> list[str]:
    """The env file, the unit (which names the image) and its Mesos secret."""
    inputs = [MARATHON_ENV, MARATHON_UNIT]
    if data.get("mesos_authentication", True):
        inputs.append(MARATHON_MESOS_SECRET_FILE)
    return inputs


def curl_config_text(credentials: str) -> str:
    """`user = "name:password"` for `curl -K`: a quoted value with backslash and quote escaped
    (curl's config file syntax, curl(1) -K)."""
    escaped = credentials.replace("\\", "\\\\").replace('"', '\\"')
    return f'user = "{escaped}"\n'
