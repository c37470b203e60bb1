"""CRAM-MD5 authentication of frameworks and agents, over the stand-in's JSON API.

Real Mesos runs SASL CRAM-MD5 over libprocess messages (apache/mesos 1.11.0
src/authentication/cram_md5/authenticator.cpp, authenticatee.cpp): the master sends a random
challenge, the client answers with its principal and hex(HMAC-MD5(secret, challenge)); the
secret never crosses the wire. The stand-in keeps that exchange (docs/CONTRACTS.md):

- `POST /standin/v1/authenticate` `{"principal"}` -> 200 `{"challenge": str}`
- `POST /standin/v1/authenticate/step` `{"principal", "challenge", "response"}` -> 200
  `{"token": str}`, or 401 `{"message": "Authentication failure: <SASL error string>"}`
  (`user not found` for an unknown principal, `authentication failure` for a wrong response).

The token stands for the master's `authenticated[pid] = principal` map: it lives only in the
memory of the master that issued it, so a new leader (or a restarted master) knows none and
clients authenticate again, as the real driver and agent do after detecting a new master.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from typing import Any

from .http import call

CHALLENGE_TTL_S = 15.0  # --authentication_v0_timeout default (src/master/constants.hpp)
SASL_NOUSER = "user not found"  # sasl_errstring(SASL_NOUSER)
SASL_BADAUTH = "authentication failure"  # sasl_errstring(SASL_BADAUTH)


def response(secret: str, challenge: str) -> str:
    """What a CRAM-MD5 client sends: hex(HMAC-MD5(key=secret, msg=challenge)) (RFC 2195)."""
    return hmac.new(secret.encode(), challenge.encode(), hashlib.md5).hexdigest()


class Authenticator:
    """The master side: challenges issued, tokens granted (thread-safe)."""

    def __init__(self, credentials: list[tuple[str, str]] | None, log: logging.Logger) -> None:
        self.secrets = dict(credentials or [])
        self.log = log
        self.lock = threading.Lock()
        self.challenges: dict[str, tuple[str, float]] = {}  # challenge -> (principal, issued)
        self.tokens: dict[str, str] = {}  # token -> principal
        if credentials is None:
            log.warning("No credentials provided, authentication requests will be refused")

    def start(self, principal: str) -> str:
        challenge = f"<{secrets.token_hex(16)}.{int(time.time())}@mesos-master>"
        with self.lock:
            now = time.monotonic()
            self.challenges = {c: v for c, v in self.challenges.items()
                               if now - v[1] < CHALLENGE_TTL_S}  # fmt: skip
            self.challenges[challenge] = (principal, now)
        self.log.info("Received SASL authentication start")
        return challenge

    def step(self, principal: str, challenge: str, answer: str) -> tuple[str | None, str]:
        """(token, "") on success, else (None, the SASL error string)."""
        self.log.info("Received SASL authentication step")
        with self.lock:
            issued = self.challenges.pop(challenge, None)
        fresh = issued is not None and time.monotonic() - issued[1] < CHALLENGE_TTL_S
        if principal not in self.secrets:
            error = SASL_NOUSER
        elif not fresh or issued is None or issued[0] != principal:
            error = SASL_BADAUTH
        elif not hmac.compare_digest(response(self.secrets[principal], challenge), answer):
            error = SASL_BADAUTH
        else:
            token = secrets.token_urlsafe(24)
            with self.lock:
                self.tokens[token] = principal
            self.log.info("Authentication success")
            return token, ""
        self.log.warning("Authentication failure: %s", error)
        return None, error

    def principal(self, token: Any) -> str | None:
        """The principal a token was granted to; None for no token or an unknown one."""
        if not isinstance(token, str):
            return None
        with self.lock:
            return self.tokens.get(token)


class Refused(Exception):
    """The master refused the credential (AuthenticationFailedMessage)."""


def authenticate(base_url: str, principal: str, secret: str, timeout: float = 5.0) -> str:
    """Client side (agent): the token from the master at `base_url` (`http://ip:port`).

    Raises Refused on 401 and OSError when the master cannot be reached or answers otherwise
    (an error, not a refusal: the caller retries, as Slave::_authenticate does).
    """
    status, reply, _ = call("POST", base_url + "/standin/v1/authenticate",
                            {"principal": principal}, timeout)  # fmt: skip
    if status != 200 or not isinstance(reply, dict) or "challenge" not in reply:
        raise OSError(f"authentication start answered HTTP {status}: {reply}")
    challenge = str(reply["challenge"])
    body = {"principal": principal, "challenge": challenge,
            "response": response(secret, challenge)}  # fmt: skip
    status, reply, _ = call("POST", base_url + "/standin/v1/authenticate/step", body, timeout)
    if status == 401:
        raise Refused(str((reply or {}).get("message") if isinstance(reply, dict) else reply))
    if status != 200 or not isinstance(reply, dict) or not reply.get("token"):
        raise OSError(f"authentication step answered HTTP {status}: {reply}")
    return str(reply["token"])
