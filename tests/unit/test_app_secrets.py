"""App secrets never reach pyinfra's output: the MarathonApp fact masks them on the host
(app_secrets.py run by python3 after curl), the operation compares digests, and the compare
stays exact. The fact command runs for real here (sh, curl, python3 against a local HTTP
server standing for Marathon's GET /v2/apps/{id}); its output then feeds pyinfra's real CLI in
every output mode through an @fake host."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos.app_secrets import digest, mask_app
from pyinfra_mesos.apps import compare
from pyinfra_mesos.deploy.facts import MarathonApp, parse_marathon_app_output
from tests.unit.test_app_operations import HELLO, pyinfra, stored, write_inventory

CREDENTIALS = "marathon:0123456789abcdef-credential"
SECRETS = ("hunter2-db-password", "s3cr3t-api-token", "fetchpass-xyz", "vault-path-secret",
           "docker-param-secret", "pull-secret-value")


def secret_app(password: str = "hunter2-db-password") -> dict[str, Any]:
    app = json.loads(json.dumps(HELLO))
    app["env"] = {"DB_PASSWORD": password, "API_TOKEN": "s3cr3t-api-token",
                  "VAULT": {"secret": "vault"}}
    app["secrets"] = {"vault": {"source": "vault-path-secret"}}
    app["fetch"] = [{"uri": "https://deploy:fetchpass-xyz@files.example.internal/app.tgz"}]
    app["container"]["docker"]["parameters"] = [
        {"key": "env", "value": "EXTRA=docker-param-secret"}, {"key": "label", "value": "a=b"}]
    return app


def test_mask_app_digests_every_secret_bearing_field() -> None:
    masked = json.dumps(mask_app(secret_app(), b"k"))
    for value in SECRETS[:5]:
        assert value not in masked
    assert '"VAULT": {"secret": "vault"}' in masked  # a reference names a secret, kept
    assert "@files.example.internal/app.tgz" in masked  # the path decides `extract`
    assert '"a=b"' in masked and "EXTRA=hmac-sha256:" in masked
    mesos = {"container": {"type": "MESOS", "docker": {
        "image": "x", "credential": {"principal": "p", "secret": "pull-secret-value"}}}}
    assert "pull-secret-value" not in json.dumps(mask_app(mesos, b"k"))


def test_digests_are_keyed() -> None:
    assert digest("x", b"a") != digest("x", b"b")
    assert digest("x", b"a") == digest("x", b"a")


@pytest.mark.parametrize(("change", "path"), [
    (lambda a: a["env"].__setitem__("DB_PASSWORD", "hunter3-db-password"), "env.DB_PASSWORD"),
    (lambda a: a["secrets"]["vault"].__setitem__("source", "other"), "secrets.vault"),
    (lambda a: a["fetch"][0].__setitem__(
        "uri", "https://deploy:fetchpass-xyZ@files.example.internal/app.tgz"), "fetch"),
    (lambda a: a["container"]["docker"]["parameters"][0].__setitem__(
        "value", "EXTRA=other"), "container"),
])
def test_compare_on_digests_stays_exact(change: Any, path: str) -> None:
    key = CREDENTIALS.encode()
    current = mask_app(stored(secret_app())["app"], key)
    assert compare(secret_app(), current, digest_key=key)[1] == []
    desired = secret_app()
    change(desired)
    put, changes = compare(desired, current, digest_key=key)
    assert [c.path for c in changes] == [path]
    assert put["env"]["DB_PASSWORD"] == desired["env"]["DB_PASSWORD"]  # the PUT is unmasked
    assert not any(s in " ".join(c.describe() for c in changes) for s in SECRETS)


def test_a_raw_current_app_is_compared_masked_and_exactly() -> None:
    current = stored(secret_app())["app"]
    assert compare(secret_app(), current)[1] == []
    changes = compare(secret_app("hunter3-db-password"), current)[1]
    assert [c.describe() for c in changes] == ["env.DB_PASSWORD: changed (*** -> ***)"]


@pytest.fixture()
def marathon() -> Iterator[str]:
    """127.0.0.1:<free port> answering GET /v2/apps/hello-sinatra with the secret app."""
    class App(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.dumps(stored(secret_app())).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_fact(url: str, key_file: str) -> list[str]:
    command = MarathonApp().command("/hello-sinatra", [url], "", key_file).get_raw_value()
    for value in SECRETS:
        assert value not in command
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30,
                          check=True)
    assert done.stderr == ""
    return done.stdout.splitlines()


def test_the_real_fact_command_masks_on_the_host(marathon: str, tmp_path: Path) -> None:
    key_file = tmp_path / "marathon-credentials"
    key_file.write_text(CREDENTIALS + "\n")
    output = run_fact(marathon, str(key_file))
    for value in SECRETS:
        assert value not in "\n".join(output)
    fact = parse_marathon_app_output(output)
    assert (fact["status"], fact["key"]) == (200, "file")
    key = CREDENTIALS.encode()
    assert compare(secret_app(), fact["app"], digest_key=key)[1] == []
    assert [c.path for c in compare(secret_app("changed"), fact["app"], digest_key=key)[1]] == [
        "env.DB_PASSWORD"]
    # No credentials file on the host yet: the empty key, said so.
    fact = parse_marathon_app_output(run_fact(marathon, str(tmp_path / "absent")))
    assert fact["key"] == "none"
    assert compare(secret_app(), fact["app"], digest_key=b"")[1] == []


MODES = [("--dry",), ("--dry", "--diff"), ("-y",), ("-y", "--diff"), ("-y", "-v"),
         ("-y", "-vv"), ("-y", "-vvv"), ("-y", "--debug"), ("--dry", "-vvv", "--debug")]


@pytest.mark.parametrize("changed", [False, True])
def test_no_secret_in_any_output_mode(marathon: str, tmp_path: Path, changed: bool) -> None:
    key_file = tmp_path / "marathon-credentials"
    key_file.write_text(CREDENTIALS + "\n")
    # What the host prints for the fact (masked there), as the @fake host's answer.
    inventory = write_inventory(tmp_path, run_fact(marathon, str(key_file)))
    apps_dir = tmp_path / "apps"
    apps_dir.mkdir()
    desired = secret_app("hunter9-db-password" if changed else "hunter2-db-password")
    (apps_dir / "hello.json").write_text(json.dumps(desired))
    for mode in MODES:
        done = pyinfra(inventory, *mode, "--data", f"apps_dir={apps_dir}", "--data",
                       f"marathon_http_credentials={CREDENTIALS}", "--data",
                       'marathon_flags={"enable_features": "secrets"}')
        out = done.stdout + done.stderr
        assert done.returncode == 0, (mode, out)
        for value in (*SECRETS, "hunter9-db-password", CREDENTIALS.split(":")[1]):
            assert value not in out, (mode, value)
        if "-vvv" in mode:  # pyinfra printed the fact's output: the digests, not the values
            assert "hmac-sha256:" in out, mode
        if "--dry" in mode:  # the change, and only it, is detected through the digests
            detected = [x.strip() for x in out.splitlines() if "Marathon app /hello-sinatra:" in x]
            assert detected == (["[@fake/m1] Marathon app /hello-sinatra: env.DB_PASSWORD: "
                                 "changed (*** -> ***)"] if changed else []), (mode, detected)
