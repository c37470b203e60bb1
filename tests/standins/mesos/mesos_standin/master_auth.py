"""The master's authentication: start-up (flags, credentials), CRAM-MD5 endpoints, refusals.

Start-up follows Master::initialize (apache/mesos 1.11.0 src/master/master.cpp): log which
clients must authenticate; read --credentials whenever it is set (authentication on or not) and
EXIT on "<error> (see --credentials flag)" or an empty file; only the `crammd5` authenticator
exists (no modules); --authenticate_http_readonly/readwrite need the `basic` HTTP authenticator
and credentials (src/common/http.cpp).

Refusals (docs/CONTRACTS.md, stand-in scheduler API): with --authenticate_agents a register call
without a valid token answers 403 with the master's log line "Refusing registration of agent at
<pid> because it is not authenticated" (re-registration when the agent sends its id); with
--authenticate_frameworks, 403 with the FrameworkErrorMessage "Framework at <pid> is not
authenticated" (Master::validateFrameworkAuthentication), or the principal mismatch error.
"""

from __future__ import annotations

import logging
from typing import Any

from . import http_auth
from .common import die
from .cram_md5 import Authenticator
from .credentials import credentials_flag
from .flags import Flags
from .http import Request, Response

DEFAULT_AUTHENTICATOR = "crammd5"


class MasterAuth:
    """What the master enforces, built once at start-up by `setup`."""

    def __init__(self, flags: Flags, authenticator: Authenticator,
                 http: http_auth.HttpAuth) -> None:
        self.frameworks = flags.boolean("authenticate_frameworks")
        self.agents = flags.boolean("authenticate_agents")
        self.authenticator = authenticator
        self.http = http

    # -- the CRAM-MD5 exchange (leader only; the caller redirects) -----------------------------

    def start(self, req: Request) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        principal = body.get("principal")
        if not isinstance(principal, str) or not principal:
            return Response(400, {"message": "Missing 'principal'"})
        return Response(200, {"challenge": self.authenticator.start(principal)})

    def step(self, req: Request) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        fields = [body.get(k) for k in ("principal", "challenge", "response")]
        if not all(isinstance(f, str) and f for f in fields):
            return Response(400, {"message": "Missing 'principal', 'challenge' or 'response'"})
        token, error = self.authenticator.step(*(str(f) for f in fields))
        if token is None:
            self.authenticator.log.info("Authentication of %s was unsuccessful: Invalid "
                                        "credentials", fields[0])  # fmt: skip
            return Response(401, {"message": f"Authentication failure: {error}"})
        self.authenticator.log.info("Successfully authenticated principal '%s'", fields[0])
        return Response(200, {"token": token})

    # -- refusals ----------------------------------------------------------------------------

    def principal(self, body: dict[str, Any]) -> str | None:
        return self.authenticator.principal(body.get("token"))

    def agent_refusal(self, body: dict[str, Any], pid: str) -> str | None:
        """The master's warning when it drops this (re-)registration, else None."""
        if not self.agents or self.principal(body) is not None:
            return None
        again = "re-registration" if body.get("id") else "registration"
        return f"Refusing {again} of agent at {pid} because it is not authenticated"

    def framework_refusal(self, body: dict[str, Any], pid: str) -> str | None:
        """The FrameworkErrorMessage for this registration, else None."""
        authenticated = self.principal(body)
        if self.frameworks and authenticated is None:
            return f"Framework at {pid} is not authenticated"
        claimed = body.get("principal")
        if claimed and authenticated is not None and claimed != authenticated:
            return (f"Framework principal '{claimed}' does not match authenticated principal "
                    f"'{authenticated}'")  # fmt: skip
        return None


def setup(flags: Flags, log: logging.Logger) -> MasterAuth:
    """Load and check everything; EXIT (die) with Mesos's message on a problem."""
    for what, name in (("frameworks", "authenticate_frameworks"),
                       ("agents", "authenticate_agents")):  # fmt: skip
        if flags.boolean(name):
            log.info("Master only allowing authenticated %s to register", what)
        else:
            log.info("Master allowing unauthenticated %s to register", what)
    credentials = credentials_flag(flags.get("credentials"), "credentials", log)
    names = (flags.get("authenticators") or "").split(",")
    if len(names) > 1:
        die(log, "Multiple authenticators not supported")
    if names[0] != DEFAULT_AUTHENTICATOR:
        die(log, f"Authenticator '{names[0]}' not found. Check the spelling (compare to "
                 f"'{DEFAULT_AUTHENTICATOR}') or verify that the authenticator was loaded "
                 "successfully (see --modules)")  # fmt: skip
    log.info("Using default '%s' authenticator", DEFAULT_AUTHENTICATOR)
    authenticator = Authenticator(credentials, log)
    realms = set()
    for flag, realm in (("authenticate_http_readonly", http_auth.MASTER_READONLY),
                        ("authenticate_http_readwrite", http_auth.MASTER_READWRITE)):
        if flags.boolean(flag):
            problem = http_auth.init_problem(realm, flags.get("http_authenticators") or "",
                                             credentials)  # fmt: skip
            if problem is not None:
                die(log, problem)
            log.info("Creating default 'basic' HTTP authenticator for realm '%s'", realm)
            realms.add(realm)
    return MasterAuth(flags, authenticator, http_auth.HttpAuth(realms, credentials))
