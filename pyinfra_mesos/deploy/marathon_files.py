"""The 0600 files through which the deploy's own Marathon clients carry its credentials, and
how a Marathon host is asked whether it leads.

Their texts, for tasks/marathon.py (the restart probe) and tasks/apps.py (the apps deploy),
which write them as private files of their file sets (0600: never diffed nor printed); the
secret is never on a command line.
"""

from __future__ import annotations

from pyinfra_mesos.deploy.leader_facts import MarathonLeadership
from pyinfra_mesos.deploy.rolling import LeaderQuery
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



def marathon_leader_query(address: str, credentials: str) -> LeaderQuery:
    """How the Marathon at `address` ("ip:port") is asked whether it leads, for a leader-last
    restart of Marathon (tasks/marathon.py) or of the Docker it runs in (tasks/docker.py):
    its /v2/leader, through the 0600 curl config when Marathon has `credentials`."""
    return LeaderQuery(MarathonLeadership,
                       {"address": address,
                        "curl_config": MARATHON_CURL_CONFIG if credentials else ""},
                       "Marathon leader")
