"""Apps only: `pyinfra -y inventory/<env>.py deploy_apps.py [--data 'apps_instances={...}']`.

Touches nothing but Marathon (and the small client file on the first Marathon host): for
scaling or shipping a new image without re-running the whole cluster deploy.
"""

from pyinfra import host, local, state

from pyinfra_mesos.credentials import ensure_all

ensure_all(host.data.dict(), state.cwd)
local.include("tasks/apps.py")
