"""Nagle's algorithm off on our SSH connections, so a command costs its round trips and not
the peer's delayed-ACK timer (issue 13).

paramiko sets no socket option on the TCP connection it opens (the one pyinfra's ssh connector
and `remote.connect` use). An SSH command is a few small packets each way (channel open, exec,
EOF, close); with Nagle on, a small write waits for the ACK of the previous one, which Linux
holds back up to its delayed-ACK minimum of 40 ms. Measured on the sandbox over paramiko: 52 ms
for `true` with Nagle, 7 ms without; the same command through OpenSSH's multiplexed client,
which sets TCP_NODELAY itself, 14 ms. Every SSH packet is one send, so the cost of the option is
at most a few more small TCP segments.
"""

from __future__ import annotations

import socket
from typing import Any


def no_delay(sock: Any) -> bool:
    """Set TCP_NODELAY on `sock` when it is a TCP socket (IPv4 or IPv6); True when set.

    Anything else is left alone and gives False: a paramiko ProxyCommand (a jump host's pipe),
    a Unix socket, None. gevent's patched sockets are sockets here too.
    """
    if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
        return False
    if getattr(sock, "type", None) != socket.SOCK_STREAM or not hasattr(sock, "setsockopt"):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # a closed socket: the connection's own next use reports it
        return False
    return True


def ssh_client_no_delay(client: Any) -> bool:
    """`no_delay` on the socket under a paramiko `SSHClient` (pyinfra's ssh connector keeps one
    as `host.connector.client`; pyinfra 3.10 pyinfra/connectors/ssh.py). False when there is no
    open transport, e.g. pyinfra's local or docker connectors."""
    get_transport = getattr(client, "get_transport", None)
    transport = get_transport() if callable(get_transport) else None
    return no_delay(getattr(transport, "sock", None))
