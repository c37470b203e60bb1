"""Marathon stand-in and ZooKeeper digest credentials in --zk, against the real ZooKeeper.

Marathon 1.10.26 (d2iq-archive/marathon): ZookeeperConf.scala `ZkUrlPattern` and
`zkDefaultCreationACL` (CREATOR_ALL_ACL with user and password, else OPEN_ACL_UNSAFE);
core/storage/store/impl/zk/RichCuratorFramework.scala (digest `authorization`, the ACLProvider
that adds READ_ACL_UNSAFE for `<zk>/leader-curator` only); core/election/
CuratorElectionStream.scala (the LeaderLatch under `<zk>/leader-curator`);
api/v2/InfoResource.scala (`redactedConnectionString`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import (
    ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    Permissions,
    make_digest_acl_credential,
)
from kazoo.security import Id as ZkId

from tests.standins.marathon.marathon_standin.zk import parse_zk_url
from tests.standins.marathon.marathon_testkit.fake_mesos import FakeMaster, free_ports
from tests.standins.marathon.marathon_testkit.proc import Marathon, http, start, wait_for

CREDS = "marathon:zk-secret"
APP = {"id": "/acl-probe", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 0}


def _client(zookeeper: str, auth: str | None = None) -> KazooClient:
    zk = KazooClient(hosts=zookeeper, timeout=5,
                     auth_data=[("digest", auth)] if auth else None)
    zk.start(timeout=10)
    return zk


@pytest.fixture
def clients(zookeeper: str) -> Iterator[tuple[KazooClient, KazooClient]]:
    """(anonymous, owner): a session without auth and one with the digest of CREDS."""
    anonymous, owner = _client(zookeeper), _client(zookeeper, CREDS)
    yield anonymous, owner
    for zk in (anonymous, owner):
        zk.stop()
        zk.close()


@pytest.fixture
def master() -> Iterator[FakeMaster]:
    fake = FakeMaster(agents=1)
    yield fake
    fake.close()


@pytest.fixture
def procs() -> Iterator[list[Marathon]]:
    started: list[Marathon] = []
    yield started
    for proc in started:
        proc.stop()


def _start(zk_url: str, master: str, tmp: Path, name: str, ready: int = 200) -> Marathon:
    port = free_ports(1)[0]
    args = ["--master", master, "--zk", zk_url, "--http_port", str(port),
            "--http_address", "127.0.0.1", "--hostname", "127.0.0.1",
            "--zk_session_timeout", "2000"]
    return start(args, tmp / f"{name}.log", port, ready=ready)


def _creator_all(creds: str) -> list[ACL]:
    user, password = creds.split(":", 1)
    return [ACL(Permissions.ALL, ZkId("digest", make_digest_acl_credential(user, password)))]


def test_zk_url_pattern_is_marathons() -> None:
    url = parse_zk_url("zk://marathon:p:w@h1:2181,h-2.x:2181/marathon/one")
    assert (url.auth, url.hosts, url.path) == ("marathon:p:w", "h1:2181,h-2.x:2181",
                                               "/marathon/one")
    assert url.redacted() == "zk://xxxxxxxx:xxxxxxxx@h1:2181,h-2.x:2181/marathon/one"
    assert parse_zk_url("zk://h1:2181/marathon").auth is None
    # pass is [^@]+ and a host holds no '@'; no path, a trailing '/' or a user alone: refused.
    for bad in ("zk://u:p@ss@h1:2181/marathon", "zk://h1:2181", "zk://h1:2181/marathon/",
                "zk://u@h1:2181/marathon"):
        with pytest.raises(ValueError, match="is not a valid zk url"):
            parse_zk_url(bad)


def test_with_digest_every_node_is_creator_only_but_the_latch_directory(
    zookeeper: str, tmp_path: Path, master: FakeMaster, procs: list[Marathon],
    clients: tuple[KazooClient, KazooClient],
) -> None:
    anonymous, owner = clients
    base = f"/marathon-{uuid.uuid4().hex[:8]}"
    leader = _start(f"zk://{CREDS}@{zookeeper}{base}", master.address, tmp_path, "m")
    procs.append(leader)
    status, _, _ = http(leader.url + "/v2/apps", "POST", APP)
    assert status == 201
    app_node = f"{base}/state/apps/{quote(APP['id'], safe='')}"
    wait_for(lambda: owner.exists(app_node), 10, "app not stored")

    creator_all = _creator_all(CREDS)
    latch_dir = f"{base}/leader-curator"
    (member,) = anonymous.get_children(latch_dir)  # the world may list the candidates...
    for node in (base, f"{base}/state", f"{base}/state/apps", app_node, f"{latch_dir}/{member}"):
        assert owner.get_acls(node)[0] == creator_all, node
    assert owner.get_acls(latch_dir)[0] == creator_all + READ_ACL_UNSAFE
    assert member.startswith("_c_") and "-latch-" in member

    with pytest.raises(NoAuthError):  # ...but read no candidate's address
        anonymous.get(f"{latch_dir}/{member}")
    with pytest.raises(NoAuthError):
        anonymous.get_children(base)
    with pytest.raises(NoAuthError):
        anonymous.get(app_node)
    with pytest.raises(NoAuthError):
        anonymous.create(f"{base}/intruder", b"")
    with pytest.raises(NoAuthError):
        anonymous.create(f"{latch_dir}/_c_x-latch-", b"", ephemeral=True, sequence=True)
    with pytest.raises(NoAuthError):
        anonymous.set(app_node, b"{}")
    with pytest.raises(NoAuthError):
        anonymous.delete(app_node)
    with pytest.raises(NoAuthError):
        anonymous.delete(f"{latch_dir}/{member}")

    owner.set(owner.create(f"{base}/probe", b"x"), b"y")  # with the digest, writes work
    owner.delete(f"{base}/probe")
    assert owner.get(f"{latch_dir}/{member}")[0] == leader.address.encode()

    # /v2/info shows the URL redacted, as InfoResource.scala does.
    status, info, _ = http(leader.url + "/v2/info")
    assert info["zookeeper_config"]["zk"] == f"zk://xxxxxxxx:xxxxxxxx@{zookeeper}{base}"
    assert "zk-secret" not in str(info) and "zk-secret" not in leader.output()


@pytest.mark.parametrize("creds", [None, "marathon:wrong"], ids=["no-credentials", "wrong"])
def test_refused_candidate_stays_standby_without_a_leader(
    zookeeper: str, tmp_path: Path, master: FakeMaster, procs: list[Marathon],
    creds: str | None,
) -> None:
    """Curator's LeaderLatch logs the refused latch node and never retries it; the election
    stream cannot read the leader's node, so this Marathon knows no leader: it does not crash,
    never leads, and answers 502 on every path (LeaderProxyFilter)."""
    base = f"/marathon-{uuid.uuid4().hex[:8]}"
    owner = _start(f"zk://{CREDS}@{zookeeper}{base}", master.address, tmp_path, "owner")
    procs.append(owner)
    auth = f"{creds}@" if creds else ""
    other = _start(f"zk://{auth}{zookeeper}{base}", master.address, tmp_path, "other", ready=0)
    procs.append(other)
    wait_for(lambda: "getChildren() failed. rc = -102" in other.output(), 10,
             lambda: other.output()[-3000:])
    time.sleep(1.0)  # a retry would show up within a few 0.3 s polls
    assert other.output().count("getChildren() failed. rc = -102") == 1
    status, body, _ = http(other.url + "/v2/leader")
    assert status == 502 and "Could not determine the current leader" in body
    assert other.popen.poll() is None
    assert http(owner.url + "/v2/leader")[1] == {"leader": owner.address}


def test_mesos_detector_creates_the_mesos_path_with_mesos_acl(
    zookeeper: str, tmp_path: Path, master: FakeMaster, procs: list[Marathon],
    clients: tuple[KazooClient, KazooClient],
) -> None:
    """--master zk://user:pass@.../mesos goes to libmesos, whose detector group creates its
    base path with EVERYONE_READ_CREATOR_ALL (apache/mesos src/zookeeper/group.cpp)."""
    anonymous, owner = clients
    suffix = uuid.uuid4().hex[:8]
    mesos = f"/mesos-{suffix}"
    proc = _start(f"zk://{CREDS}@{zookeeper}/marathon-{suffix}",
                  f"zk://{CREDS}@{zookeeper}{mesos}", tmp_path, "m", ready=0)
    procs.append(proc)
    wait_for(lambda: anonymous.exists(mesos), 10, "Mesos path not created")
    assert owner.get_acls(mesos)[0] == READ_ACL_UNSAFE + _creator_all(CREDS)
    info = wait_for(lambda: http(proc.url + "/v2/info")[1] if http(proc.url + "/v2/info")[0]
                    == 200 else None, 15, "no /v2/info")
    assert info["marathon_config"]["master"] == f"zk://xxxxxxxx:xxxxxxxx@{zookeeper}{mesos}"


def test_without_credentials_every_node_is_open(
    zookeeper: str, tmp_path: Path, master: FakeMaster, procs: list[Marathon],
    clients: tuple[KazooClient, KazooClient],
) -> None:
    anonymous, _ = clients
    base = f"/marathon-{uuid.uuid4().hex[:8]}"
    leader = _start(f"zk://{zookeeper}{base}", master.address, tmp_path, "m")
    procs.append(leader)
    latch_dir = f"{base}/leader-curator"
    (member,) = anonymous.get_children(latch_dir)
    for node in (base, f"{base}/state", f"{latch_dir}/{member}"):
        assert anonymous.get_acls(node)[0] == OPEN_ACL_UNSAFE, node
    assert anonymous.get_acls(latch_dir)[0] == OPEN_ACL_UNSAFE + READ_ACL_UNSAFE
    assert anonymous.get(f"{latch_dir}/{member}")[0] == leader.address.encode()
    anonymous.delete(anonymous.create(f"{base}/probe", b"x"))
    assert http(leader.url + "/v2/info")[1]["zookeeper_config"]["zk"] == \
        f"zk://{zookeeper}{base}"
