"""Say which Mesos/Marathon sources the sandbox serves, and print the e2e timing table at the
end of the run (also written to build/e2e-timings.txt)."""

from __future__ import annotations

from pathlib import Path

import pytest

TIMINGS_FILE = Path(__file__).resolve().parents[2] / "build" / "e2e-timings.txt"


def pytest_report_header(config: pytest.Config) -> str:
    from sandbox.sources import describe, mode_from_env

    return describe(mode_from_env())


def pytest_sessionstart(session: pytest.Session) -> None:
    # A table left over from an earlier run must not be shown as this run's.
    TIMINGS_FILE.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS_FILE.is_file():
        terminalreporter.section("e2e timings")
        terminalreporter.write(TIMINGS_FILE.read_text())
        terminalreporter.write_line(f"(written to {TIMINGS_FILE})")
