"""Apps: every apps/*.json in Marathon, once per run, from the first Marathon host.

Included for every cluster host by deploy.py (and by deploy_apps.py); only the first Marathon
host acts, so each app is PUT once. Marathon is reached at 127.0.0.1 on that host: the
operator's machine may not route to the cluster, and any Marathon instance proxies to the
leader. The files are validated first, with the same messages as `check`; one bad file stops
the run before any host is touched.
"""

import os

import click
from pyinfra import host, inventory, state
from pyinfra.api.exceptions import PyinfraError

from pyinfra_mesos import marathon_client
from pyinfra_mesos.app_canonical import canonical_path
from pyinfra_mesos.apps import apply_instance_overrides, load_apps, validate_app_dir
from pyinfra_mesos.credentials import marathon_credentials
from pyinfra_mesos.deploy.file_set import file_set
from pyinfra_mesos.deploy.marathon_files import marathon_credential_texts
from pyinfra_mesos.deploy.operations import CLIENT_PATH, marathon_app
from pyinfra_mesos.deploy.private_files import claim_private_directory
from pyinfra_mesos.deploy.run_memo import run_topology
from pyinfra_mesos.inventory_loader import cli_inventory_path
from pyinfra_mesos.marathon import MARATHON_CREDENTIALS_FILE, MARATHON_CURL_CONFIG
from pyinfra_mesos.report import first_time, problems_report
from pyinfra_mesos.topology import marathon_urls
from pyinfra_mesos.validation import validate_names

CLIENT_SOURCE = marathon_client.__file__

topo = run_topology(state)

# deploy_apps.py comes here without deploy.py: unknown keys and groups are refused the same
# way (a typo such as `apps_instance` would otherwise deploy the file's instance counts).
# After deploy.py this finds nothing: it refused already.
inventory_errors, _ = problems_report(validate_names(inventory, cli_inventory_path()))
if inventory_errors:
    for line in inventory_errors:
        if first_time(state, line):
            click.echo(line, err=True)
    raise PyinfraError(f"the inventory has {len(inventory_errors)} error(s) listed above; "
                       "nothing was changed on any host")

if topo.marathons and host.name == topo.marathons[0].name:
    apps_dir = str(host.data.apps_dir)
    if not os.path.isabs(apps_dir):
        apps_dir = os.path.join(state.cwd or os.getcwd(), apps_dir)

    loaded, _ = load_apps(apps_dir)
    # The same function `check` runs (files, cross-app and cluster rules, apps_instances).
    problems = validate_app_dir(apps_dir, topo, host.data.apps_instances)
    for problem in problems:
        click.echo(str(problem), err=True)
    error_count = sum(1 for p in problems if p.level == "error")
    if error_count:
        # Raised while operations are generated: nothing has been changed on any host.
        raise PyinfraError(f"{error_count} error(s) in the app definitions listed above; "
                           "nothing was changed on any host")

    credentials = marathon_credentials(host.data.dict(), state.cwd)
    # The client and two 0600 forms of one secret: curl's config (the fact) and a bare
    # user:password (marathon_client.py). tasks/marathon.py wrote the secrets on this host
    # already; deploy_apps.py comes here alone. One fact for all three (deploy/file_set.py);
    # private files, so not even --diff prints them.
    secrets = marathon_credential_texts(credentials)
    with open(CLIENT_SOURCE, "rb") as client:
        client_files = {CLIENT_PATH: client.read()}
    file_set(
        name="Install the Marathon client used by the apps deploy"
             + (", Marathon API credentials (0600, content not shown)" if secrets else ""),
        files={**client_files, **{dest: text.encode() for dest, text in secrets.items()}},
        modes={CLIENT_PATH: "0755", **dict.fromkeys(secrets, "0600")},
        directories=claim_private_directory() if secrets else None,
    )

    # This host's own Marathon first, then the others: whichever answers proxies to the leader.
    urls = marathon_urls(topo.marathons, local=host.name)
    for app in apply_instance_overrides([item.app for item in loaded],
                                        host.data.apps_instances or {}):
        marathon_app(
            name=(f"Marathon app {canonical_path(str(app['id']))} "
                  f"({app.get('instances', 1)} instances)"),
            app=app,
            urls=urls,
            timeout_s=float(host.data.apps_deploy_timeout_s),
            credentials_file=MARATHON_CREDENTIALS_FILE if credentials else "",
            curl_config=MARATHON_CURL_CONFIG if credentials else "",
            marathon_flags=dict(host.data.get("marathon_flags") or {}),
            digest_key=credentials,
        )
