"""Secrets the deploy generates on its first run and keeps on the operator's side.

Like kubespray's credentials directory: one 0600 file per secret under
`<credentials_dir>/<cluster_name>/` (the directory 0700), outside git (`.gitignore`), next to
the deploy. A value the operator sets in the inventory or group_data wins; otherwise the deploy
generates one once and every later run, the cluster checks and the e2e tier read the same file.
Keyed by cluster_name, not by inventory file, so a copy of an inventory (one more agent) is the
same cluster with the same secrets.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.flags import zk_digest_problem

MARATHON_USER = "marathon"


def cluster_credentials_dir(data: Mapping[str, Any], project_root: str | Path) -> Path:
    """`<credentials_dir>/<cluster_name>`; a relative credentials_dir is under project_root."""
    base = Path(str(data.get("credentials_dir") or "credentials"))
    if not base.is_absolute():
        base = Path(project_root) / base
    return base / str(data.get("cluster_name") or "pyinfra-mesos")


def operator_secret(data: Mapping[str, Any], project_root: str | Path, name: str, *,
                    create: bool) -> str:
    """The secret `name` (a 32-byte hex token), read from its 0600 file; generated (O_EXCL, so
    two runs never write different ones) when `create` and the file does not exist yet; "" when
    it does not exist and `create` is False."""
    directory = cluster_credentials_dir(data, project_root)
    path = directory / name
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if not create:
            return ""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


# Mesos principals (CRAM-MD5 for agents and frameworks, HTTP basic for the masters' write
# endpoints); each secret is generated like Marathon's.
MESOS_PRINCIPALS = {"agent": "mesos_agent_secret", "marathon": "mesos_marathon_secret",
                    "operator": "mesos_operator_secret"}


def mesos_secrets(data: Mapping[str, Any], project_root: str | Path, *,
                  create: bool = False) -> dict[str, str]:
    """`{principal: secret}` for every Mesos principal ({} entries missing when not created)."""
    found = {principal: operator_secret(data, project_root, name, create=create)
             for principal, name in MESOS_PRINCIPALS.items()}
    return {principal: secret for principal, secret in found.items() if secret}


# ZooKeeper digest principals, one per product that writes its own znodes: `{service: (data key
# for the operator's `user:password`, generated secret's file name, generated user)}`. Mesos
# creates its znodes EVERYONE_READ_CREATOR_ALL once its zk URL carries credentials (apache/mesos
# 1.11.0 src/zookeeper/group.cpp, src/zookeeper/authentication.cpp), Marathon CREATOR_ALL_ACL
# (d2iq-archive/marathon v1.10.26 ZookeeperConf.scala zkDefaultCreationACL).
ZOOKEEPER_PRINCIPALS = {
    "mesos": ("zookeeper_mesos_credentials", "zookeeper_mesos_secret", "mesos"),
    "marathon": ("zookeeper_marathon_credentials", "zookeeper_marathon_secret", "marathon"),
}


def zookeeper_credentials(data: Mapping[str, Any], project_root: str | Path, service: str, *,
                          create: bool = False) -> str:
    """`user:password` with which `service` ("mesos" or "marathon") authenticates to ZooKeeper
    (digest scheme): the operator's `zookeeper_<service>_credentials` when set, else
    `<service>:<token>` from the credentials directory. "" when zookeeper_acls is False, or
    when never generated and not `create`.

    Raises DeployRefused (a PyinfraError: one `error: <file>: <field>: ...` line) when the
    secret file was edited into something the zk:// URLs cannot carry
    (flags.zk_digest_problem); the data keys are checked by the schema before this runs.
    """
    if not data.get("zookeeper_acls", True):
        return ""
    key, name, user = ZOOKEEPER_PRINCIPALS[service]
    explicit = str(data.get(key) or "")
    if explicit:
        return explicit
    token = operator_secret(data, project_root, name, create=create)
    if not token:
        return ""
    problem = zk_digest_problem(f"{user}:{token}")
    if problem:
        where = cluster_credentials_dir(data, project_root) / name
        raise DeployRefused(f"error: {where}: {key}: {problem}")
    return f"{user}:{token}"


def ensure_all(data: Mapping[str, Any], project_root: str | Path) -> None:
    """Generate, once, every secret the deploy needs (called by deploy.py before any task)."""
    marathon_credentials(data, project_root, create=True)
    if data.get("mesos_authentication", True):
        mesos_secrets(data, project_root, create=True)
    for service in ZOOKEEPER_PRINCIPALS:
        zookeeper_credentials(data, project_root, service, create=True)


def marathon_credentials(data: Mapping[str, Any], project_root: str | Path, *,
                         create: bool = False) -> str:
    """Marathon's `user:password`: marathon_http_credentials when set, else `marathon:<token>`
    from the operator's credentials directory ("" if never generated and not `create`)."""
    explicit = str(data.get("marathon_http_credentials") or "")
    if explicit:
        return explicit
    token = operator_secret(data, project_root, "marathon_http_credentials", create=create)
    return f"{MARATHON_USER}:{token}" if token else ""
