"""Mesos authentication in the master and agent stand-ins, as Mesos 1.11 enforces it when its
flags are set (apache/mesos 1.11.0 src/master/master.cpp, src/slave/slave.cpp,
src/credentials/credentials.hpp, src/authentication/cram_md5/, src/common/http.cpp,
3rdparty/libprocess/src/authenticator.cpp). Real ZooKeeper for the failover test."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.standins.mesos.mesos_standin.cram_md5 import response
from tests.standins.mesos.mesos_standin.http import call
from tests.standins.mesos.testing import (
    Proc,
    Scheduler,
    free_ports,
    get_full,
    run,
    start,
    state,
    wait_for,
)

CREDENTIALS = {"credentials": [{"principal": "agent", "secret": "s3cret-a"},
                               {"principal": "marathon", "secret": "s3cret-m"},
                               {"principal": "admin", "secret": "adm:in"}]}  # fmt: skip


def write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    path.chmod(0o600)
    return path


def master_args(tmp: Path, port: int, *extra: str) -> list[str]:
    return [f"--work_dir={tmp}/master", "--ip=127.0.0.1", f"--port={port}", *extra]


def basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def token(port: int, principal: str, secret: str) -> tuple[int, Any]:
    """Run the stand-in's CRAM-MD5 exchange: (status of the step, its body)."""
    base = f"http://127.0.0.1:{port}/standin/v1/authenticate"
    status, reply, _ = call("POST", base, {"principal": principal})
    assert status == 200, reply
    challenge = reply["challenge"]
    status, reply, _ = call("POST", base + "/step", {
        "principal": principal, "challenge": challenge, "response": response(secret, challenge)})
    return status, reply


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in started:
        p.stop()


def standalone(tmp: Path, procs: list[Proc], *extra: str) -> int:
    (port,) = free_ports(1)
    procs.append(start("master", master_args(tmp, port, *extra), tmp / f"master-{port}.log"))
    wait_for("master up", lambda: get_full(f"http://127.0.0.1:{port}/health")[0] == 200, 15)
    return port


# -- start-up -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    (None, "Failed to read credentials file '{path}': No such file or directory "
           "(see --credentials flag)"),
    ("", "Credentials file must contain at least one credential (see --credentials flag)"),
    ("agent s3cret\n", "Invalid json format: "),
    ({"credentials": [{"secret": "x"}]},
     "Failed to parse credentials: Missing required fields: credentials[0].principal"),
])  # fmt: skip
def test_master_credentials_file_problems_exit(tmp_path: Path, content: Any, message: str) -> None:
    # --credentials is read whenever it is set, authentication on or not (Master::initialize);
    # the text form "principal secret" was removed before 1.11 and fails as JSON.
    path = tmp_path / "credentials"
    if content is not None:
        write(path, content)
    (port,) = free_ports(1)
    result = run("master", master_args(tmp_path, port, f"--credentials=file://{path}"))
    assert result.returncode == 1
    assert message.format(path=path) in result.stderr


@pytest.mark.parametrize(("flags", "message"), [
    (["--authenticators=ldap"], "Authenticator 'ldap' not found. Check the spelling (compare "
     "to 'crammd5') or verify that the authenticator was loaded successfully (see --modules)"),
    (["--authenticators=crammd5,crammd5"], "Multiple authenticators not supported"),
    (["--authenticate_http_readwrite"], "Failed to create HTTP authenticator module 'basic': No "
     "credentials provided for the default 'basic' HTTP authenticator for realm "
     "'mesos-master-readwrite'"),
    (["--authenticate_http_readonly", "--http_authenticators=jwt", "--credentials={creds}"],
     "Failed to create HTTP authenticator module 'jwt': HTTP authenticator 'jwt' not found."),
])  # fmt: skip
def test_master_authenticator_flags_exit(tmp_path: Path, flags: list[str], message: str) -> None:
    creds = write(tmp_path / "credentials", CREDENTIALS)
    (port,) = free_ports(1)
    args = master_args(tmp_path, port, *(f.format(creds=creds) for f in flags))
    result = run("master", args)
    assert result.returncode == 1
    assert message in result.stderr


# -- CRAM-MD5 ----------------------------------------------------------------------------------

def test_cram_md5_exchange_never_sends_the_secret(tmp_path: Path, procs: list[Proc]) -> None:
    creds = write(tmp_path / "credentials", CREDENTIALS)
    port = standalone(tmp_path, procs, f"--credentials={creds}", "--authenticate_frameworks")
    status, reply = token(port, "marathon", "s3cret-m")
    assert status == 200 and reply["token"]
    assert token(port, "marathon", "wrong") == (
        401, {"message": "Authentication failure: authentication failure"})
    assert token(port, "nobody-known", "x") == (
        401, {"message": "Authentication failure: user not found"})
    # A challenge answers once: a replayed step is refused.
    base = f"http://127.0.0.1:{port}/standin/v1/authenticate"
    challenge = call("POST", base, {"principal": "agent"})[1]["challenge"]
    step = {"principal": "agent", "challenge": challenge,
            "response": response("s3cret-a", challenge)}
    assert call("POST", base + "/step", step)[0] == 200
    assert call("POST", base + "/step", step)[0] == 401
    out = procs[0].output()
    assert "Master only allowing authenticated frameworks to register" in out
    assert "Master allowing unauthenticated agents to register" in out
    assert "Authentication failure: user not found" in out
    assert "s3cret" not in out


def test_framework_needs_a_token_and_its_own_principal(tmp_path: Path,
                                                       procs: list[Proc]) -> None:
    creds = write(tmp_path / "credentials", CREDENTIALS)
    port = standalone(tmp_path, procs, f"--credentials=file://{creds}",
                      "--authenticate_frameworks")
    sched = Scheduler()
    try:
        url = f"http://127.0.0.1:{port}/standin/v1/frameworks/register"
        body = {"name": "marathon", "pid": sched.pid, "principal": "marathon"}
        status, reply, _ = call("POST", url, body)
        assert (status, reply) == (403, {"message": f"Framework at {sched.pid} is not "
                                                    "authenticated"})
        assert f"Refusing subscription of framework 'marathon' at {sched.pid}: Framework at " \
               f"{sched.pid} is not authenticated" in procs[0].output()
        agent_token = token(port, "agent", "s3cret-a")[1]["token"]
        status, reply, _ = call("POST", url, dict(body, token=agent_token))
        assert (status, reply["message"]) == (403, "Framework principal 'marathon' does not "
                                                   "match authenticated principal 'agent'")
        good = token(port, "marathon", "s3cret-m")[1]["token"]
        status, reply, _ = call("POST", url, dict(body, token=good))
        assert status == 200
        fid = reply["id"]
        framework = state(port)["frameworks"][0]
        assert framework["principal"] == "marathon" and framework["connected"] is True
        # Launches, kills and the scheduler's state need the framework's own authentication.
        for path in ("launch", "kill", "frameworks/state"):
            status, reply, _ = call("POST", f"http://127.0.0.1:{port}/standin/v1/{path}",
                                    {"framework_id": fid, "agent_id": "none", "task_id": "t"})
            assert status == 403 and "not from the registered framework" in reply["message"]
        status, reply, _ = call("POST", f"http://127.0.0.1:{port}/standin/v1/frameworks/state",
                                {"framework_id": fid, "token": good})
        assert status == 200 and reply["frameworks"][0]["id"] == fid
    finally:
        sched.stop()


def test_without_flags_nothing_is_required(tmp_path: Path, procs: list[Proc]) -> None:
    port = standalone(tmp_path, procs)
    sched = Scheduler()
    try:
        status, reply, _ = call("POST", f"http://127.0.0.1:{port}/standin/v1/frameworks/register",
                                {"name": "m", "pid": sched.pid})
        assert status == 200
        assert get_full(f"http://127.0.0.1:{port}/master/state")[0] == 200
        # No --credentials: an authentication attempt is refused, registration still works.
        assert token(port, "marathon", "s3cret-m")[0] == 401
    finally:
        sched.stop()


# -- agents ------------------------------------------------------------------------------------

def agent_args(tmp: Path, master: str, port: int, *extra: str) -> list[str]:
    return [f"--master={master}", f"--work_dir={tmp}/agent-{port}", "--ip=127.0.0.1",
            f"--port={port}", "--containerizers=mesos",
            "--resources=cpus:1;mem:256;disk:1024;ports:[31000-31001]", *extra]


def test_agent_without_credential_is_refused_and_keeps_trying(tmp_path: Path,
                                                              procs: list[Proc]) -> None:
    creds = write(tmp_path / "credentials", CREDENTIALS)
    port = standalone(tmp_path, procs, f"--credentials={creds}", "--authenticate_agents")
    (aport,) = free_ports(1)
    procs.append(start("agent", agent_args(tmp_path, f"127.0.0.1:{port}", aport),
                       tmp_path / "agent.log"))
    line = f"Refusing registration of agent at slave(1)@127.0.0.1:{aport} because it is not " \
           "authenticated"
    wait_for("refusal logged twice", lambda: procs[0].output().count(line) >= 2, 15)
    assert state(port)["slaves"] == []
    assert procs[1].popen.poll() is None  # the agent keeps retrying
    assert "No credentials provided. Attempting to register without authentication" in \
        procs[1].output()


@pytest.mark.parametrize("form", ["path", "file-uri"])
def test_agent_with_credential_authenticates_then_registers(tmp_path: Path, procs: list[Proc],
                                                            form: str) -> None:
    creds = write(tmp_path / "credentials", CREDENTIALS)
    credential = write(tmp_path / "credential", {"principal": "agent", "secret": "s3cret-a"})
    value = str(credential) if form == "path" else f"file://{credential}"
    port = standalone(tmp_path, procs, f"--credentials={creds}", "--authenticate_agents")
    (aport,) = free_ports(1)
    procs.append(start("agent", agent_args(tmp_path, f"127.0.0.1:{port}", aport,
                                           f"--credential={value}"), tmp_path / "agent.log"))
    wait_for("agent registered", lambda: state(port)["slaves"], 15)
    out = procs[1].output()
    assert "Agent using credential for: agent" in out
    assert f"Successfully authenticated with master master@127.0.0.1:{port}" in out


def test_agent_refused_credential_exits(tmp_path: Path, procs: list[Proc]) -> None:
    creds = write(tmp_path / "credentials", CREDENTIALS)
    # A trailing newline is part of the secret (the JSON string says so): refused.
    credential = write(tmp_path / "credential", {"principal": "agent", "secret": "s3cret-a\n"})
    port = standalone(tmp_path, procs, f"--credentials={creds}", "--authenticate_agents")
    (aport,) = free_ports(1)
    agent = start("agent", agent_args(tmp_path, f"127.0.0.1:{port}", aport,
                                      f"--credential={credential}"), tmp_path / "agent.log")
    procs.append(agent)
    wait_for("agent exit", lambda: agent.popen.poll() is not None, 15)
    assert agent.popen.returncode == 1
    assert f"Master master@127.0.0.1:{port} refused authentication" in agent.output()


@pytest.mark.parametrize(("content", "message"), [
    ("", "Empty credential file '{path}' (see --credential flag)"),
    ("agent s3cret-a\n", "Invalid json format: "),
    ({"secret": "x"}, "Failed to parse credential: Missing required fields: principal"),
])  # fmt: skip
def test_agent_credential_file_problems_exit(tmp_path: Path, content: Any, message: str) -> None:
    path = write(tmp_path / "credential", content)
    (aport,) = free_ports(1)
    result = run("agent", agent_args(tmp_path, "127.0.0.1:1", aport, f"--credential={path}"))
    assert result.returncode == 1
    assert message.format(path=path) in result.stderr


def test_agent_http_readonly_realm(tmp_path: Path, procs: list[Proc]) -> None:
    creds = write(tmp_path / "http-credentials", CREDENTIALS)
    (aport,) = free_ports(1)
    result = run("agent", agent_args(tmp_path, "127.0.0.1:1", aport,
                                     "--authenticate_http_readonly"))
    assert result.returncode == 1
    assert "No credentials provided for the default 'basic' HTTP authenticator for realm " \
           "'mesos-agent-readonly'" in result.stderr
    procs.append(start("agent", agent_args(tmp_path, "127.0.0.1:1", aport,
                                           "--authenticate_http_readonly",
                                           f"--http_credentials={creds}"),
                       tmp_path / "agent.log"))  # fmt: skip
    url = f"http://127.0.0.1:{aport}"
    wait_for("agent up", lambda: get_full(url + "/health")[0] == 200, 15)
    status, _, headers = get_full(url + "/state")
    assert (status, headers["WWW-Authenticate"]) == (401, 'Basic realm="mesos-agent-readonly"')
    assert call("GET", url + "/state", headers=basic("agent", "s3cret-a"))[0] == 200


# -- HTTP basic auth on the master -------------------------------------------------------------

def test_master_http_realms(tmp_path: Path, procs: list[Proc]) -> None:
    creds = write(tmp_path / "credentials", CREDENTIALS)
    port = standalone(tmp_path, procs, f"--credentials={creds}",
                      "--authenticate_http_readwrite", "--authenticate_http_readonly")
    url = f"http://127.0.0.1:{port}"
    ro, rw = 'Basic realm="mesos-master-readonly"', 'Basic realm="mesos-master-readwrite"'
    for path in ("/master/state", "/state", "/master/frameworks", "/slaves",
                 "/metrics/snapshot"):
        status, _, headers = get_full(url + path)
        assert (status, headers.get("WWW-Authenticate")) == (401, ro), path
        assert call("GET", url + path, headers=basic("admin2", "x"))[0] == 401, path
        assert call("GET", url + path, headers=basic("agent", "s3cret-a"))[0] == 200, path
    for path in ("/health", "/version", "/redirect"):
        assert get_full(url + path)[0] in (200, 307), path
    # Read-write: teardown and the maintenance schedule (GET too: one route, one realm).
    status, _, headers = call("POST", url + "/master/teardown", b"frameworkId=x")
    assert (status, headers.get("WWW-Authenticate")) == (401, rw)
    assert get_full(url + "/master/maintenance/schedule")[0] == 401
    auth = basic("agent", "s3cret-a")
    assert call("POST", url + "/master/teardown", b"frameworkId=x", headers=auth)[:2] == (
        400, "No framework found with specified ID")
    schedule = {"windows": [{"machine_ids": [{"hostname": "a1"}],
                             "unavailability": {"start": {"nanoseconds": 1}}}]}
    assert call("POST", url + "/master/maintenance/schedule", schedule, headers=auth)[0] == 200
    assert call("GET", url + "/master/maintenance/schedule", headers=auth)[1] == schedule
    # libprocess splits "principal:secret" at every ':': a secret with one never authenticates.
    assert call("GET", url + "/master/state", headers=basic("admin", "adm:in"))[0] == 401


def test_master_readwrite_only_leaves_reads_open(tmp_path: Path, procs: list[Proc]) -> None:
    creds = write(tmp_path / "credentials", CREDENTIALS)
    port = standalone(tmp_path, procs, f"--credentials={creds}", "--authenticate_http_readwrite")
    url = f"http://127.0.0.1:{port}"
    assert get_full(url + "/master/state")[0] == 200
    assert call("POST", url + "/master/teardown", b"frameworkId=x")[0] == 401


def test_teardown_removes_the_framework_for_good(tmp_path: Path, procs: list[Proc]) -> None:
    port = standalone(tmp_path, procs)
    sched = Scheduler()
    try:
        url = f"http://127.0.0.1:{port}"
        fid = call("POST", url + "/standin/v1/frameworks/register",
                   {"name": "m", "pid": sched.pid})[1]["id"]
        assert call("POST", url + "/master/teardown", f"frameworkId={fid}".encode())[0] == 200
        assert state(port)["frameworks"] == []
        status, reply, _ = call("POST", url + "/standin/v1/frameworks/register",
                                {"id": fid, "name": "m", "pid": sched.pid})
        assert (status, reply) == (403, {"message": "Framework has been removed"})
    finally:
        sched.stop()


# -- failover ----------------------------------------------------------------------------------

def test_new_leader_knows_no_token(zookeeper: str, tmp_path: Path, procs: list[Proc]) -> None:
    """Tokens live in the master that issued them: after a failover the agent authenticates
    again with the new leader, and an old token is refused there."""
    creds = write(tmp_path / "credentials", CREDENTIALS)
    credential = write(tmp_path / "credential", {"principal": "agent", "secret": "s3cret-a"})
    zk = f"zk://{zookeeper}/auth-{uuid.uuid4().hex[:8]}"
    first, second, aport = free_ports(3)
    for port in (first, second):
        procs.append(start("master", master_args(tmp_path / str(port), port, f"--zk={zk}",
                                                 "--quorum=1", "--zk_session_timeout=2secs",
                                                 f"--credentials={creds}",
                                                 "--authenticate_agents",
                                                 "--authenticate_frameworks"),
                           tmp_path / f"master-{port}.log"))  # fmt: skip
        if port == first:
            wait_for("first leads", lambda: state(first).get("leader"), 20)
    procs.append(start("agent", agent_args(tmp_path, zk, aport, f"--credential={credential}"),
                       tmp_path / "agent.log"))
    wait_for("agent registered", lambda: state(first)["slaves"], 20)
    old = token(first, "marathon", "s3cret-m")[1]["token"]
    procs[0].stop()
    wait_for("second leads", lambda: state(second).get("leader", "").endswith(str(second)), 30)
    wait_for("agent re-registered", lambda: state(second)["slaves"], 30)
    assert procs[2].output().count("Successfully authenticated with master") >= 2
    sched = Scheduler()
    try:
        status, _, _ = call("POST", f"http://127.0.0.1:{second}/standin/v1/frameworks/register",
                            {"name": "m", "pid": sched.pid, "token": old})
        assert status == 403
    finally:
        sched.stop()
