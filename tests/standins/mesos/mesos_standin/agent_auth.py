"""The agent's authentication: its --credential for the master, HTTP auth of its endpoints.

Sources (apache/mesos 1.11.0): Slave::initialize in src/slave/slave.cpp reads --credential
(EXIT "<error> (see --credential flag)", or "Empty credential file '<path>' (see --credential
flag)") and --http_credentials (as the master reads --credentials), and sets up the
`mesos-agent-readonly` / `mesos-agent-readwrite` realms with `--http_authenticators` (default
`basic`). Slave::authenticate / Slave::_authenticate: authenticate with every newly detected
master before registering; an error (master unreachable, timeout) is retried with backoff, but a
REFUSED credential makes the agent EXIT "Master <pid> refused authentication" (so systemd
restarts it); a credential without a secret is refused by the CRAM-MD5 authenticatee itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from . import cram_md5, http_auth
from .common import die
from .credentials import (
    Credential,
    CredentialsError,
    credentials_flag,
    read_credential,
    strip_uri,
)
from .flags import Flags

DEFAULT_AUTHENTICATEE = "crammd5"


@dataclass
class AgentAuth:
    credential: Credential | None
    authenticatee: str
    http: http_auth.HttpAuth


def setup(flags: Flags, log: logging.Logger) -> AgentAuth:
    """Load --credential and --http_credentials and check the HTTP realms; die on a problem."""
    credential = None
    value = flags.get("credential")
    if value is not None:
        try:
            credential = read_credential(value, log)
        except CredentialsError as exc:
            die(log, f"{exc} (see --credential flag)")
        if credential is None:
            die(log, f"Empty credential file '{strip_uri(value)}' (see --credential flag)")
        log.info("Agent using credential for: %s", credential[0])
    http_credentials = credentials_flag(flags.get("http_credentials"), "http_credentials", log)
    realms = set()
    for flag, realm in (("authenticate_http_readonly", http_auth.AGENT_READONLY),
                        ("authenticate_http_readwrite", http_auth.AGENT_READWRITE)):
        if flags.boolean(flag):
            problem = http_auth.init_problem(realm, flags.get("http_authenticators") or "basic",
                                             http_credentials)  # fmt: skip
            if problem is not None:
                die(log, problem)
            realms.add(realm)
    return AgentAuth(credential, flags.get("authenticatee") or DEFAULT_AUTHENTICATEE,
                     http_auth.HttpAuth(realms, http_credentials))


def authenticate(auth: AgentAuth, url: str, log: logging.Logger) -> str | None:
    """A token from the master at `url` (`http://ip:port`), or None to retry later.

    Dies on a refusal, as Slave::_authenticate does."""
    assert auth.credential is not None
    pid = "master@" + url.removeprefix("http://")
    log.info("Authenticating with master %s", pid)
    if auth.authenticatee != DEFAULT_AUTHENTICATEE:
        die(log, f"Could not create authenticatee module '{auth.authenticatee}': Module "
                 f"'{auth.authenticatee}' unknown")  # fmt: skip
    log.info("Using default CRAM-MD5 authenticatee")
    principal, secret = auth.credential
    if secret == "":
        log.warning("Authentication failed; secret needed by CRAM-MD5 authenticatee")
        die(log, f"Master {pid} refused authentication")
    try:
        token = cram_md5.authenticate(url, principal, secret)
    except cram_md5.Refused:
        die(log, f"Master {pid} refused authentication")
        return None
    except OSError as exc:
        log.warning("Failed to authenticate with master %s: %s", pid, exc)
        return None
    log.info("Successfully authenticated with master %s", pid)
    return token
