"""Start-up: flags, ZooKeeper, Mesos master lookup, HTTP server; exit codes like Marathon."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.handlers.threading import KazooTimeoutError

from .api import make_server
from .flags import FlagError, load_specs, parse, usage
from .libprocess import Endpoint
from .mesos import MesosMaster
from .node import Node
from .zk import ZkUrl, connect, parse_zk_url, redact

log = logging.getLogger("marathon")


def ensure_state_namespace(client: KazooClient, url: ZkUrl) -> None:
    """The state client's namespace `<zk path>/state` is created, with the default ACL, when it
    first syncs at start-up (StorageConfig.curatorFramework `sync("/")`, RichCuratorFramework
    `namespace`); Curator only logs a refusal ("Ensure path threw exception") and goes on."""
    try:
        client.ensure_path(url.path.rstrip("/") + "/state", acl=url.default_acl)
    except NoAuthError as exc:
        log.error("Ensure path threw exception: %s", exc)


def main(argv: list[str], env: dict[str, str]) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    specs = load_specs()
    try:
        flags = parse(argv, env, specs)
    except FlagError as exc:
        if str(exc) == "HELP":
            print(usage(specs))
            return 0
        print(f"[scallop] Error: {exc}", file=sys.stderr)
        return 1
    if flags.text("http_credentials") and flags.http_credentials is None:
        # HttpModule.scala logs this and starts WITHOUT authentication.
        log.error("The HTTP credentials must be specified in the form of 'user:password'.")
    log.warning("STAND-IN: this is the pyinfra-mesos Marathon stand-in (tests/offline sandbox),"
                " not Marathon")
    try:
        zk_url = parse_zk_url(flags.text("zk") or "")
    except ValueError as exc:
        print(f"Error: --zk: {exc}", file=sys.stderr)
        return 1
    timeout = flags.number("zk_connection_timeout", 10000) / 1000
    try:
        client = connect(zk_url, flags.number("zk_session_timeout", 10000) / 1000, timeout)
        ensure_state_namespace(client, zk_url)
        mesos = MesosMaster(flags.text("master") or "", client, zk_url)
    except (KazooTimeoutError, ValueError) as exc:
        print(f"Error: cannot use ZooKeeper ({exc})", file=sys.stderr)
        return 1
    try:
        endpoint = Endpoint(env)
    except (OSError, ValueError) as exc:
        print(f"Error: libprocess cannot listen on {env.get('LIBPROCESS_IP') or '0.0.0.0'}:"
              f"{env.get('LIBPROCESS_PORT') or 0}: {exc}", file=sys.stderr)
        return 1
    endpoint.start()
    log.info("libprocess endpoint %s", endpoint.address)
    node = Node(flags, client, zk_url, mesos, endpoint)
    bind = flags.text("http_address") or "0.0.0.0"
    try:
        server = make_server(node, bind, flags.number("http_port", 8080))
    except OSError as exc:
        print(f"Error: cannot listen on {bind}:{flags.number('http_port')}: {exc}",
              file=sys.stderr)
        return 1
    stopping = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: shutting down", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    node.start()
    log.info("serving on %s:%s as %s (zk %s, master %s)", bind, flags.number("http_port"),
             node.address, redact(flags.text("zk") or ""), redact(flags.text("master") or ""))
    stopping.wait()
    server.shutdown()
    node.stop()
    endpoint.stop()
    client.stop()  # closes the session: our ephemeral election node goes away at once
    client.close()
    return 0
