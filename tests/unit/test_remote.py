"""remote: SSH specs from pyinfra host data, host-key policy, sudo wrapping, the parallel map."""

from __future__ import annotations

import time

import pytest

from pyinfra_mesos.remote import (
    Hosts,
    RemoteError,
    SshSpec,
    host_key_checking,
    parallel,
    ssh_spec,
    with_sudo,
)


@pytest.mark.parametrize("value, expected", [
    (None, "yes"), ("", "yes"), ("yes", "yes"), ("ask", "yes"), ("accept-new", "accept-new"),
    ("no", "no"), ("off", "no"), ("NO", "no"), (False, "no"),
])
def test_host_key_checking_is_on_unless_turned_off(value: object, expected: str) -> None:
    data = {} if value is None else {"ssh_strict_host_key_checking": value}
    assert host_key_checking(data) == expected


def test_ssh_spec_from_pyinfra_data() -> None:
    spec = ssh_spec("m1", {"ssh_hostname": "198.51.100.11", "ssh_user": "admin", "ssh_port": 2222,
                           "ssh_key": "/k/id", "ssh_known_hosts_file": "/k/known",
                           "_sudo": True})
    assert (spec.hostname, spec.port, spec.user, spec.key_filename) == (
        "198.51.100.11", 2222, "admin", "/k/id")
    assert spec.known_hosts_files == ("/k/known",) and spec.host_key_checking == "yes"
    assert spec.sudo


def test_ssh_spec_defaults_and_ssh_config_fill_gaps() -> None:
    spec = ssh_spec("m1", {"ssh_known_hosts_file": "/dev/null"})
    assert (spec.hostname, spec.port, spec.user, spec.known_hosts_files) == ("m1", 22, None, ())
    spec = ssh_spec("m1", {"ssh_user": "root", "_sudo": True},
                    {"hostname": "10.0.0.1", "port": "2200", "user": "x",
                     "identityfile": ["/c/key"]})
    assert (spec.hostname, spec.port, spec.user, spec.key_filename) == (
        "10.0.0.1", 2200, "root", "/c/key")
    assert not spec.sudo  # root needs no sudo


def test_secrets_stay_out_of_repr() -> None:
    spec = ssh_spec("m1", {"ssh_password": "hunter2", "ssh_key_password": "pw2"})
    assert "hunter2" not in repr(spec) and "pw2" not in repr(spec)


def test_with_sudo_never_prompts() -> None:
    assert with_sudo("cat /x", False) == "cat /x"
    assert with_sudo("cat '/x'", True) == "sudo -n sh -c 'cat '\"'\"'/x'\"'\"''"


def test_parallel_runs_at_once_and_bounds_the_wait() -> None:
    started = time.monotonic()
    result = parallel([0.05, 0.05, 0.05, 5.0], lambda s: time.sleep(s) or s,
                      time.monotonic() + 1.0, key=lambda s: str(s))
    assert time.monotonic() - started < 2.0
    assert result["0.05"] == 0.05
    assert isinstance(result["5.0"], RemoteError)


def test_parallel_keeps_exceptions() -> None:
    def fail(_: int) -> None:
        raise ValueError("boom")

    assert isinstance(parallel([1], fail, time.monotonic() + 5)["1"], ValueError)


def test_hosts_records_unreachable_and_refuses_them() -> None:
    def connector(spec: SshSpec) -> object:
        raise RemoteError(f"{spec.name}: cannot connect over SSH")

    hosts = Hosts([SshSpec("m1", "m1")], time.monotonic() + 5, connector=connector)
    hosts.open()
    assert hosts.unreachable == {"m1": "m1: cannot connect over SSH"}
    with pytest.raises(RemoteError, match="cannot connect"):
        hosts.transport("m1", "true")


def test_connect_refuses_an_unknown_host_key_when_checking_is_on(tmp_path) -> None:
    """A real SSH handshake against a throw-away paramiko server on 127.0.0.1."""
    import socket
    import threading

    import paramiko

    from pyinfra_mesos.remote import connect

    host_key = paramiko.RSAKey.generate(2048)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        transport = paramiko.Transport(conn)
        transport.add_server_key(host_key)
        try:
            transport.start_server(server=paramiko.ServerInterface())
        except Exception:  # the client hangs up on the key: expected
            pass
        finally:
            transport.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    known = tmp_path / "known_hosts"
    known.write_text("")
    spec = SshSpec("m1", "127.0.0.1", port=port, user="nobody", host_key_checking="yes",
                   known_hosts_files=(str(known),))
    with pytest.raises(RemoteError, match=r"m1: cannot connect over SSH .*checking yes"):
        connect(spec, timeout_s=5)
    thread.join(10)
    listener.close()
