"""The 0600 files through which the deploy's own Marathon clients carry its credentials.

Called from tasks/marathon.py (the restart probe) and tasks/apps.py (the apps deploy) inside a
deploy: pyinfra operations for the current host. Operations are named, so pyinfra never prints
their content; the secret is never on a command line.
"""

from __future__ import annotations

from pyinfra_mesos.deploy.private_files import private_directory, private_file
from pyinfra_mesos.marathon import (
    MARATHON_CREDENTIALS_FILE,
    MARATHON_CURL_CONFIG,
    curl_config_text,
)


def marathon_credential_files(credentials: str) -> None:
    """Write `user:password` as a bare 0600 file (marathon_client.py, the bridge) and as a
    0600 curl config (`curl -K`, the probes and the apps fact). No-op without credentials."""
    if not credentials:
        return
    private_directory()
    private_file(name="Marathon API credentials (0600)", dest=MARATHON_CREDENTIALS_FILE,
                 content=credentials + "\n")
    private_file(name="Marathon API credentials for curl (0600)", dest=MARATHON_CURL_CONFIG,
                 content=curl_config_text(credentials))
