"""Custom pyinfra operations: an app in Marathon, as a generator like pyinfra's own.

The decision (nothing / create / update) is made from the MarathonApp fact against the app
file, so a converged cluster yields no command (a re-run reports no change) and `--dry` shows
which fields would change. The change itself runs on the Marathon host: the normalised app is
uploaded, and marathon_client.py (stdlib, uploaded by tasks/apps.py) PUTs it and waits, bounded,
for the deployment to finish with every instance running and healthy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from io import StringIO
from typing import Any

from pyinfra import host, logger
from pyinfra.api import OperationError, QuoteString, StringCommand, operation
from pyinfra.operations import files

from pyinfra_mesos.apps import differences, needs_update, normalise_app
from pyinfra_mesos.facts import MarathonApp

CLIENT_PATH = "/usr/local/lib/pyinfra-mesos/marathon_client.py"
APPS_STATE_DIR = "/var/lib/pyinfra-mesos/apps"
# Marathon statuses that mean "not there" or "not up yet": the PUT (after waiting for /ping)
# decides. Anything else (401, 403, 500...) is reported rather than blindly PUT over.
PLANNABLE = (0, 200, 404, 502, 503)


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
def marathon_app(app: dict[str, Any], urls: Sequence[str] = ("http://127.0.0.1:8080",),
                 timeout_s: float = 300, poll_s: float = 2.0, credentials_file: str = "",
                 curl_config: str = ""):
    """Make Marathon run `app` (a definition from apps/*.json, overrides applied).

    + app: the app definition (1.4 or 1.5+ form; it is normalised to 1.5+)
    + urls: the Marathon instances as seen from this host, tried in turn (any one proxies to the
      leader, so the first that answers is used)
    + timeout_s: how long to wait for the deployment (and for Marathon to answer /ping)
    + credentials_file / curl_config: 0600 files on the host with the HTTP credentials
    """
    desired = normalise_app(app)
    app_id = str(desired["id"])
    current = host.get_fact(MarathonApp, app_id=app_id, urls=tuple(urls),
                            curl_config=curl_config)
    status = current.get("status", 0)
    if status not in PLANNABLE:
        raise OperationError(f"Marathon answered {status} for {app_id}: "
                             f"{current.get('message') or 'no message'}")
    if status == 200 and not needs_update(desired, current.get("app")):
        host.noop(f"Marathon app {app_id} is up to date")
        return

    # Log once: while planning when pyinfra detects changes (--dry, --diff), else when running.
    if host.state.is_executing != host.state.should_check_for_changes():
        changes = (differences(desired, current.get("app")) if status == 200
                   else ["(new app)" if status == 404 else "(Marathon not answering yet)"])
        logger.info(f"{host.print_prefix}Marathon app {app_id}: {'; '.join(changes)}")

    app_file = f"{APPS_STATE_DIR}/{app_file_name(app_id)}"
    yield from files.put._inner(
        src=StringIO(json.dumps(desired, indent=2, sort_keys=True) + "\n"),
        dest=app_file,
        mode="0644",
    )
    yield apply_command(app_file, urls, timeout_s, poll_s, credentials_file)
