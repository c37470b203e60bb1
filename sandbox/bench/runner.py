"""The benchmark's sandbox phases, always ending with the sandbox down.

Per host count N (the sandbox inventory grown with agent lines, sandbox/bench/grow.py):

A. floors: ``sandbox up`` of N hosts plus one more agent; the extra agent's floor alone (the
   others idle), then the N hosts' floor all at once (sandbox/bench/floor.py); ``down``.
B. deploys: ``sandbox up`` of N fresh hosts (timed); the bare deploy (timed, with operation
   timings); R no-op re-runs (each must change nothing); R times ``pyinfra exec -- true``; one
   more agent line, ``sandbox up`` (boots only it), the deploy (timed: adding an agent); ``down``.

"max": first the probe, ``up`` one more agent at a time from the largest given count until
``up`` fails or the cap is reached (the reason it failed is kept: ``up``'s error lines, the
failing host's nspawn.log, inotify use), ``down``; then A and B with one host fewer than booted.

Reused from the e2e tier (tests/e2e/test_sandbox_e2e.py): ``preflight_problems``,
``sandbox_in_use`` (refuse to start next to a running sandbox), ``leftovers`` (prove ``down``
left nothing), the inventory copy under a temporary directory with the same file name and
SANDBOX, ``parse_pyinfra_results`` for the no-op check. A step that fails ends its cluster (the
failure is reported); a ``down`` that fails or leaves anything ends the whole run.
"""

from __future__ import annotations

import compileall
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyinfra_mesos.apps import load_apps
from pyinfra_mesos.floor import app_images
from pyinfra_mesos.inventory_loader import load_inventory as load_pyinfra_inventory
from pyinfra_mesos.topology import Topology, topology_from_inventory
from sandbox import config
from sandbox.bench.floor import measure_floor
from sandbox.bench.grow import grown_inventory
from sandbox.bench.optimes import parse_operation_times
from sandbox.bench.report import ClusterResult
from sandbox.bench.streamed import Streamed, run_streamed
from sandbox.invfile import load_inventory as load_sandbox_inventory
from tests.e2e.helpers import (
    SummaryFormatError,
    describe_changes,
    parse_pyinfra_results,
    sandbox_name,
)
from tests.e2e.test_sandbox_e2e import (
    PROJECT_ROOT,
    PYINFRA,
    PYTHON,
    SANDBOX_DOWN_TIMEOUT_S,
    SANDBOX_INVENTORY,
    SANDBOX_UP_TIMEOUT_S,
    leftovers,
)

# Upper bounds, not expectations (seconds).
DEPLOY_TIMEOUT_S = 2400
NOOP_TIMEOUT_S = 600
EXEC_TIMEOUT_S = 300
FLOOR_TIMEOUT_S = 1800
LOG_DIR = PROJECT_ROOT / "build" / "bench-logs"
NSPAWN_LOG_LINES = 5


class BenchAborted(Exception):
    """The machine is not clean after a ``down``: nothing more may run (one line)."""


@dataclass
class MaxProbe:
    asked: bool = False
    booted: int | None = None
    stopped_by: str | None = None


def inotify_in_use() -> int:
    """inotify instances open on this machine now (fds that are ``anon_inode:inotify``)."""
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                    count += 1
            except OSError:
                continue
    return count


def up_failure_reason(output: str, host_dirs: dict[str, Path]) -> str:
    """Why ``sandbox up`` failed, in a few lines: its ``error:`` lines, the last lines of the
    nspawn.log of each host it names, and the inotify instances in use against the limit."""
    lines = [line.strip() for line in output.splitlines()
             if line.strip().startswith(("error:", "NOTE:"))]
    for name, directory in host_dirs.items():
        if name not in output:
            continue
        log = directory / "nspawn.log"
        try:
            tail = [t for t in log.read_text(errors="replace").splitlines() if t.strip()]
        except OSError:
            continue
        lines += [f"{name} nspawn.log: {t.strip()}" for t in tail[-NSPAWN_LOG_LINES:]]
    try:
        limit = Path("/proc/sys/fs/inotify/max_user_instances").read_text().strip()
    except OSError:
        limit = "?"
    lines.append(f"inotify instances in use: {inotify_in_use()} (max_user_instances {limit})")
    return " | ".join(lines) if lines else "sandbox up failed without an error line"


class Bench:
    """One benchmark run on a copy of the sandbox inventory (same SANDBOX)."""

    def __init__(self, noop_runs: int, max_cap: int, log_dir: Path = LOG_DIR) -> None:
        self.base_text = SANDBOX_INVENTORY.read_text()
        self.sandbox = sandbox_name(self.base_text)
        self.base_names = load_sandbox_inventory(SANDBOX_INVENTORY).hosts
        self.noop_runs = noop_runs
        self.max_cap = max_cap
        self.log_dir = log_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="pyinfra-mesos-bench-"))
        # Same file name: it is a pyinfra group (`sandbox`) that group_data may address.
        self.inventory = self.workdir / SANDBOX_INVENTORY.name
        self.names: list[str] = []
        self.up_since_down = False
        self.probe = MaxProbe()

    # -- commands --------------------------------------------------------------------------

    def write_inventory(self, total: int) -> list[str]:
        """The copy names ``total`` hosts; returns the agents added to the base inventory."""
        text, added = grown_inventory(self.base_text, self.base_names, total)
        self.inventory.write_text(text)
        self.names = [*self.base_names, *added]
        return added

    def up(self, step: str) -> Streamed:
        self.up_since_down = True
        return run_streamed(step, [PYTHON, "-m", "sandbox", "up", str(self.inventory)],
                            SANDBOX_UP_TIMEOUT_S, self.log_dir)

    def down(self, step: str) -> None:
        """``sandbox down`` then the e2e's leftover check; BenchAborted unless all is gone."""
        result = run_streamed(step, [PYTHON, "-m", "sandbox", "down", str(self.inventory)],
                              SANDBOX_DOWN_TIMEOUT_S, self.log_dir)
        left = leftovers(self.sandbox, self.names)
        if result.rc != 0 or left:
            raise BenchAborted(f"sandbox down exit {result.rc} (log: {result.log}); left "
                               f"behind: {left or 'nothing'}")
        self.up_since_down = False

    def pyinfra(self, step: str, args: list[str], timeout_s: float) -> Streamed:
        return run_streamed(step, [PYINFRA, "-y", str(self.inventory), *args], timeout_s,
                            self.log_dir)

    def topology(self) -> Topology:
        inventory = load_pyinfra_inventory(str(self.inventory))
        if not hasattr(inventory, "get_group"):
            raise RuntimeError(f"cannot load {self.inventory}: {inventory}")
        return topology_from_inventory(inventory)

    def host_dirs(self) -> dict[str, Path]:
        return {n: config.state_dir(self.sandbox) / "hosts" / n for n in self.names}

    # -- phases ----------------------------------------------------------------------------

    def cluster(self, result: ClusterResult) -> None:
        """Phases A and B for ``result.hosts`` hosts; figures and failures go into ``result``
        as they are measured (so an interrupted run keeps them)."""
        tag = f"h{result.hosts}"
        for phase, step in ((self.floors, "floor"), (self.deploys, "deploy")):
            try:
                phase(result, tag)
            except BenchAborted:
                raise
            except Exception as exc:  # noqa: BLE001 - recorded; the sandbox still goes down
                result.fail(f"{step} phase", f"{type(exc).__name__}: {exc}")
            finally:
                if self.up_since_down:
                    self.down(f"{tag}-{step}-down")

    def _ok(self, result: ClusterResult, what: str, run: Streamed) -> bool:
        if run.rc == 0:
            return True
        state = "timed out" if run.rc is None else f"exit {run.rc}"
        last = run.tail(3).replace("\n", " | ")
        result.fail(what, f"{state} after {run.seconds:.0f} s (log: {run.log}): {last}")
        return False

    def floors(self, result: ClusterResult, tag: str) -> None:
        extra = self.write_inventory(result.hosts + 1)[-1]
        if not self._ok(result, "sandbox up (floor hosts)", self.up(f"{tag}-floor-up")):
            return
        topo = self.topology()
        apps_dir = str(topo.all_members[0].data.get("apps_dir", "apps"))
        loaded, _ = load_apps(str(PROJECT_ROOT / apps_dir))
        images = app_images([app.app for app in loaded])
        alone = measure_floor(topo, [extra], images, FLOOR_TIMEOUT_S)
        result.agent_floor_host = alone.hosts
        result.figures["agent_floor"] = alone.seconds
        for name, error in alone.errors.items():
            result.fail(f"agent floor ({name})", error)
        cluster_names = [n for n in self.names if n != extra]
        together = measure_floor(topo, cluster_names, images, FLOOR_TIMEOUT_S)
        result.floor_hosts = together.hosts
        result.figures["floor"] = together.seconds
        for name, error in together.errors.items():
            result.fail(f"floor ({name})", error)

    def deploys(self, result: ClusterResult, tag: str) -> None:
        self.write_inventory(result.hosts)
        up = self.up(f"{tag}-up")
        if not self._ok(result, "sandbox up", up):
            return
        result.figures["sandbox_up"] = round(up.seconds, 3)
        bare = self.pyinfra(f"{tag}-bare-deploy", ["deploy.py"], DEPLOY_TIMEOUT_S)
        timings = parse_operation_times(bare.lines, bare.seconds)
        result.slowest_operations = [
            {"index": op.index, "name": op.name, "seconds": op.seconds, "serial": op.serial,
             "hosts": op.hosts} for op in timings.slowest(10)]
        if not self._ok(result, "bare deploy", bare):
            return
        result.figures["bare_deploy"] = round(bare.seconds, 3)
        if timings.planning_s is not None:
            result.figures["bare_planning"] = round(timings.planning_s, 3)
        noops: list[float] = []
        for index in range(1, self.noop_runs + 1):
            run = self.pyinfra(f"{tag}-noop-{index}", ["deploy.py"], NOOP_TIMEOUT_S)
            if not self._ok(result, f"no-op re-run {index}", run):
                return
            noops.append(run.seconds)
            self._require_no_changes(result, f"no-op re-run {index}", run)
        floors: list[float] = []
        for index in range(1, self.noop_runs + 1):
            run = self.pyinfra(f"{tag}-exec-{index}", ["exec", "--", "true"], EXEC_TIMEOUT_S)
            if not self._ok(result, f"pyinfra exec -- true {index}", run):
                return
            floors.append(run.seconds)
        result.set_runs(noops, floors)
        self.write_inventory(result.hosts + 1)
        if not self._ok(result, "sandbox up (+1 agent)", self.up(f"{tag}-up-agent")):
            return
        added = self.pyinfra(f"{tag}-add-agent", ["deploy.py"], DEPLOY_TIMEOUT_S)
        if self._ok(result, "add one agent", added):
            result.figures["add_agent"] = round(added.seconds, 3)

    def _require_no_changes(self, result: ClusterResult, what: str, run: Streamed) -> None:
        try:
            summary = parse_pyinfra_results(run.output)
        except SummaryFormatError as exc:
            result.fail(what, str(exc))
            return
        if summary.total.changed or summary.total.errors:
            result.fail(what, "not a no-op: " + describe_changes(summary).strip().replace(
                "\n", ";"))

    def probe_max(self, start: int) -> int | None:
        """Boot ``start`` hosts, then one more agent per ``up``, until ``up`` fails or the cap
        (plus the extra agent of phase A) is booted; returns the largest cluster size whose
        phase A fits (booted - 1), None when not even ``start`` booted."""
        self.probe.asked = True
        total = start
        booted = 0
        try:
            while total <= self.max_cap + 1:
                self.write_inventory(total)
                run = self.up(f"max-probe-{total}")
                if run.rc != 0:
                    reason = up_failure_reason(run.output, self.host_dirs())
                    self.probe.stopped_by = f"sandbox up of host {total}: {reason}"
                    break
                booted = total
                total += 1
        finally:
            if self.up_since_down:
                self.down("max-probe-down")
        self.probe.booted = booted or None
        return booted - 1 if booted else None

    def cleanup(self) -> None:
        """Always: the sandbox down (if anything was brought up), the temporary copy removed."""
        try:
            if self.up_since_down:
                self.down("final-down")
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def run_all(counts: list[int | str], noop_runs: int, max_cap: int,
            on_cluster: Callable[[list[ClusterResult], MaxProbe], None] | None = None,
            ) -> tuple[list[ClusterResult], MaxProbe, list[str]]:
    """Every requested cluster; returns (results, the max probe, run-ending problems).

    ``on_cluster`` is called after each cluster (the caller saves what is measured so far: a
    run takes an hour). Ctrl-C or SIGTERM (SystemExit from the caller's handler) ends the run
    after the sandbox is down, with what was measured.
    """
    bench = Bench(noop_runs, max_cap)
    # The no-op runs are an operator's later runs: their Python wrote the package's bytecode
    # on the first one (pyinfra's own came with its install). This machine sets
    # PYTHONDONTWRITEBYTECODE, so without this every run compiled the package again (0.1 s).
    compileall.compile_dir(str(PROJECT_ROOT / "pyinfra_mesos"), quiet=1)
    results: list[ClusterResult] = []
    problems: list[str] = []
    smallest = len(bench.base_names)
    started = time.monotonic()
    try:
        for count in counts:
            if count == "max":
                largest = max([c for c in counts if isinstance(c, int)], default=smallest)
                size = bench.probe_max(largest + 1)
                if size is None or size < smallest:
                    problems.append(f"max: no cluster of {smallest}+ hosts booted "
                                    f"({bench.probe.stopped_by})")
                    continue
                results.append(ClusterResult("max", size))
            else:
                results.append(ClusterResult(str(count), int(count)))
            bench.cluster(results[-1])
            print(f"[bench] {time.monotonic() - started:.0f} s so far", flush=True)
            if on_cluster is not None:
                on_cluster(results, bench.probe)
    except BenchAborted as exc:
        problems.append(f"stopped: {exc}")
    except (KeyboardInterrupt, SystemExit) as exc:
        problems.append(f"interrupted ({type(exc).__name__}); the figures so far are kept")
    finally:
        try:
            bench.cleanup()
        except BenchAborted as exc:
            problems.append(f"teardown: {exc}")
    return results, bench.probe, problems


__all__ = ["Bench", "BenchAborted", "MaxProbe", "run_all", "up_failure_reason"]
