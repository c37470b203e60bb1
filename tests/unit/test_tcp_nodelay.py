"""tcp_nodelay.py: Nagle off on TCP sockets only, and on a paramiko client's transport."""

from __future__ import annotations

import socket

from pyinfra_mesos.tcp_nodelay import no_delay, ssh_client_no_delay


def _nodelay(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_connected_tcp_socket_gets_tcp_nodelay() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            assert _nodelay(client) == 0  # the kernel's default: Nagle on
            assert no_delay(client) is True
            assert _nodelay(client) != 0


def test_anything_but_a_tcp_socket_is_left_alone() -> None:
    left, right = socket.socketpair()  # AF_UNIX
    with left, right:
        assert no_delay(left) is False
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        assert no_delay(udp) is False
    assert no_delay(None) is False
    assert no_delay(object()) is False  # a paramiko ProxyCommand has no family
    closed = socket.socket()
    closed.close()
    assert no_delay(closed) is False


def test_a_client_without_an_open_transport_is_left_alone() -> None:
    class Client:
        def get_transport(self) -> None:
            return None

    assert ssh_client_no_delay(Client()) is False
    assert ssh_client_no_delay(None) is False

    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname(), timeout=5) as sock:
            class Transport:
                pass

            transport = Transport()
            transport.sock = sock  # type: ignore[attr-defined]

            class Connected:
                def get_transport(self) -> Transport:
                    return transport

            assert ssh_client_no_delay(Connected()) is True and _nodelay(sock) != 0
