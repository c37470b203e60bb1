"""The 0600 files through which the deploy's own Marathon clients carry its credentials.

Their texts, for tasks/marathon.py (the restart probe) and tasks/apps.py (the apps deploy),
which write them as private files of their file sets (0600: never diffed nor printed); the
secret is never on a command line.
"""

from __future__ import annotations

from pyinfra_mesos.marathon import (
    MARATHON_CREDENTIALS_FILE,
    MARATHON_CURL_CONFIG,
    curl_config_text,
)


def marathon_credential_texts(credentials: str) -> dict[str, str]:
    """dest -> text of the two 0600 files for `user:password`: the bare file
    (marathon_client.py, the bridge) and the curl config (`curl -K`, the probes and the apps
    fact). {} without credentials. tasks/marathon.py and tasks/apps.py put them in their file
    sets."""
    if not credentials:
        return {}
    return {MARATHON_CREDENTIALS_FILE: credentials + "\n",
            MARATHON_CURL_CONFIG: curl_config_text(credentials)}

