"""HTTP basic auth as Marathon 1.10.26 sets it up (d2iq-archive/marathon,
src/main/scala/mesosphere/marathon/api/HttpModule.scala): one Jetty ConstraintSecurityHandler
with a BASIC constraint on `/*`, so EVERY path (/ping, /v2/*, the UI, unknown paths) needs the
credentials, on leaders and non-leaders alike (it runs before LeaderProxyFilter)."""

from __future__ import annotations

import base64
import binascii


def authorised(header: str | None, credentials: tuple[str, str] | None) -> bool:
    """True when auth is off or `header` (the Authorization value) carries the credentials.

    Jetty's BasicAuthenticator splits the decoded token at the FIRST colon, while Marathon
    split the configured value at the LAST one: configured credentials with two colons can
    never be presented (as on the real product).
    """
    if credentials is None:
        return True
    if not header:
        return False
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("iso-8859-1")
    except (binascii.Error, ValueError):
        return False
    user, sep, password = decoded.partition(":")
    return bool(sep) and (user, password) == credentials


def challenge(realm: str) -> dict[str, str]:
    """The header a 401 carries; the realm is --http_realm (default "Mesosphere")."""
    return {"WWW-Authenticate": f'Basic realm="{realm}"'}
