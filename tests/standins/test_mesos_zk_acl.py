"""Mesos stand-in and ZooKeeper digest credentials in the zk URL, against the real ZooKeeper.

apache/mesos 1.11.0: `zk://user:pass@hosts/path` becomes Authentication("digest", "user:pass")
(src/zookeeper/url.hpp); every group adds it to its session and creates its znodes, the
recursive creation of its base path included, with EVERYONE_READ_CREATOR_ALL, or
ZOO_OPEN_ACL_UNSAFE without credentials (src/zookeeper/group.cpp, authentication.cpp,
zookeeper.cpp). ZooKeeper itself enforces the ACLs here; the stand-in only has to set them.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import ACL, OPEN_ACL_UNSAFE, Permissions, make_digest_acl_credential
from kazoo.security import Id as ZkId

from tests.standins.mesos.mesos_standin.zk import parse_zk_url
from tests.standins.mesos.testing import Proc, free_ports, get, start, state, wait_for

CREDS = "mesos:s3cr@t"  # an '@' in the password: Mesos splits at the LAST '@'
RESOURCES = "--resources=cpus:1;mem:256;disk:512;ports:[31000-31001]"


def _client(zookeeper: str, auth: str | None = None) -> KazooClient:
    zk = KazooClient(hosts=zookeeper, timeout=5,
                     auth_data=[("digest", auth)] if auth else None)
    zk.start(timeout=10)
    return zk


@pytest.fixture
def anonymous(zookeeper: str) -> Iterator[KazooClient]:
    zk = _client(zookeeper)
    yield zk
    zk.stop()
    zk.close()


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.stop()


def _master(zookeeper: str, url_path: str, tmp: Path, name: str, port: int,
            creds: str | None = CREDS) -> Proc:
    auth = f"{creds}@" if creds else ""
    return start("master", [
        f"--zk=zk://{auth}{zookeeper}{url_path}", "--quorum=1", f"--work_dir={tmp}/{name}",
        "--ip=127.0.0.1", f"--port={port}", "--hostname=127.0.0.1", "--zk_session_timeout=2secs",
    ], tmp / f"{name}.log")  # fmt: skip


def _leading(port: int) -> bool:
    return get(f"http://127.0.0.1:{port}/health")[0] == 200 and \
        state(port)["leader"] == f"master@127.0.0.1:{port}"


def _everyone_read_creator_all(creds: str) -> list[ACL]:
    user, password = creds.split(":", 1)
    digest = make_digest_acl_credential(user, password)  # "user:base64(sha1(user:pass))"
    return [ACL(Permissions.READ, ZkId("world", "anyone")),
            ACL(Permissions.ALL, ZkId("digest", digest))]


def test_url_credentials_end_at_the_last_at_sign(tmp_path: Path) -> None:
    url = parse_zk_url("zk://mesos:s3cr@t@h1:2181,h2:2181/mesos/")
    assert (url.credentials, url.servers, url.path) == ("mesos:s3cr@t", "h1:2181,h2:2181",
                                                        "/mesos")
    assert parse_zk_url("zk://h1:2181/mesos").credentials is None
    zk_file = tmp_path / "zk"  # the deploy's --zk=file:///etc/mesos/zk holds the whole URL
    zk_file.write_text("zk://mesos:pw@h1:2181/mesos\n")
    assert parse_zk_url(f"file://{zk_file}").credentials == "mesos:pw"


def test_master_with_digest_protects_every_node_it_creates(
    zookeeper: str, tmp_path: Path, procs: list[Proc], anonymous: KazooClient
) -> None:
    top = f"/acl-{uuid.uuid4().hex[:8]}"
    path = f"{top}/mesos"  # a two-level path: the recursive creation protects /acl-x too
    (port,) = free_ports(1)
    procs.append(_master(zookeeper, path, tmp_path, "m", port))
    wait_for("master leads", lambda: _leading(port), 15)

    owner = _client(zookeeper, CREDS)  # ZooKeeper shows digest hashes only to their owner
    try:
        expected = _everyone_read_creator_all(CREDS)
        member = next(c for c in anonymous.get_children(path) if c.startswith("json.info_"))
        replica = anonymous.get_children(f"{path}/log_replicas")[0]
        for node in (top, path, f"{path}/log_replicas", f"{path}/{member}",
                     f"{path}/log_replicas/{replica}"):
            assert owner.get_acls(node)[0] == expected, node

        # Without the digest: reads work (agents and Marathon find the leader), writes do not.
        info = json.loads(anonymous.get(f"{path}/{member}")[0])
        assert info["address"] == {"hostname": "127.0.0.1", "ip": "127.0.0.1", "port": port}
        with pytest.raises(NoAuthError):
            anonymous.create(f"{path}/json.info_", b"{}", ephemeral=True, sequence=True)
        with pytest.raises(NoAuthError):
            anonymous.set(path, b"x")
        with pytest.raises(NoAuthError):
            anonymous.delete(f"{path}/{member}")
        with pytest.raises(NoAuthError):
            anonymous.delete(f"{path}/log_replicas", recursive=True)
        with pytest.raises(NoAuthError):
            anonymous.create(f"{top}/other", b"")

        # With the digest every write works.
        created = owner.create(f"{path}/probe", b"x")
        owner.set(created, b"y")
        owner.delete(created)
    finally:
        owner.stop()
        owner.close()
    assert procs[0].popen.poll() is None


def test_agent_without_credentials_still_detects_the_leader(
    zookeeper: str, tmp_path: Path, procs: list[Proc]
) -> None:
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    mport, aport = free_ports(2)
    procs.append(_master(zookeeper, path, tmp_path, "m", mport))
    wait_for("master leads", lambda: _leading(mport), 15)
    procs.append(start("agent", [
        f"--master=zk://{zookeeper}{path}", f"--work_dir={tmp_path}/agent", "--ip=127.0.0.1",
        f"--port={aport}", "--containerizers=mesos", RESOURCES,
    ], tmp_path / "agent.log"))  # fmt: skip
    wait_for("agent registered", lambda: state(mport)["slaves"], 15)


@pytest.mark.parametrize("creds", [None, "mesos:wrong"], ids=["no-credentials", "wrong-digest"])
def test_master_refused_by_the_acl_aborts(
    zookeeper: str, tmp_path: Path, procs: list[Proc], creds: str | None
) -> None:
    """src/log/log.cpp `LogProcess::failed`: LOG(FATAL) "Failed to participate in ZooKeeper
    group: " + group.cpp `doJoin`'s "Failed to create ephemeral node at '<path>' in ZooKeeper:
    " + zerror(ZNOAUTH); glog's FATAL aborts."""
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    first, second = free_ports(2)
    procs.append(_master(zookeeper, path, tmp_path, "owner", first))
    wait_for("owner leads", lambda: _leading(first), 15)
    intruder = _master(zookeeper, path, tmp_path, "intruder", second, creds=creds)
    procs.append(intruder)
    intruder.popen.wait(timeout=20)
    assert intruder.popen.returncode == -signal.SIGABRT
    assert ("Failed to participate in ZooKeeper group: Failed to create ephemeral node at "
            f"'{path}/log_replicas' in ZooKeeper: not authenticated") in intruder.output()
    assert _leading(first)


def test_without_credentials_nodes_stay_open(
    zookeeper: str, tmp_path: Path, procs: list[Proc], anonymous: KazooClient
) -> None:
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    (port,) = free_ports(1)
    procs.append(_master(zookeeper, path, tmp_path, "m", port, creds=None))
    wait_for("master leads", lambda: _leading(port), 15)
    member = next(c for c in anonymous.get_children(path) if c.startswith("json.info_"))
    for node in (path, f"{path}/log_replicas", f"{path}/{member}"):
        assert anonymous.get_acls(node)[0] == OPEN_ACL_UNSAFE, node
    anonymous.delete(anonymous.create(f"{path}/probe", b"x"))


@pytest.mark.parametrize("creds", [None, CREDS], ids=["no-credentials", "digest"])
def test_agent_started_first_creates_the_base_path_with_its_own_acl(
    zookeeper: str, tmp_path: Path, procs: list[Proc], anonymous: KazooClient,
    creds: str | None,
) -> None:
    """Every group creates its base path on connecting (group.cpp `sync` -> `create`), the
    agent's detector too: an agent that starts before any master leaves /mesos open unless
    its own URL carries the credentials."""
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    (aport,) = free_ports(1)
    auth = f"{creds}@" if creds else ""
    procs.append(start("agent", [
        f"--master=zk://{auth}{zookeeper}{path}", f"--work_dir={tmp_path}/agent",
        "--ip=127.0.0.1", f"--port={aport}", "--containerizers=mesos", RESOURCES,
    ], tmp_path / "agent.log"))  # fmt: skip
    wait_for("the agent's detector created its path", lambda: anonymous.exists(path), 15)
    if creds is None:
        assert anonymous.get_acls(path)[0] == OPEN_ACL_UNSAFE
        return
    owner = _client(zookeeper, creds)
    try:
        assert owner.get_acls(path)[0] == _everyone_read_creator_all(creds)
    finally:
        owner.stop()
        owner.close()
    with pytest.raises(NoAuthError):
        anonymous.create(f"{path}/json.info_", b"{}", ephemeral=True, sequence=True)
