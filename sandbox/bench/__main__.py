"""``python -m sandbox.bench [--hosts 5,10,max] [--noop-runs 5] [--max-hosts 24]
[--json build/bench.json] [--compare OLD.json [--against NEW.json]]``

As root, on a machine with no sandbox up (it makes and removes its own, as the e2e tier does).
Prints the table (sandbox/bench/report.py) and writes the JSON document. ``--compare OLD``
prints the differences from an earlier run after this one; with ``--against NEW`` it compares
two documents and runs nothing. Exit: 0 all measured, 1 a step failed (the table says which),
2 bad arguments or a machine that cannot run it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from sandbox.bench import report
from sandbox.bench.grow import parse_host_counts
from sandbox.invfile import load_inventory
from sandbox.sources import SourcesError, describe, mode_from_env

DEFAULT_JSON = Path("build/bench.json")


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m sandbox.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", default="5,10,max",
                    help="host counts, growing; 'max' (last) = as many as the machine boots")
    ap.add_argument("--noop-runs", type=int, default=5,
                    help="no-op re-runs and `pyinfra exec -- true` runs per cluster (median)")
    ap.add_argument("--max-hosts", type=int, default=24,
                    help="the largest cluster 'max' tries (it boots one more for the floor)")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where the JSON goes")
    ap.add_argument("--compare", type=Path, help="an earlier run's JSON to compare with")
    ap.add_argument("--against", type=Path,
                    help="with --compare: compare with this JSON and run nothing")
    return ap.parse_args(argv)


def _machine() -> dict[str, object]:
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_gb": memory_gb, "kernel": os.uname().release}


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # SystemExit unwinds through the runner's `finally`, which brings the sandbox down.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    problems: list[str] = []
    try:
        counts = parse_host_counts(args.hosts)
    except ValueError as exc:
        problems.append(str(exc))
        counts = []
    if args.noop_runs < 1:
        problems.append("--noop-runs: at least 1")
    old = None
    if args.compare:
        try:
            old = report.load_document(args.compare)
        except report.ReportError as exc:
            problems.append(str(exc))
    if args.against and not args.compare:
        problems.append("--against: only with --compare OLD.json")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.against:
        try:
            new = report.load_document(args.against)
        except report.ReportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(report.compare(old or {}, new), end="")
        return 0
    return _run(args, counts, old)


def _run(args: argparse.Namespace, counts: list[int | str],
         old: dict[str, Any] | None) -> int:
    # Imported here: they pull in the e2e tier (pytest, testinfra), not needed by --against.
    from sandbox.bench.runner import MaxProbe, run_all
    from tests.e2e.test_sandbox_e2e import (
        SANDBOX_INVENTORY,
        preflight_problems,
        sandbox_in_use,
    )

    base = len(load_inventory(SANDBOX_INVENTORY).hosts)
    problems = list(preflight_problems())
    try:
        sources = describe(mode_from_env())
    except SourcesError as exc:
        problems.append(str(exc))
        sources = ""
    small = [c for c in counts if isinstance(c, int) and c < base]
    if small:
        problems.append(f"--hosts: {small[0]} is below the sandbox inventory's {base} hosts")
    if args.max_hosts < base:
        problems.append(f"--max-hosts: at least {base}")
    busy = sandbox_in_use(load_inventory(SANDBOX_INVENTORY).sandbox)
    if busy:
        problems.append(f"a sandbox is up on this machine ({busy}); the benchmark makes and "
                        "removes its own hosts. Bring it down first: "
                        "python -m sandbox down inventory/sandbox.py")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    print(sources, flush=True)
    started_utc = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    started = time.monotonic()
    def save(results: list[report.ClusterResult], probe: MaxProbe) -> dict[str, Any]:
        """Write the document of what is measured so far (after every cluster, and at the end)."""
        doc = report.build_document(results, started_utc, time.monotonic() - started,
                                    _machine(), sources, args.noop_runs,
                                    {"asked": probe.asked, "booted": probe.booted,
                                     "stopped_by": probe.stopped_by})
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return doc

    results, probe, ending = run_all(counts, args.noop_runs, args.max_hosts, save)
    doc = save(results, probe)
    print()
    print(report.render_table(doc), end="")
    for line in ending:
        print(f"error: {line}")
    print(f"(written to {args.json}; logs in build/bench-logs/)")
    if old is not None:
        print()
        print(report.compare(old, doc), end="")
    failed = ending or any(c.failures for c in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
