"""The benchmark's figures, the issue's goals, the table for people and the JSON for machines.

Goals (issue 13, "as ratios measured in one run"), each ``figure <= factor x floor (+ plus)``:

- bare deploy <= 1.25x the floor (the slowest host installing its packages and images)
- no-op re-run (median) <= 3x pyinfra's floor (``pyinfra INVENTORY exec -- true``, median)
- adding one agent <= 1.2x that agent's own floor plus a no-op (median)
- no-op at 10 hosts <= 1.3x the no-op of the smallest cluster; beyond twice the smallest
  cluster, sub-linear growth: the no-op grows by less than the host count (factor N / N0)

JSON (``FORMAT``; keys are stable, a figure that was not measured is null)::

    {"format": "pyinfra-mesos-bench/1", "started_utc": "...", "seconds": total,
     "machine": {"cpus": int, "memory_gb": float, "kernel": str}, "sources": str,
     "noop_runs": int,
     "clusters": [{"label": "5" | "10" | "max", "hosts": int,
                   "figures": {FIGURES key: seconds | null},
                   "noop_runs": [s, ...], "pyinfra_floor_runs": [s, ...],
                   "floor_hosts": {host: {"seconds", "stages": {stage: s}, "packages",
                                          "images"}},
                   "agent_floor_host": {same shape, one host},
                   "slowest_operations": [{"index", "name", "seconds", "serial", "hosts"}],
                   "failures": [{"step": str, "message": str}]}],
     "goals": [{"label", "hosts", "goal", "figure", "seconds", "floor_figure",
                "floor_seconds", "plus_seconds", "factor", "ratio", "limit_seconds",
                "met": true | false | null}],
     "max_hosts": {"asked": bool, "booted": int | null, "stopped_by": str | null}}
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "pyinfra-mesos-bench/1"

# key -> label, in table order.
FIGURES: dict[str, str] = {
    "sandbox_up": "sandbox up (fresh hosts)",
    "floor": "floor: packages + images, slowest host",
    "bare_deploy": "bare deploy",
    "bare_planning": "  of which before the first operation",
    "noop_median": "no-op re-run, median",
    "noop_min": "  no-op fastest",
    "noop_max": "  no-op slowest",
    "pyinfra_floor_median": "pyinfra floor (exec -- true), median",
    "agent_floor": "one agent's floor, alone",
    "add_agent": "add one agent (sandbox up excluded)",
}


@dataclass(frozen=True)
class Goal:
    """``figure <= factor * floor_figure (+ plus_figure)``, all within one cluster."""

    text: str
    figure: str
    floor_figure: str
    factor: float
    plus_figure: str | None = None


GOALS = (
    Goal("bare deploy <= 1.25x floor", "bare_deploy", "floor", 1.25),
    Goal("no-op <= 3x pyinfra floor", "noop_median", "pyinfra_floor_median", 3.0),
    Goal("add agent <= 1.2x its floor + a no-op", "add_agent", "agent_floor", 1.2,
         "noop_median"),
)
SCALING_FACTOR = 1.3


@dataclass
class ClusterResult:
    """One host count's measurements (shapes as in the module's JSON description)."""

    label: str
    hosts: int
    figures: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(FIGURES))
    noop_runs: list[float] = field(default_factory=list)
    pyinfra_floor_runs: list[float] = field(default_factory=list)
    floor_hosts: dict[str, Any] = field(default_factory=dict)
    agent_floor_host: dict[str, Any] = field(default_factory=dict)
    slowest_operations: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    def fail(self, step: str, message: str) -> None:
        self.failures.append({"step": step, "message": message})

    def set_runs(self, noop: Sequence[float], pyinfra_floor: Sequence[float]) -> None:
        """Record the repeated runs and their median/min/max figures (seconds)."""
        self.noop_runs = [round(s, 3) for s in noop]
        self.pyinfra_floor_runs = [round(s, 3) for s in pyinfra_floor]
        if noop:
            self.figures["noop_median"] = round(statistics.median(noop), 3)
            self.figures["noop_min"] = round(min(noop), 3)
            self.figures["noop_max"] = round(max(noop), 3)
        if pyinfra_floor:
            self.figures["pyinfra_floor_median"] = round(statistics.median(pyinfra_floor), 3)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "hosts": self.hosts,
                "figures": {k: self.figures.get(k) for k in FIGURES},
                "noop_runs": self.noop_runs, "pyinfra_floor_runs": self.pyinfra_floor_runs,
                "floor_hosts": self.floor_hosts, "agent_floor_host": self.agent_floor_host,
                "slowest_operations": self.slowest_operations, "failures": self.failures}


def _goal_row(cluster: Mapping[str, Any], text: str, figure: str, floor_figure: str,
              factor: float, floor_seconds: float | None, plus_seconds: float | None,
              plus_needed: bool) -> dict[str, Any]:
    value = cluster["figures"].get(figure)
    row: dict[str, Any] = {"label": cluster["label"], "hosts": cluster["hosts"], "goal": text,
                           "figure": figure, "seconds": value, "floor_figure": floor_figure,
                           "floor_seconds": floor_seconds, "plus_seconds": plus_seconds,
                           "factor": round(factor, 3), "ratio": None, "limit_seconds": None,
                           "met": None}
    if value is None or not floor_seconds or (plus_needed and plus_seconds is None):
        return row
    # Milliseconds are the figures' precision: a figure at its limit meets it.
    limit = round(factor * floor_seconds + (plus_seconds or 0.0), 3)
    row.update(ratio=round(value / floor_seconds, 3), limit_seconds=limit,
               met=round(value, 3) <= limit)
    return row


def evaluate_goals(clusters: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per goal and cluster (JSON shape of the module docstring); ``met`` is None when
    a figure it needs was not measured. ``clusters`` are ``ClusterResult.to_json()`` dicts,
    smallest first: the scaling goal compares each later cluster's no-op with the first's."""
    rows: list[dict[str, Any]] = []
    base = clusters[0] if clusters else None
    for cluster in clusters:
        figures = cluster["figures"]
        for goal in GOALS:
            plus = figures.get(goal.plus_figure) if goal.plus_figure else None
            rows.append(_goal_row(cluster, goal.text, goal.figure, goal.floor_figure,
                                  goal.factor, figures.get(goal.floor_figure), plus,
                                  goal.plus_figure is not None))
        if base is not None and cluster is not base and base["hosts"]:
            growth = cluster["hosts"] / base["hosts"]
            if growth <= 2:
                factor = SCALING_FACTOR
                text = f"no-op <= {SCALING_FACTOR}x the no-op at {base['hosts']} hosts"
            else:
                factor = growth
                text = (f"no-op grows sub-linearly: <= {growth:.2f}x the no-op at "
                        f"{base['hosts']} hosts")
            rows.append(_goal_row(cluster, text, "noop_median",
                                  f"noop_median at {base['label']}", factor,
                                  base["figures"].get("noop_median"), None, False))
    return rows


def _fmt(seconds: float | None) -> str:
    """Tenths of a second; hundredths under 10 s (pyinfra's own floor is under a second)."""
    if seconds is None:
        return "n/a"
    return f"{seconds:.2f}" if abs(seconds) < 10 else f"{seconds:.1f}"


def _columns(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
    return out


def render_table(doc: Mapping[str, Any], slowest: int = 10) -> str:
    """The table for people: per cluster, every figure with its ratio and goal where the issue
    sets one, then the slowest operations of the bare deploy, failures, the max-hosts note."""
    goals: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for goal in doc["goals"]:
        goals.setdefault((goal["label"], goal["figure"]), []).append(goal)
    rows: list[list[str]] = [["hosts", "figure", "seconds", "ratio", "goal", "met"]]
    for cluster in doc["clusters"]:
        hosts = str(cluster["hosts"]) + (" (max)" if cluster["label"] == "max" else "")
        for key, label in FIGURES.items():
            value = cluster["figures"].get(key)
            attached = goals.get((cluster["label"], key), [])
            if not attached:
                rows.append([hosts, label, _fmt(value), "", "", ""])
            for index, goal in enumerate(attached):
                ratio = "" if goal["ratio"] is None else f"{goal['ratio']:.2f}x"
                limit = "" if goal["limit_seconds"] is None else f" ({goal['limit_seconds']:.1f} s)"
                met = {True: "yes", False: "NO", None: "n/a"}[goal["met"]]
                rows.append([hosts, label if index == 0 else "  (scaling)", _fmt(value), ratio,
                             goal["goal"] + limit, met])
    lines = ["== benchmark (seconds; ratio = figure / its floor)"]
    lines += _columns(rows, right=(2, 3))
    for cluster in doc["clusters"]:
        ops = cluster["slowest_operations"][:slowest]
        if ops:
            lines.append("")
            lines.append(f"== the {len(ops)} slowest operations of the bare deploy, "
                         f"{cluster['hosts']} hosts")
            op_rows = [["seconds", "operation"]]
            op_rows += [[f"{op['seconds']:.1f}", op["name"] + (" [serial]" if op["serial"]
                                                               else "")] for op in ops]
            lines += _columns(op_rows, right=(0,))
        for failure in cluster["failures"]:
            lines.append(f"FAILED at {cluster['hosts']} hosts: {failure['step']}: "
                         f"{failure['message']}")
    max_hosts = doc.get("max_hosts") or {}
    if max_hosts.get("asked"):
        lines.append("")
        lines.append(f"max hosts: {max_hosts.get('booted')} booted; stopped by: "
                     f"{max_hosts.get('stopped_by') or 'nothing (the cap was reached)'}")
    return "\n".join(lines) + "\n"


def build_document(clusters: Sequence[ClusterResult], started_utc: str, seconds: float,
                   machine: Mapping[str, Any], sources: str, noop_runs: int,
                   max_hosts: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document of a run (shape in the module docstring)."""
    as_json = [c.to_json() for c in clusters]
    return {"format": FORMAT, "started_utc": started_utc, "seconds": round(seconds, 1),
            "machine": dict(machine), "sources": sources, "noop_runs": noop_runs,
            "clusters": as_json, "goals": evaluate_goals(as_json),
            "max_hosts": {"asked": bool(max_hosts.get("asked")),
                          "booted": max_hosts.get("booted"),
                          "stopped_by": max_hosts.get("stopped_by")}}


class ReportError(ValueError):
    """A file given to --compare is not a benchmark document (one line)."""


def load_document(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read a benchmark document: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ReportError(f"{path}: format: not {FORMAT!r}")
    return doc


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Per cluster label and figure: old, new, difference (seconds and %), and goals whose
    verdict changed. Clusters are matched by label ("5", "10", "max")."""
    def by_label(doc: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        return {c["label"]: c for c in doc.get("clusters", [])}

    olds, news = by_label(old), by_label(new)
    rows = [["cluster", "figure", "old s", "new s", "diff s", "diff %"]]
    for label in list(dict.fromkeys([*olds, *news])):
        o, n = olds.get(label), news.get(label)
        name = label
        if o and n and o["hosts"] != n["hosts"]:
            name = f"{label} ({o['hosts']} -> {n['hosts']} hosts)"
        for key, text in FIGURES.items():
            a = (o or {}).get("figures", {}).get(key)
            b = (n or {}).get("figures", {}).get(key)
            if a is None and b is None:
                continue
            diff = "" if a is None or b is None else f"{b - a:+.1f}"
            pct = "" if a in (None, 0) or b is None else f"{100 * (b - a) / a:+.0f}%"
            rows.append([name, text.strip(), _fmt(a), _fmt(b), diff, pct])
    lines = [f"== {old.get('started_utc', '?')} -> {new.get('started_utc', '?')}"]
    lines += _columns(rows, right=(2, 3, 4, 5))
    verdicts = {(g["label"], g["goal"]): g["met"] for g in old.get("goals", [])}
    for goal in new.get("goals", []):
        before = verdicts.get((goal["label"], goal["goal"]))
        if (goal["label"], goal["goal"]) in verdicts and before != goal["met"]:
            lines.append(f"goal at {goal['label']}: {goal['goal']}: met {before} -> "
                         f"{goal['met']}")
    return "\n".join(lines) + "\n"
