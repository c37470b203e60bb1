"""Process plumbing shared by master and agent: logging, addresses, exits."""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
import time

from . import STANDIN_BANNER

BUILD_TIME = 1600000000.0  # fixed: the stand-in has no real build; keeps /version stable


def setup_logging(program: str) -> logging.Logger:
    # glog-like lines on stderr, which systemd puts in the journal like Mesos's own output.
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(levelname).1s%(asctime)s %(process)d %(name)s] %(message)s",
        datefmt="%m%d %H:%M:%S",
    )
    log = logging.getLogger(program)
    log.info("%s: %s starting", STANDIN_BANNER, program)
    return log


def die(log: logging.Logger, message: str) -> None:
    """EXIT(EXIT_FAILURE) as Mesos does: no cleanup, so ZooKeeper sees a crashed process."""
    log.error("EXIT with status 1: %s", message)
    sys.stderr.flush()
    os._exit(1)


def fatal(log: logging.Logger, message: str) -> None:
    """LOG(FATAL) as glog does: an `F` line, then abort(): the process ends on SIGABRT
    (status 134 in a shell, "core-dump" / signal ABRT to systemd), not with exit 1."""
    logging.addLevelName(logging.CRITICAL, "FATAL")
    log.critical(message)
    sys.stderr.flush()
    os.abort()


def default_ip() -> str:
    """Mesos binds to the address its hostname resolves to; 127.0.0.1 if that fails."""
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def ip_as_uint32(ip: str) -> int:
    """MasterInfo.ip: the IPv4 address in network byte order, read as a host uint32
    (192.168.1.51 -> 855746752 on x86, as in the documented znodes)."""
    return struct.unpack("=I", socket.inet_aton(ip))[0]


def now() -> float:
    return time.time()
