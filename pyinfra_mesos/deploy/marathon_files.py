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


def marathon_credential_texts(credentials: str) -> dict[str, str]:
    """dest -> text of the two 0600 files for `user:password`: the bare file
    (marathon_client.py, the bridge) and the curl config (`curl -K`, the probes and the apps
    fact). {} without credentials. tasks/marathon.py puts them in its one file_set."""
    if not credentials:
        return {}
    return {MARATHON_CREDENTIALS_FILE: credentials + "\n",
            MARATHON_CURL_CONFIG: curl_config_text(credentials)}


def marathon_credential_files(credentials: str) -> None:
    """Write marathon_credential_texts as two 0600 private files (tasks/apps.py). No-op without
    credentials."""
    texts = marathon_credential_texts(credentials)
    if not texts:
        return
    private_directory()
    private_file(name="Marathon API credentials (0600)", dest=MARATHON_CREDENTIALS_FILE,
                 content=texts[MARATHON_CREDENTIALS_FILE])
    private_file(name="Marathon API credentials for curl (0600)", dest=MARATHON_CURL_CONFIG,
                 content=texts[MARATHON_CURL_CONFIG])
