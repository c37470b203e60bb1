"""The apps deploy (tasks/apps.py, facts.MarathonApp, operations.marathon_app) end to end in
pyinfra against @fake hosts, whose scripted curl answers stand for Marathon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyinfra_mesos.deploy.facts import MarathonApp, parse_marathon_app_output

REPO = Path(__file__).resolve().parents[2]
PYINFRA = Path(sys.executable).parent / "pyinfra"
HELLO = json.loads((REPO / "apps" / "hello-sinatra.json").read_text())
APPLY = "marathon_client.py apply"


def marathon_answer(instances: int = 1) -> dict[str, Any]:
    app = json.loads(json.dumps(HELLO))
    app.update({"instances": instances, "version": "2015-09-29T15:59:51.164Z",
                "backoffSeconds": 1, "disk": 0, "tasksRunning": instances,
                "tasksHealthy": instances})
    app["container"]["portMappings"][0]["labels"] = {}
    return {"app": app}


def write_inventory(tmp_path: Path, curl: Any, masters: int = 1, apply: Any = None) -> Path:
    """masters m1..mN and one agent; curl/apply are fake_responses values for m1."""
    responses = {"CURL_PATTERN": curl}
    if apply is not None:
        responses[APPLY] = apply
    fake = {"fake_delay": 0, "fake_delay_jitter": 0}
    text = f"""import re
fake = {fake!r}
responses = {responses!r}
responses[re.compile(r"v2/apps/hello-sinatra")] = responses.pop("CURL_PATTERN")
masters = [("@fake/m1", {{"zookeeper_id": 1, "ip": "10.0.0.1", "fake_responses": responses,
                          **fake}})]
masters += [(f"@fake/m{{i}}", {{"zookeeper_id": i, "ip": f"10.0.0.{{i}}", **fake}})
            for i in range(2, {masters} + 1)]
agents = [("@fake/a1", {{"ip": "10.0.1.1", **fake}})]
"""
    path = tmp_path / "inventory.py"
    path.write_text(text)
    return path


def pyinfra(inventory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYINFRA_FAKE_DELAY": "0", "PYINFRA_FAKE_DELAY_JITTER": "0"}
    env.pop("PYINFRA_YES", None)
    return subprocess.run([str(PYINFRA), str(inventory), "deploy_apps.py", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def app_row(output: str) -> str:
    rows = [line for line in output.splitlines() if "| Marathon app /hello-sinatra" in line]
    assert rows, output
    return " ".join(rows[-1].split())


def test_no_change_when_marathon_has_the_app(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, [json.dumps(marathon_answer()), "200"])
    done = pyinfra(inventory, "-y", "-vv")
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert app_row(out).endswith("1 - - 1")  # hosts, success, error, no change
    assert APPLY not in out


def test_dry_run_shows_scaling(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, [json.dumps(marathon_answer()), "200"])
    done = pyinfra(inventory, "--dry", "--data", 'apps_instances={"hello-sinatra": 3}')
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "[@fake/m1] Marathon app /hello-sinatra: instances: 1 -> 3" in out
    assert app_row(out).endswith("(3 instances) 1 (@fake/m1) -")  # change, conditional


def test_create_runs_apply_once_on_first_marathon_host(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, ['{"message": "App \'/hello-sinatra\' does not exist"}',
                                           "404"], masters=3)
    done = pyinfra(inventory, "-y", "-vv")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Marathon app /hello-sinatra: (new app)" in out
    applies = [line for line in out.splitlines() if APPLY in line]
    assert len(applies) == 1 and applies[0].startswith("[@fake/m1] >>> python3 ")
    # Its own Marathon first, then the other Marathon hosts (whichever answers is used).
    assert ("--url http://127.0.0.1:8080 --url http://10.0.0.2:8080 --url http://10.0.0.3:8080 "
            "--file /var/lib/pyinfra-mesos/apps/hello-sinatra.json") in applies[0]
    assert "--timeout 300" in applies[0]


def test_marathon_not_up_yet_plans_the_put(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, ["000"])
    done = pyinfra(inventory, "--dry")
    assert "Marathon app /hello-sinatra: (Marathon has no leader yet)" in done.stdout + done.stderr


@pytest.mark.parametrize("status", ["500", "502", "503", "504"])
def test_no_leader_yet_statuses_plan_the_put(tmp_path: Path, status: str) -> None:
    # docs/REAL-CONTRACTS.md: the leader proxy answers 502 (500 on other proxy failures) while no
    # leader is elected; the client then waits within its timeout instead of failing.
    inventory = write_inventory(tmp_path, ["<html>Could not determine the current leader</html>",
                                           status])
    done = pyinfra(inventory, "--dry")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Marathon app /hello-sinatra: (Marathon has no leader yet)" in out


def test_unexpected_status_is_an_error(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, ['{"message": "Unauthorized"}', "401"])
    done = pyinfra(inventory, "-y")
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Marathon answered 401 for /hello-sinatra: Unauthorized" in out


def test_apply_failure_fails_the_operation(tmp_path: Path) -> None:
    message = ("error: /hello-sinatra: Marathon 409: App is locked by one or more deployments."
               " Override with the option '?force=true'.")
    inventory = write_inventory(tmp_path, ['{"message": "nope"}', "404"],
                                apply={"success": False, "stderr": message})
    done = pyinfra(inventory, "-y")
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Marathon 409: App is locked" in out


def test_invalid_app_stops_before_any_host_is_touched(tmp_path: Path) -> None:
    apps_dir = tmp_path / "apps"
    apps_dir.mkdir()
    (apps_dir / "bad.json").write_text(json.dumps({**HELLO, "instances": -1}))
    inventory = write_inventory(tmp_path, ["000"])
    done = pyinfra(inventory, "-y", "--data", f"apps_dir={apps_dir}")
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert (f"error: {apps_dir}/bad.json: instances: must be >= 0, got -1 (Marathon 1.10 rule "
            "2.11)") in out
    assert "Beginning operation run" not in out


def test_unknown_override_refused(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, ["000"])
    done = pyinfra(inventory, "-y", "--data", 'apps_instances={"hello": 2}')
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "error: apps_instances: hello: no app with this id (known: hello-sinatra)" in out


def test_fact_command_keeps_credentials_out_of_argv() -> None:
    command = MarathonApp().command("/g/web", ["http://127.0.0.1:8080"],
                                    "/etc/pyinfra-mesos/marathon-curl.conf").get_raw_value()
    assert "-K /etc/pyinfra-mesos/marathon-curl.conf" in command
    assert "http://127.0.0.1:8080/v2/apps/g/web" in command


def test_fact_reads_the_first_marathon_that_answers(tmp_path: Path) -> None:
    """A Marathon that is down (curl 000) is skipped; the next one's answer is the fact."""
    import http.server
    import subprocess
    import threading

    class App(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.dumps({"app": {"id": "/g/web", "instances": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), App)
    down = http.server.HTTPServer(("127.0.0.1", 0), App)
    down_url = f"http://127.0.0.1:{down.server_port}"
    down.server_close()  # nothing listens there now
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        urls = [down_url, f"http://127.0.0.1:{server.server_port}"]
        command = MarathonApp().command("/g/web", urls).get_raw_value()
        out = subprocess.run(command, shell=True, capture_output=True, text=True,
                             timeout=30).stdout
        fact = parse_marathon_app_output(out.splitlines())
        assert fact["status"] == 200 and fact["app"]["instances"] == 2
        nobody = MarathonApp().command("/g/web", [down_url]).get_raw_value()
        out = subprocess.run(nobody, shell=True, capture_output=True, text=True,
                             timeout=30).stdout
        assert parse_marathon_app_output(out.splitlines())["status"] == 0
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("lines", "expected"), [
    (['{"app": {"id": "/x"}}', "200"],
     {"status": 200, "app": {"id": "/x"}, "message": "", "key": None}),
    (['{"app": {"id": "/x"}, "pyinfraMesosKey": "file"}', "200"],
     {"status": 200, "app": {"id": "/x"}, "message": "", "key": "file"}),
    (['{"message": "App \'/x\' does not exist", "pyinfraMesosKey": "none"}', "404"],
     {"status": 404, "app": None, "message": "App '/x' does not exist", "key": "none"}),
    (["000"], {"status": 0, "app": None, "message": "", "key": None}),
    # Not an app: the text is not repeated (it could hold what the masking did not see).
    (["<html>", "200"], {"status": 0, "app": None, "message": "unexpected answer (not an app)",
                         "key": None}),
])
def test_fact_parsing(lines: list[str], expected: dict[str, Any]) -> None:
    assert parse_marathon_app_output(lines) == expected


def stored(app: dict[str, Any]) -> dict[str, Any]:
    """What Marathon 1.10 returns for `app` (the case files' shape), read-only fields included."""
    from pyinfra_mesos.app_canonical import canonical
    return {"app": {**canonical(app), "version": "2026-01-01T00:00:00.000Z", "tasksRunning": 1,
                    "tasksHealthy": 1, "deployments": []}}


def test_removed_fields_are_changes_and_env_values_never_printed(tmp_path: Path) -> None:
    current = json.loads(json.dumps(HELLO))
    current["env"] = {"DB_PASSWORD": "hunter2-secret", "FEATURE_X": "on-secret"}
    current["constraints"] = [["hostname", "UNIQUE"]]
    apps_dir = tmp_path / "apps"
    apps_dir.mkdir()
    desired = {**HELLO, "env": {"DB_PASSWORD": "s3cond-secret"}}
    (apps_dir / "hello.json").write_text(json.dumps(desired))
    inventory = write_inventory(tmp_path, [json.dumps(stored(current)), "200"])
    for mode in (("--dry",), ("--diff", "-y"), ("-y",)):
        done = pyinfra(inventory, *mode, "-v", "--data", f"apps_dir={apps_dir}")
        out = done.stdout + done.stderr
        assert done.returncode == 0, out
        assert ("Marathon app /hello-sinatra: constraints: removed; "
                "env.DB_PASSWORD: changed (*** -> ***); env.FEATURE_X: removed") in out
        for value in ("hunter2-secret", "s3cond-secret", "on-secret"):
            assert value not in out


def test_deprecated_and_legacy_forms_converge(tmp_path: Path) -> None:
    legacy = {"id": "hello-sinatra", "cpus": 0.1, "mem": 64, "cmd": "./serve $PORT0",
              "ports": [10102], "uris": ["https://artifacts.example.net/x.tgz"], "env": {},
              "constraints": [], "healthChecks": [{"portIndex": 0}]}
    apps_dir = tmp_path / "apps"
    apps_dir.mkdir()
    (apps_dir / "hello.json").write_text(json.dumps(legacy))
    inventory = write_inventory(tmp_path, [json.dumps(stored(legacy)), "200"])
    done = pyinfra(inventory, "-y", "--data", f"apps_dir={apps_dir}")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert app_row(out).endswith("1 - - 1")
    assert APPLY not in out


def test_upload_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, ['{"message": "nope"}', "404"])
    done = pyinfra(inventory, "-y", "-vv")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "install -d -m 0700 /var/lib/pyinfra-mesos/apps" in out
    assert "chmod 0600 /var/lib/pyinfra-mesos/apps/hello-sinatra.json" in out


def test_fact_skips_a_marathon_without_leader() -> None:
    """502 (no leader yet, docs/REAL-CONTRACTS.md) moves on to the next URL; all 502: status 502."""
    import subprocess

    from test_marathon_client_fakeserver import fake_marathon

    with fake_marathon() as electing, fake_marathon() as leader:
        electing.route("GET", "/v2/apps/g/web", (502, "Could not determine the current leader"))
        leader.route("GET", "/v2/apps/g/web", (200, {"app": {"id": "/g/web", "instances": 2}}))
        for urls, status in (([electing.url, leader.url], 200), ([electing.url], 502)):
            command = MarathonApp().command("/g/web", urls).get_raw_value()
            out = subprocess.run(command, shell=True, capture_output=True, text=True,
                                 timeout=30).stdout
            assert parse_marathon_app_output(out.splitlines())["status"] == status
