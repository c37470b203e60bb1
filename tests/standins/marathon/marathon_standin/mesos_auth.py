"""Marathon's Mesos framework authentication (--mesos_authentication and friends).

Sources: d2iq-archive/marathon v1.10.26 src/main/scala/mesosphere/marathon/
MarathonSchedulerDriver.scala (`newDriver`: with the toggle on, a Credential of
--mesos_authentication_principal and the secret from --mesos_authentication_secret or the WHOLE
content of --mesos_authentication_secret_file, read with ByteString.readFrom(...).toStringUtf8:
no trimming, so a trailing newline is part of the secret; the principal goes into FrameworkInfo
whenever it is given), MarathonScheduler.scala `error` (any scheduler error crashes Marathon:
exit 106, 110 for "Framework has been removed"), core/base/CrashStrategy.scala (the codes),
core/election/ElectionService.scala (an exception while taking leadership, such as an
unreadable secret file, ends the leadership stream faulty: exit 104).
apache/mesos 1.11.0 src/sched/sched.cpp: the driver authenticates with every newly detected
master before registering and reports a refusal as the error "Master refused authentication".

The exchange is the stand-in's CRAM-MD5 emulation (docs/CONTRACTS.md): the secret never leaves
the process, only hex(HMAC-MD5(secret, challenge)).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .flags import Flags

log = logging.getLogger("marathon.mesos")

MESOS_SCHEDULER_ERROR = 106
LEADERSHIP_ENDED_FAULTY = 104
FRAMEWORK_HAS_BEEN_REMOVED = 110


@dataclass(frozen=True)
class Credential:
    principal: str
    secret: str | None  # optional in Marathon; the CRAM-MD5 authenticatee then refuses


def crash(code: int, message: str) -> None:
    """CrashStrategy.crash: log and leave at once with Marathon's exit code."""
    log.error("%s; exiting with %d", message, code)
    logging.shutdown()
    os._exit(code)


def scheduler_error(message: str) -> None:
    """MarathonScheduler.error as v1.10.26 writes it, then the crash."""
    log.warning("Error: %s\nIn case Mesos does not allow registration with the current "
                "frameworkId, follow the instructions for recovery here: "
                "https://mesosphere.github.io/marathon/docs/framework-id.html", message)
    code = (FRAMEWORK_HAS_BEEN_REMOVED if "Framework has been removed" in message
            else MESOS_SCHEDULER_ERROR)  # fmt: skip
    crash(code, f"Mesos scheduler error: {message}")


def credential(flags: Flags) -> Credential | None:
    """The driver's credential, read when a new driver is made (each time we become leader)."""
    if not flags.toggle("mesos_authentication"):
        return None
    principal = flags.text("mesos_authentication_principal")
    if principal is None:
        return None  # Scallop's dependsOnAll already refused this at start-up
    secret = flags.text("mesos_authentication_secret")
    path = flags.text("mesos_authentication_secret_file")
    if secret is None and path is not None:
        try:
            secret = Path(path).read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            crash(LEADERSHIP_ENDED_FAULTY,
                  f"Leadership ended with an exception: java.io.FileNotFoundException: {path} "
                  f"({exc.strerror})")
    log.info("Authenticate with Mesos as %s", principal)
    return Credential(principal, secret)


def response(secret: str, challenge: str) -> str:
    """hex(HMAC-MD5(key=secret, msg=challenge)), the CRAM-MD5 answer (RFC 2195)."""
    return hmac.new(secret.encode(), challenge.encode(), hashlib.md5).hexdigest()
