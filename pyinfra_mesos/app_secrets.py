"""Secret-bearing fields of a Marathon app, replaced by keyed digests so output never holds them.

Stdlib only: the MarathonApp fact runs this very file with `python3` on the Marathon host
(facts.masking_script), between curl and the fact's output, so Marathon's answer is masked
before pyinfra can print it (-vvv prints fact output; a failing fact prints it at any level).
The operation masks its desired app with the same function (apps.compare `digest_key`), so the
whole-app comparison stays exact: two values are equal exactly when their digests are.

Fields (Marathon 1.10, docs/docs/rest-api/public/api/v2/types/app.raml and
secrets.md in d2iq-archive/marathon v1.10.26):
- `env`: every string value (a `{"secret": "name"}` reference names a secret; kept);
- `secrets`: every `source` (the secret store path);
- `fetch[].uri`, `uris[]`: the `user:password@` part of a URI;
- `container.docker.parameters`: the value of an `env`/`e` parameter (`NAME=VALUE`);
- `container.docker.credential.secret` (MESOS containerizer image pulls).
Each becomes `hmac-sha256:<64 hex>` keyed with the Marathon API credentials (a 0600 file on the
host, the operator's credentials file here). Without credentials the key is empty: the digest
is then a plain salted hash, and Marathon itself serves the values to anyone who asks.
Not masked: `cmd`, `args`, labels and health-check commands (put secrets in `env`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from typing import Any

PREFIX = "hmac-sha256:"
_SALT = b"pyinfra-mesos app secret\x00"


def digest(value: str, key: bytes) -> str:
    """`hmac-sha256:<hex>` of one secret value (UTF-8)."""
    return PREFIX + hmac.new(key, _SALT + value.encode("utf-8", "surrogatepass"),
                             hashlib.sha256).hexdigest()


def _mask_uri(uri: Any, key: bytes) -> Any:
    """`scheme://user:pw@host/x` -> `scheme://hmac-sha256:<hex>@host/x` (the path is kept: the
    canonical form decides `extract` from it)."""
    if not isinstance(uri, str) or "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    authority, sep, tail = rest.partition("/")
    if "@" not in authority:
        return uri
    userinfo, host = authority.rsplit("@", 1)
    return f"{scheme}://{digest(userinfo, key)}@{host}{sep}{tail}"


def _mask_parameter(item: Any, key: bytes) -> Any:
    if not (isinstance(item, dict) and item.get("key") in ("env", "e")
            and isinstance(item.get("value"), str)):
        return item
    name, sep, value = item["value"].partition("=")
    return {**item, "value": f"{name}={digest(value, key)}" if sep else item["value"]}


def mask_app(app: Any, key: bytes) -> Any:
    """A copy of `app` (a Marathon app dict) with every secret-bearing value digested; anything
    that is not a dict is returned as it is. Never raises on odd shapes."""
    if not isinstance(app, dict):
        return app
    out = dict(app)
    if isinstance(out.get("env"), dict):
        out["env"] = {name: digest(v, key) if isinstance(v, str) else v
                      for name, v in out["env"].items()}
    if isinstance(out.get("secrets"), dict):
        out["secrets"] = {name: ({**s, "source": digest(s["source"], key)}
                                 if isinstance(s, dict) and isinstance(s.get("source"), str)
                                 else s)
                          for name, s in out["secrets"].items()}
    if isinstance(out.get("uris"), list):
        out["uris"] = [_mask_uri(u, key) for u in out["uris"]]
    if isinstance(out.get("fetch"), list):
        out["fetch"] = [{**f, "uri": _mask_uri(f.get("uri"), key)} if isinstance(f, dict)
                        else f for f in out["fetch"]]
    container = out.get("container")
    docker = container.get("docker") if isinstance(container, dict) else None
    if isinstance(docker, dict):
        docker = dict(docker)
        if isinstance(docker.get("parameters"), list):
            docker["parameters"] = [_mask_parameter(p, key) for p in docker["parameters"]]
        credential = docker.get("credential")
        if isinstance(credential, dict) and isinstance(credential.get("secret"), str):
            docker["credential"] = {**credential,
                                    "secret": digest(credential["secret"], key)}
        out["container"] = {**container, "docker": docker}
    return out


def key_from_file(path: str) -> tuple[bytes, bool]:
    """(key, found): the credentials file's content without its final newline, as written by
    marathon_files.marathon_credential_texts; (b"", False) when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return b"", False
    return data[:-1] if data.endswith(b"\n") else data, True


def main(argv: list[str]) -> int:
    """Host side: stdin is curl's body plus a last status line; stdout the same with the app
    masked and `"pyinfraMesosKey": "file"|"none"` added to the body. A body that is not JSON
    (an error page) passes as it is; a JSON body that cannot be masked is dropped (fail closed).
    """
    lines = sys.stdin.read().split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    status = lines[-1] if lines else "000"
    body = "\n".join(lines[:-1])
    key, found = key_from_file(argv[1]) if len(argv) > 1 else (b"", False)
    try:
        parsed = json.loads(body) if body.strip() else None
    except ValueError:
        parsed = None
        out = body
    if parsed is not None:
        try:
            if isinstance(parsed, dict) and "app" in parsed:
                parsed = {**parsed, "app": mask_app(parsed["app"], key)}
            elif isinstance(parsed, dict):
                parsed = mask_app(parsed, key)
            if isinstance(parsed, dict):
                parsed["pyinfraMesosKey"] = "file" if found else "none"
            out = json.dumps(parsed, sort_keys=True)
        except Exception:  # fail closed: never print an unmasked body
            out = ""
    sys.stdout.write(f"{out}\n{status}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
