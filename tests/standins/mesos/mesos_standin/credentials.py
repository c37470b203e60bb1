"""Credentials files as Mesos 1.11 reads them (apache/mesos 1.11.0 src/credentials/credentials.hpp).

Master `--credentials` and agent `--http_credentials`: JSON
`{"credentials": [{"principal": str, "secret": str}, ...]}`. Agent `--credential`: JSON
`{"principal": str, "secret": str}`. Both flags are stout `Path`s: a leading `file://` is
stripped (3rdparty/stout/include/stout/path.hpp) and the file is read when the program starts.
The old text form ("principal secret" per line) was removed before 1.11 (commit 3f9544390
"Remove credential text format support"): such a file fails as "Invalid json format".

Errors carry Mesos's wording; the callers add the flag (" (see --credentials flag)") and exit.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from .common import die

Credential = tuple[str, str]  # (principal, secret); a missing secret is ""


class CredentialsError(Exception):
    """The file cannot be used; the message is Mesos's (without the flag suffix)."""


def strip_uri(value: str) -> str:
    """`file:///etc/x` -> `/etc/x` (stout Path, 1.11.0 path.hpp); other values unchanged."""
    return value.removeprefix("file://")


def _read(path: str, what: str, log: logging.Logger) -> str | None:
    """The file's text; None when empty. Warns like Mesos when others may read it."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise CredentialsError(f"Failed to read {what} file '{path}': {exc.strerror}") from None
    if text == "":
        return None
    if os.stat(path).st_mode & stat.S_IRWXO:
        log.warning("Permissions on %s file '%s' are too open; it is recommended that your %s "
                    "file is NOT accessible by others", what, path, what)  # fmt: skip
    return text


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # Mesos reports picojson's message here; the prefix is the same.
        raise CredentialsError(f"Invalid json format: {exc}") from None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array"}.get(type(value), "string")


def _credential(obj: Any, where: str) -> Credential:
    """One `Credential` message (stout protobuf.hpp parse: required principal, string secret)."""
    if not isinstance(obj, dict):
        raise CredentialsError(f"Expecting a JSON object{where and ' for ' + where}")
    for name in ("principal", "secret"):
        if name in obj and not isinstance(obj[name], str):
            raise CredentialsError(f"Not expecting a JSON {_kind(obj[name])} for field '{name}'")
    if "principal" not in obj:
        raise CredentialsError(f"Missing required fields: {where}principal")
    return str(obj["principal"]), str(obj.get("secret", ""))


def read_credentials(value: str, log: logging.Logger) -> list[Credential] | None:
    """Master --credentials / agent --http_credentials; None for an empty file.

    Raises CredentialsError: "Failed to read credentials file '<path>': <strerror>",
    "Invalid json format: ...", "Failed to parse credentials: <protobuf error>".
    """
    path = strip_uri(value)
    log.info("Loading credentials for authentication from '%s'", path)
    text = _read(path, "credentials", log)
    if text is None:
        return None
    data = _json(text)
    try:
        if not isinstance(data, dict):
            raise CredentialsError("Expecting a JSON object")
        items = data.get("credentials", [])
        if not isinstance(items, list):
            raise CredentialsError(f"Not expecting a JSON {_kind(items)} for field "
                                   "'credentials'")  # fmt: skip
        return [_credential(item, f"credentials[{i}].") for i, item in enumerate(items)]
    except CredentialsError as exc:
        raise CredentialsError(f"Failed to parse credentials: {exc}") from None


def read_credential(value: str, log: logging.Logger) -> Credential | None:
    """Agent --credential; None for an empty file. Errors as read_credentials, "credential"."""
    path = strip_uri(value)
    log.info("Loading credential for authentication from '%s'", path)
    text = _read(path, "credential", log)
    if text is None:
        return None
    data = _json(text)
    try:
        return _credential(data, "")
    except CredentialsError as exc:
        raise CredentialsError(f"Failed to parse credential: {exc}") from None


def credentials_flag(value: object, flag: str, log: logging.Logger) -> list[Credential] | None:
    """The credentials a --credentials-style flag names (master --credentials, agent
    --http_credentials); None when the flag is unset. EXITS (die) with Mesos's message, naming
    the flag, when the file cannot be read or parsed, or holds no credential."""
    if value is None:
        return None
    try:
        credentials = read_credentials(str(value), log)
    except CredentialsError as exc:
        die(log, f"{exc} (see --{flag} flag)")
    if credentials is None:
        die(log, f"Credentials file must contain at least one credential (see --{flag} flag)")
    return credentials
