"""One bounded command whose output lines are timestamped as they arrive.

Like the e2e tier's ``run_logged`` (tests/e2e/test_sandbox_e2e.py): run from the project root,
its own process group (a timeout kills everything it started, via the e2e's ``_kill_group``),
output to a log file; in addition every line gets the second it arrived, which is what
operation timings (optimes.py) are made of. The log's lines read ``[+12.345] <line>``.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.test_sandbox_e2e import PROJECT_ROOT, _kill_group

# After the command exits (or is killed), how long the reader may take to drain the pipe.
READER_JOIN_S = 10.0


@dataclass
class Streamed:
    """rc None: killed at the timeout. ``lines``: ``[(seconds since start, line), ...]``."""

    step: str
    rc: int | None
    seconds: float
    log: Path
    lines: list[tuple[float, str]] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def tail(self, count: int = 30) -> str:
        return "\n".join(line for _, line in self.lines[-count:])


def run_streamed(step: str, command: Sequence[str], timeout_s: float, log_dir: Path,
                 echo: bool = False) -> Streamed:
    """Run ``command`` bounded by ``timeout_s`` seconds; never raises for a failing command."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{step}.log"
    print(f"[bench] {step}: {' '.join(command)}  (log: {log})", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYINFRA_PROGRESS": "off"}
    result = Streamed(step, None, 0.0, log)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as handle:
        proc = subprocess.Popen(list(command), cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)

        def read() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                when = time.monotonic() - started
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                result.lines.append((when, line))
                handle.write(f"[+{when:8.3f}] {line}\n")
                if echo:
                    print(f"    {line}", flush=True)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            result.rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            result.rc = None
        except BaseException:
            # Ctrl-C or SIGTERM of the benchmark: the command is in its own session and would
            # outlive us, racing the teardown's `sandbox down`.
            _kill_group(proc)
            raise
        result.seconds = time.monotonic() - started
        reader.join(READER_JOIN_S)
        if proc.stdout is not None:
            proc.stdout.close()
    print(f"[bench] {step}: exit {result.rc} after {result.seconds:.1f} s", flush=True)
    return result
