"""Running commands (judged by exit code, bounded in time) and tracking processes by identity.

A pid alone can be reused after its process died; the record keeps the kernel's start time too,
so ``down`` never signals a stranger that happens to hold a recorded pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any


class CommandFailed(Exception):
    pass


def run(
    cmd: Sequence[str],
    *,
    timeout: float = 120,
    check: bool = True,
    input_bytes: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    quiet: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run a command; the exit code decides success (apt and docker print warnings on success)."""
    result = subprocess.run(
        list(cmd),
        input=input_bytes,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        timeout=timeout,
        env=env,
        cwd=cwd,
        check=False,
    )
    if check and result.returncode != 0:
        out = (result.stdout or b"").decode(errors="replace").strip()[-2000:]
        raise CommandFailed(f"{' '.join(cmd)} exited {result.returncode}\n{out}")
    return result


def ok(cmd: Sequence[str], timeout: float = 30, env: dict[str, str] | None = None) -> bool:
    try:
        return run(cmd, timeout=timeout, check=False, env=env).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def say(msg: str) -> None:
    print(msg, flush=True)


@contextmanager
def phase(name: str, timings: dict[str, float]) -> Iterator[None]:
    start = time.monotonic()
    say(f"== {name}")
    try:
        yield
    finally:
        took = time.monotonic() - start
        timings[name] = took
        say(f"   ({name}: {took:.1f} s)")


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after it start past the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def pid_record(pid: int, what: str) -> dict[str, Any]:
    return {"pid": pid, "start": start_time(pid), "what": what}


def alive(rec: dict[str, Any] | None) -> bool:
    if not rec or not isinstance(rec.get("pid"), int):
        return False
    st = start_time(rec["pid"])
    if st is None or st != rec.get("start"):
        return False
    try:
        with open(f"/proc/{rec['pid']}/stat", encoding="utf-8") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def children(pid: int) -> list[int]:
    """Direct children of a process (from /proc/PID/task/*/children)."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="utf-8") as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            continue
    return kids


def stop(records: list[dict[str, Any]], timeout: float, label: str = "") -> None:
    """SIGTERM every live recorded process, wait up to ``timeout`` s in total, then SIGKILL."""
    live = [r for r in records if alive(r)]
    for rec in live:
        try:
            os.kill(rec["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(r) for r in live):
        _reap()
        time.sleep(0.2)
    for rec in live:
        if alive(rec):
            say(f"   {label}{rec.get('what', '')} pid {rec['pid']}: no exit after "
                f"{timeout:.0f} s, SIGKILL")
            try:
                os.kill(rec["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(r) for r in live):
        _reap()
        time.sleep(0.1)


def _reap() -> None:
    """Collect exited children of this process (when ``up`` started them in the same run)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def spawn(
    cmd: Sequence[str],
    log_path: str,
    env: dict[str, str] | None = None,
    preexec: Any = None,
) -> int:
    """Start a long-running process detached (own session, stdin /dev/null, output to a log)."""
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        p = subprocess.Popen(
            list(cmd),
            stdin=devnull,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=preexec is None,
            preexec_fn=preexec,
            close_fds=True,
        )
    return p.pid


def die(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr, flush=True)
    raise SystemExit(1)
