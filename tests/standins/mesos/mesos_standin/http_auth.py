"""HTTP basic authentication of Mesos endpoints (`--authenticate_http_readonly`,
`--authenticate_http_readwrite`, `--http_authenticators=basic`).

Sources (apache/mesos 1.11.0): src/common/http.cpp `initializeHttpAuthenticators` (start-up
errors), 3rdparty/libprocess/src/authenticator.cpp `BasicAuthenticatorProcess::authenticate`
(the check), src/master/constants.hpp and src/slave/constants.hpp (realm names), the `route(...)`
calls of src/master/master.cpp and src/slave/slave.cpp (which realm covers which endpoint).

The check, as libprocess does it: the `Authorization` value split at spaces must be exactly
`Basic <base64>`; the decoded text split at ':' must be exactly two parts (so a secret that
contains ':' can never be presented), naming a principal of the credentials file and its secret.
Otherwise 401 with `WWW-Authenticate: Basic realm="<realm>"` and an empty body. The check runs
before the endpoint's handler, so a non-leading master answers 401 before it would redirect.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from .http import Request, Response

MASTER_READONLY = "mesos-master-readonly"
MASTER_READWRITE = "mesos-master-readwrite"
AGENT_READONLY = "mesos-agent-readonly"
AGENT_READWRITE = "mesos-agent-readwrite"
BASIC = "basic"  # DEFAULT_BASIC_HTTP_AUTHENTICATOR


def init_problem(realm: str, authenticators: str,
                 credentials: list[tuple[str, str]] | None) -> str | None:
    """The EXIT message of initializeHttpAuthenticators for one realm, or None when fine.

    Only `basic` exists in the stand-in (no modules are loaded), so any other name is "not
    found", as it is for real Mesos without --modules.
    """
    names = authenticators.split(",")
    if names == [""]:
        return f"No HTTP authenticators specified for realm '{realm}'"
    for name in names:
        if name != BASIC:
            return (f"Failed to create HTTP authenticator module '{name}': HTTP authenticator "
                    f"'{name}' not found. Check the spelling (compare to '{BASIC}') or verify "
                    "that the authenticator was loaded successfully (see --modules)")
        if credentials is None:
            return (f"Failed to create HTTP authenticator module '{name}': No credentials "
                    f"provided for the default '{BASIC}' HTTP authenticator for realm "
                    f"'{realm}'")  # fmt: skip
    return None


def authorised(header: str | None, credentials: dict[str, str]) -> bool:
    """True when `header` (the Authorization value) carries a principal and its secret."""
    if header is None:
        return False
    parts = header.split(" ")
    if len(parts) != 2 or parts[0] != "Basic":
        return False
    try:
        decoded = base64.b64decode(parts[1], validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return False
    pair = decoded.split(":")
    return len(pair) == 2 and pair[0] in credentials and credentials[pair[0]] == pair[1]


Handler = Callable[[Request], Response]


class HttpAuth:
    """Which realms are on, and with which credentials."""

    def __init__(self, realms: set[str], credentials: list[tuple[str, str]] | None) -> None:
        self.realms = realms
        self.credentials = dict(credentials or [])

    def protect(self, realm: str, handler: Handler) -> Handler:
        """`handler` behind the realm's check when that realm is on; else unchanged."""
        if realm not in self.realms:
            return handler

        def wrapped(req: Request) -> Response:
            if not authorised(req.headers.get("authorization"), self.credentials):
                return Response(401, None, {"WWW-Authenticate": f'Basic realm="{realm}"'})
            return handler(req)

        return wrapped
