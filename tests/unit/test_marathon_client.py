"""marathon_client against a scripted fake Marathon on 127.0.0.1 with the documented bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_marathon_client_fakeserver import FakeMarathon, example, fake_marathon

from pyinfra_mesos import apps
from pyinfra_mesos.marathon_client import (
    DeploymentTimeout,
    MarathonClient,
    MarathonError,
    deploy_app,
    main,
    same_definition,
)

REPO = Path(__file__).resolve().parents[2]
HELLO = apps.normalise_app(json.loads((REPO / "apps" / "hello-sinatra.json").read_text()))
APP_PATH = "/v2/apps/hello-sinatra"
PUT_ANSWER = example("put-v2-apps-id-response.json")
DEPLOYMENT_ID = PUT_ANSWER["deploymentId"]


class FakeClock:
    """Deterministic time: sleep() advances it, so timeouts take no real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def running(app: dict[str, Any], instances: int, healthy: int | None = None) -> dict[str, Any]:
    out = json.loads(json.dumps(app))
    out.update({"version": "2015-09-29T15:59:51.164Z", "backoffSeconds": 1, "disk": 0,
                "tasksRunning": instances,
                "tasksHealthy": instances if healthy is None else healthy})
    return {"app": out}


@pytest.fixture
def fake() -> Iterator[FakeMarathon]:
    with fake_marathon() as server:
        yield server


def deploy(fake: FakeMarathon, app: dict[str, Any] = HELLO, timeout: float = 30):
    clock = FakeClock()
    client = MarathonClient(fake.url, timeout_s=5, clock=clock, sleep=clock.sleep)
    return deploy_app(client, app, timeout, poll_s=1, clock=clock, sleep=clock.sleep)


def deployment(dep_id: str = DEPLOYMENT_ID) -> list[dict[str, Any]]:
    found = example("get-v2-deployments.json")
    found[0]["id"] = dep_id
    return found


def test_create(fake: FakeMarathon) -> None:
    fake.route("GET", APP_PATH, (404, {"message": "App '/hello-sinatra' does not exist"}),
               running(HELLO, 0), (200, running(HELLO, 1)))
    fake.route("PUT", APP_PATH, (201, PUT_ANSWER))
    fake.route("GET", "/v2/deployments", (200, deployment()), (200, []))
    result = deploy(fake)
    assert (result.action, result.deployment_id) == ("created", DEPLOYMENT_ID)
    method, path, body = fake.calls("PUT", APP_PATH)[0]
    assert "force" not in path and "partialUpdate=false" in path
    assert body == HELLO


def test_update(fake: FakeMarathon) -> None:
    scaled = {**HELLO, "instances": 3}
    fake.route("GET", APP_PATH, (200, running(HELLO, 1)), (200, running(scaled, 2, 2)),
               (200, running(scaled, 3, 3)))
    fake.route("PUT", APP_PATH, (200, PUT_ANSWER))
    fake.route("GET", "/v2/deployments", (200, []))
    assert deploy(fake, scaled).action == "updated"
    assert len(fake.calls("PUT", APP_PATH)) == 1


def test_no_change_sends_no_put(fake: FakeMarathon) -> None:
    fake.route("GET", APP_PATH, (200, running(HELLO, 1)))
    assert deploy(fake).action == "unchanged"
    assert fake.calls("PUT", APP_PATH) == []


def test_409_locked_carries_message_and_deployments(fake: FakeMarathon) -> None:
    fake.route("GET", APP_PATH, (200, running(HELLO, 1)))
    fake.route("PUT", APP_PATH, (409, example("error-409-app-locked-put-example.json")))
    with pytest.raises(MarathonError) as caught:
        deploy(fake, {**HELLO, "instances": 2})
    assert caught.value.status == 409
    text = str(caught.value)
    assert "App is locked by one or more deployments" in text
    assert "5cd987cd-85ae-4e70-8df7-f1438367d9cb" in text
    assert "force" not in fake.calls("PUT", APP_PATH)[0][1]


def test_422_carries_details(fake: FakeMarathon) -> None:
    fake.route("GET", APP_PATH, (404, {"message": "App '/hello-sinatra' does not exist"}))
    fake.route("PUT", APP_PATH, (422, example("error-422-validation.json")))
    with pytest.raises(MarathonError) as caught:
        deploy(fake)
    assert caught.value.status == 422
    assert str(caught.value) == ("Marathon 422: Object is not valid: "
                                 "/upgradeStrategy/minimumHealthCapacity: is greater than 1")


def test_timeout_when_deployment_never_ends(fake: FakeMarathon) -> None:
    fake.route("GET", APP_PATH, (404, {"message": "nope"}), (200, running(HELLO, 0)))
    fake.route("PUT", APP_PATH, (201, PUT_ANSWER))
    fake.route("GET", "/v2/deployments", (200, deployment()))
    with pytest.raises(DeploymentTimeout) as caught:
        deploy(fake, timeout=10)
    assert "not done after 10s (deployment running, tasks running 0/1, healthy 0/1)" in str(
        caught.value)
    assert len(fake.calls("GET", "/v2/deployments")) <= 12  # bounded by the fake clock


def test_waits_for_health_not_just_deployment(fake: FakeMarathon) -> None:
    fake.route("GET", APP_PATH, (404, {"message": "nope"}), (200, running(HELLO, 1, 0)))
    fake.route("PUT", APP_PATH, (201, PUT_ANSWER))
    fake.route("GET", "/v2/deployments", (200, []))
    with pytest.raises(DeploymentTimeout, match="healthy 0/1"):
        deploy(fake, timeout=5)


def test_other_deployment_ids_do_not_block(fake: FakeMarathon) -> None:
    fake.route("GET", APP_PATH, (404, {"message": "nope"}), (200, running(HELLO, 1)))
    fake.route("PUT", APP_PATH, (201, PUT_ANSWER))
    fake.route("GET", "/v2/deployments", (200, deployment("someone-else")))
    assert deploy(fake).action == "created"


def test_second_url_used_when_first_unreachable(fake: FakeMarathon) -> None:
    fake.route("GET", APP_PATH, (200, running(HELLO, 1)))
    client = MarathonClient(["http://127.0.0.1:9", fake.url], timeout_s=2)
    assert client.get_app("/hello-sinatra")["id"] == "/hello-sinatra"


def test_unreachable_is_an_error() -> None:
    clock = FakeClock()
    client = MarathonClient("http://127.0.0.1:9", timeout_s=1, call_timeout_s=3, clock=clock,
                            sleep=clock.sleep)
    with pytest.raises(MarathonError, match="no Marathon reachable in 3s"):
        client.get_app("x")


def test_wait_until_up_bounded() -> None:
    clock = FakeClock()
    client = MarathonClient("http://127.0.0.1:9", timeout_s=1, call_timeout_s=2, clock=clock,
                            sleep=clock.sleep)
    with pytest.raises(DeploymentTimeout, match="/ping"):
        client.wait_until_up(6, poll_s=2, clock=clock, sleep=clock.sleep)


def test_cli_apply(fake: FakeMarathon, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    fake.route("GET", "/ping", (200, "pong"))
    fake.route("GET", APP_PATH, (200, running(HELLO, 1)))
    path = tmp_path / "app.json"
    path.write_text(json.dumps(HELLO))
    assert main(["apply", "--url", fake.url, "--file", str(path), "--timeout", "5"]) == 0
    assert capsys.readouterr().out == "/hello-sinatra: unchanged\n"


def test_cli_apply_reports_marathon_error(fake: FakeMarathon, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    fake.route("GET", "/ping", (200, "pong"))
    fake.route("GET", APP_PATH, (404, {"message": "nope"}))
    fake.route("PUT", APP_PATH, (422, example("error-422-validation-ValidationTest.json")))
    path = tmp_path / "app.json"
    path.write_text(json.dumps(HELLO))
    assert main(["apply", "--url", fake.url, "--file", str(path), "--timeout", "5"]) == 2
    assert capsys.readouterr().err == (
        "error: /hello-sinatra: Marathon 422: Object is not valid: /id: is a number\n")


def test_same_definition_is_strict() -> None:
    assert same_definition({"a": 1, "b": {"c": 64}}, {"a": 1.0, "b": {"c": 64.0},
                                                       "version": "x", "tasksRunning": 3})
    assert not same_definition({"a": 1}, {"a": 1, "healthChecks": []})  # a removal counts
    assert not same_definition({"labels": {"x": "1"}}, {"labels": {"x": "1", "y": "2"}})
    assert not same_definition({"a": [1, 2]}, {"a": [1, 2, 3]})
    assert not same_definition({"flag": True}, {"flag": 1})


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_no_leader_statuses_are_retried(fake: FakeMarathon, status: int) -> None:
    # docs/REAL-CONTRACTS.md: 502 "Could not determine the current leader" (HTML) during election.
    fake.route("GET", APP_PATH, (status, "<html><body>Could not determine the current leader"
                                         "</body></html>"), (200, running(HELLO, 1)))
    clock = FakeClock()
    client = MarathonClient(fake.url, timeout_s=2, clock=clock, sleep=clock.sleep)
    assert client.get_app("/hello-sinatra")["id"] == "/hello-sinatra"
    assert len(fake.calls("GET", APP_PATH)) == 2


def test_no_leader_moves_to_the_next_url() -> None:
    with fake_marathon() as first, fake_marathon() as second:
        first.route("GET", APP_PATH, (502, "Could not determine the current leader"))
        second.route("GET", APP_PATH, (200, running(HELLO, 1)))
        client = MarathonClient([first.url, second.url], timeout_s=2)
        assert client.get_app("/hello-sinatra")["id"] == "/hello-sinatra"
        assert len(first.calls("GET", APP_PATH)) == 1


def test_no_leader_is_bounded_in_total_time(fake: FakeMarathon) -> None:
    fake.route("GET", APP_PATH, (502, "<html>Could not determine the current leader</html>"))
    clock = FakeClock()
    client = MarathonClient(fake.url, timeout_s=2, call_timeout_s=5, retry_s=1, clock=clock,
                            sleep=clock.sleep)
    with pytest.raises(MarathonError) as caught:
        client.get_app("/hello-sinatra")
    assert caught.value.status == 502
    assert "no Marathon leader in 5s: Could not determine the current leader" in str(
        caught.value)
    assert len(fake.calls("GET", APP_PATH)) <= 6


def test_other_errors_are_not_retried(fake: FakeMarathon) -> None:
    fake.route("GET", APP_PATH, (401, {"message": "Unauthorized"}))
    clock = FakeClock()
    client = MarathonClient(fake.url, timeout_s=2, clock=clock, sleep=clock.sleep)
    with pytest.raises(MarathonError, match="Marathon 401: Unauthorized"):
        client.get_app("/hello-sinatra")
    assert len(fake.calls("GET", APP_PATH)) == 1


def test_400_with_string_details_is_formatted(fake: FakeMarathon) -> None:
    # MarathonExceptionMapper: malformed JSON -> {"message": "Invalid JSON", "details": "<msg>"}
    fake.route("GET", APP_PATH, (404, {"message": "nope"}))
    fake.route("PUT", APP_PATH, (400, {"message": "Invalid JSON",
                                       "details": "Unexpected end-of-input at line 1"}))
    with pytest.raises(MarathonError) as caught:
        deploy(fake)
    assert str(caught.value) == ("Marathon 400: Invalid JSON: Unexpected end-of-input at "
                                 "line 1")


def test_basic_auth_from_a_0600_file(fake: FakeMarathon, tmp_path: Path) -> None:
    fake.route("GET", APP_PATH, (200, running(HELLO, 1)))
    secret = tmp_path / "credentials"
    secret.write_text("admin:s3cret\n")
    secret.chmod(0o600)
    MarathonClient(fake.url, credentials_file=str(secret)).get_app("/hello-sinatra")
    assert fake.authorizations == ["Basic YWRtaW46czNjcmV0"]  # base64("admin:s3cret")


def test_credentials_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "credentials"
    secret.write_text("admin:s3cret\n")
    secret.chmod(0o644)
    with pytest.raises(MarathonError, match="must be mode 0600"):
        MarathonClient("http://127.0.0.1:9", credentials_file=str(secret))


def test_cli_apply_sends_credentials_from_the_file(fake: FakeMarathon, tmp_path: Path) -> None:
    fake.route("GET", "/ping", (200, "pong"))
    fake.route("GET", APP_PATH, (200, running(HELLO, 1)))
    secret = tmp_path / "credentials"
    secret.write_text("admin:s3cret\n")
    secret.chmod(0o600)
    path = tmp_path / "app.json"
    path.write_text(json.dumps(HELLO))
    assert main(["apply", "--url", fake.url, "--file", str(path), "--timeout", "5",
                 "--credentials-file", str(secret)]) == 0
    assert set(fake.authorizations) == {"Basic YWRtaW46czNjcmV0"}
