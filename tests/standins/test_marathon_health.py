"""Marathon stand-in: health results recorded as HealthCheckActor.scala / Health.scala do
(d2iq-archive/marathon v1.10.26), driven through the checker's own recording step."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from tests.standins.marathon.marathon_standin.health import HealthChecker, instance_id

TASK = "shop_web.0a1b2c3d-0000-4000-8000-000000000001"
FIELDS = {"alive", "consecutiveFailures", "firstSuccess", "lastFailure", "lastSuccess",
          "lastFailureCause", "instanceId"}


def checker() -> tuple[HealthChecker, list[str], dict[str, Any]]:
    apps = SimpleNamespace(health={})
    killed: list[str] = []
    return HealthChecker(apps, killed.append), killed, apps.health  # type: ignore[arg-type]


def check(grace: float, max_failures: int = 3) -> dict[str, Any]:
    return {"gracePeriodSeconds": grace, "maxConsecutiveFailures": max_failures}


def task(running_for: float) -> dict[str, Any]:
    return {"id": TASK, "startedEpoch": time.time() - running_for}


def test_failure_inside_grace_stores_an_unchanged_entry() -> None:
    health_checker, killed, health = checker()
    assert health == {}  # no check ran: no entry at all
    health_checker._record(task(1), check(300), 0, 1, False, "500 Internal Server Error")
    assert health[TASK] == [{
        "alive": False, "consecutiveFailures": 0, "firstSuccess": None, "lastFailure": None,
        "lastSuccess": None, "lastFailureCause": None,
        "instanceId": "shop_web.marathon-0a1b2c3d-0000-4000-8000-000000000001"}]
    assert killed == []


def test_success_then_failures_count_even_inside_grace() -> None:
    health_checker, killed, health = checker()
    health_checker._record(task(1), check(300), 0, 1, True, "")
    result = health[TASK][0]
    assert set(result) == FIELDS
    assert result["alive"] is True and result["firstSuccess"] == result["lastSuccess"]
    first = result["firstSuccess"]
    time.sleep(0.002)
    # Once it passed, the grace period no longer hides failures.
    health_checker._record(task(1), check(300), 0, 1, False, "Connection refused")
    assert (result["alive"], result["consecutiveFailures"]) == (False, 1)
    assert result["lastFailureCause"] == "Connection refused"
    assert result["firstSuccess"] == first and result["lastFailure"] is not None
    time.sleep(0.002)
    health_checker._record(task(1), check(300), 0, 1, True, "")
    assert (result["alive"], result["consecutiveFailures"]) == (True, 0)
    assert result["lastFailureCause"] == "Connection refused"  # kept, as Health.update does
    assert killed == []


def test_kill_when_the_previous_count_reached_the_maximum() -> None:
    health_checker, killed, health = checker()
    for expected in (1, 2):
        health_checker._record(task(60), check(0, 2), 0, 1, False, "503 Service Unavailable")
        assert health[TASK][0]["consecutiveFailures"] == expected
        assert killed == []
    health_checker._record(task(60), check(0, 2), 0, 1, False, "503 Service Unavailable")
    assert killed == [TASK] and health[TASK][0]["consecutiveFailures"] == 3


def test_max_zero_never_kills_and_unrun_checks_have_no_entry() -> None:
    health_checker, killed, health = checker()
    for _ in range(5):
        health_checker._record(task(60), check(0, 0), 1, 2, False, "x")
    assert killed == [] and health[TASK][0] is None
    assert health[TASK][1]["consecutiveFailures"] == 5


def test_instance_id_of_a_legacy_task_id() -> None:
    assert instance_id("a_b.c.uuid-1") == "a_b.c.marathon-uuid-1"
