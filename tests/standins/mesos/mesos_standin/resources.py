"""Mesos resource and attribute strings: `cpus:2;mem:1024;ports:[31000-32000]`, `k:v;k2:v2`."""

from __future__ import annotations

import os
import re
import shutil
from typing import Any

Ranges = list[tuple[int, int]]


def parse_ranges(text: str) -> Ranges:
    """'[31000-31005, 31010-31010]' -> [(31000, 31005), (31010, 31010)]."""
    body = text.strip().strip("[]").strip()
    out: Ranges = []
    for part in filter(None, (p.strip() for p in body.split(","))):
        lo, _, hi = part.partition("-")
        out.append((int(lo), int(hi or lo)))
    return sorted(out)


def format_ranges(ranges: Ranges) -> str:
    return "[" + ", ".join(f"{lo}-{hi}" for lo, hi in merge(ranges)) + "]"


def merge(ranges: Ranges) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def parse_resources(text: str | None) -> dict[str, Any]:
    """Scalars become floats, ranges stay strings (the /state shape); roles `cpus(*)` are
    dropped because the stand-in has no reservations."""
    out: dict[str, Any] = {}
    if not text:
        return out
    for item in filter(None, (i.strip() for i in text.split(";"))):
        name, _, value = item.partition(":")
        name = re.sub(r"\(.*\)$", "", name.strip())
        value = value.strip()
        if value.startswith("["):
            out[name] = format_ranges(parse_ranges(value))
        else:
            out[name] = float(value)
    return out


def parse_attributes(text: str | None) -> dict[str, Any]:
    """Attributes as /state shows them: numbers as numbers, text as text."""
    out: dict[str, Any] = {}
    if not text:
        return out
    for item in filter(None, (i.strip() for i in text.split(";"))):
        name, _, value = item.partition(":")
        value = value.strip()
        try:
            out[name.strip()] = float(value) if "." in value else int(value)
        except ValueError:
            out[name.strip()] = value
    return out


def default_resources(work_dir: str) -> dict[str, Any]:
    """What Mesos would detect: all cpus, memory minus 1 GB (or half), disk minus 5 GB (or
    half), ports [31000-32000]."""
    cpus = float(os.cpu_count() or 1)
    mem_mb = _total_memory_mb()
    mem = mem_mb - 1024 if mem_mb >= 2048 else mem_mb / 2
    try:
        disk_mb = shutil.disk_usage(work_dir).total / 2**20
    except OSError:
        disk_mb = 10240.0
    disk = disk_mb - 5120 if disk_mb >= 10240 else disk_mb / 2
    return {"cpus": cpus, "mem": float(int(mem)), "disk": float(int(disk)),
            "ports": "[31000-32000]"}  # fmt: skip


def agent_resources(flag: str | None, work_dir: str) -> dict[str, Any]:
    res = default_resources(work_dir)
    res.update(parse_resources(flag))  # given resources override the detected ones
    return res


def _total_memory_mb() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 2048.0


def zero_scalars() -> dict[str, float]:
    return {"disk": 0.0, "mem": 0.0, "gpus": 0.0, "cpus": 0.0}


def task_resources(spec: dict[str, Any]) -> dict[str, Any]:
    res: dict[str, Any] = zero_scalars()
    res["cpus"] = float(spec.get("cpus") or 0)
    res["mem"] = float(spec.get("mem") or 0)
    ports = [int(m["host_port"]) for m in spec.get("port_mappings") or [] if m.get("host_port")]
    if ports:
        res["ports"] = format_ranges([(p, p) for p in ports])
    return res


def add(total: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    out = dict(total)
    for k, v in more.items():
        if isinstance(v, str):
            have = parse_ranges(out[k]) if isinstance(out.get(k), str) else []
            out[k] = format_ranges(have + parse_ranges(v))
        else:
            out[k] = float(out.get(k, 0.0)) + float(v)
    return out
