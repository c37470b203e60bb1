"""Custom pyinfra operations: an app in Marathon, as a generator like pyinfra's own.

The decision (nothing / create / update) compares the app file's canonical form with the
canonical form of what the MarathonApp fact read (apps.compare, whole: additions, changes and
removals), so a converged cluster yields no command (a re-run reports no change) and `--dry`
shows every field that would change, env values masked as `***`. The change itself runs on the
Marathon host: the canonical app is uploaded (0600, never printed, not even with `--diff`), and
marathon_client.py (stdlib, uploaded by tasks/apps.py) PUTs it with `?partialUpdate=false` (a
removed field must leave Marathon; 1.10 merges by default, AppsResource.scala) and waits,
bounded, for the deployment to finish with every instance running and healthy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from io import StringIO
from typing import Any

from pyinfra import host, logger
from pyinfra.api import FileUploadCommand, OperationError, QuoteString, StringCommand, operation

from pyinfra_mesos.app_canonical import MarathonSettings
from pyinfra_mesos.apps import compare
from pyinfra_mesos.deploy.facts import MarathonApp

CLIENT_PATH = "/usr/local/lib/pyinfra-mesos/marathon_client.py"
APPS_STATE_DIR = "/var/lib/pyinfra-mesos/apps"
# Marathon statuses that mean "not there" or "no leader yet" (0 = unreachable; 500/502/503/504
# from the leader proxy during an election, docs/REAL-CONTRACTS.md): the PUT (after the client waits
# for a leader) decides. Anything else (401, 403...) is reported rather than blindly PUT over.
PLANNABLE = (0, 200, 404, 500, 502, 503, 504)


def app_file_name(app_id: str) -> str:
    return app_id.strip("/").replace("/", "_") + ".json"


def apply_command(app_file: str, urls: Sequence[str], timeout_s: float, poll_s: float,
                  credentials_file: str = "") -> StringCommand:
    parts: list[Any] = ["python3", CLIENT_PATH, "apply"]
    for url in urls:
        parts += ["--url", QuoteString(url)]
    parts += ["--file", QuoteString(app_file), "--timeout", str(int(timeout_s)),
              "--poll", str(poll_s)]
    if credentials_file:
        parts += ["--credentials-file", QuoteString(credentials_file)]
    return StringCommand(*parts)


@operation()
def marathon_app(app: dict[str, Any], urls: Sequence[str],
                 timeout_s: float = 300, poll_s: float = 2.0, credentials_file: str = "",
                 curl_config: str = "", marathon_flags: dict[str, Any] | None = None,
                 digest_key: str = ""):
    """Make Marathon run `app` (a definition from apps/*.json, overrides applied).

    + app: the app definition (any form Marathon 1.10 accepts; compared canonically)
    + urls: the Marathon instances as seen from this host, tried in turn (any one proxies to the
      leader, so the first that answers is used): topology.marathon_urls
    + timeout_s: how long to wait for the deployment (and for Marathon to have a leader)
    + credentials_file / curl_config: 0600 files on the host with the HTTP credentials
    + marathon_flags: the cluster's marathon_flags (mesos_role, default_network_name... change
      how Marathon normalises an app)
    + digest_key: the Marathon credentials, as written to `credentials_file`: the key of the
      digests the fact returns for secret values (app_secrets.py)
    """
    settings = MarathonSettings.from_flags(marathon_flags or {})
    app_id = str(compare(app, None, settings)[0]["id"])
    current = host.get_fact(MarathonApp, app_id=app_id, urls=tuple(urls),
                            curl_config=curl_config, key_file=credentials_file)
    status = current.get("status", 0)
    if status not in PLANNABLE:
        raise OperationError(f"Marathon answered {status} for {app_id}: "
                             f"{current.get('message') or 'no message'}")
    known = current.get("app") if status == 200 else None
    # The host masked the app's secrets with the credentials file it found (or an empty key).
    key = {"file": digest_key.encode(), "none": b""}.get(str(current.get("key")))
    desired, changes = compare(app, known, settings, digest_key=key)
    if status == 200 and not changes:
        host.noop(f"Marathon app {app_id} is up to date")
        return

    # Log once: while planning when pyinfra detects changes (--dry, --diff), else when running.
    if host.state.is_executing != host.state.should_check_for_changes():
        lines = ([c.describe() for c in changes] if status == 200
                 else ["(new app)" if status == 404 else "(Marathon has no leader yet)"])
        logger.info(f"{host.print_prefix}Marathon app {app_id}: {'; '.join(lines)}")

    app_file = f"{APPS_STATE_DIR}/{app_file_name(app_id)}"
    # Not files.put: its --diff output would print the env values. The temporary upload lands
    # in the 0700 state directory, so the file is never readable by other users.
    yield StringCommand("install", "-d", "-m", "0700", QuoteString(APPS_STATE_DIR))
    yield FileUploadCommand(
        StringIO(json.dumps(desired, indent=2, sort_keys=True) + "\n"),
        app_file,
        remote_temp_filename=host.get_temp_filename(app_file, temp_directory=APPS_STATE_DIR),
    )
    yield StringCommand("chmod", "0600", QuoteString(app_file))
    yield apply_command(app_file, urls, timeout_s, poll_s, credentials_file)
