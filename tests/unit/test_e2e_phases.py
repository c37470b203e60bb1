"""The e2e tier's phase guard: a phase after a failed one fails at once naming it; a phase run
alone builds the deployed cluster first; a failing phase is recorded. (No sandbox is touched:
`ensure_deployed` is replaced by a recorder.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import test_sandbox_e2e as e2e


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fake_ensure(run: e2e.E2ERun) -> None:
        calls.append("deploy")
        run.deployed = True

    monkeypatch.setattr(e2e, "ensure_deployed", fake_ensure)
    return calls


def new_run() -> e2e.E2ERun:
    return e2e.E2ERun(Path("/nonexistent/sandbox.py"), "pms")


def test_a_phase_needing_the_cluster_builds_it_first(builds: list[str]) -> None:
    run = new_run()
    with e2e.phase(run, "no-op re-run"):
        pass
    assert builds == ["deploy"] and run.failed_phase is None


def test_a_phase_that_needs_no_cluster_does_not_build_it(builds: list[str]) -> None:
    with e2e.phase(new_run(), "bare deploy", needs_cluster=False):
        pass
    assert builds == []


def test_a_failing_phase_is_recorded_and_reraised(builds: list[str]) -> None:
    run = new_run()
    with pytest.raises(AssertionError, match="boom"), e2e.phase(run, "app scaling"):
        raise AssertionError("boom")
    assert run.failed_phase == "app scaling"


def test_a_phase_after_a_failed_one_fails_naming_it(builds: list[str]) -> None:
    run = new_run()
    run.failed_phase = "master failover"
    ran = []
    with pytest.raises(pytest.fail.Exception, match="'master failover' failed before it"):
        with e2e.phase(run, "grow masters"):
            ran.append(True)
    assert ran == [] and builds == []
    assert run.failed_phase == "master failover"
