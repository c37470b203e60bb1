"""The Docker CLI calls of the stand-in agent (what Mesos's docker containerizer does)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

TASK_LABEL = "pyinfra-mesos.task"
FRAMEWORK_LABEL = "pyinfra-mesos.framework"
AGENT_LABEL = "pyinfra-mesos.agent"
SPEC_LABEL = "pyinfra-mesos.spec"  # the TaskSpec, so a restarted agent can recover the task


def container_name(task_id: str) -> str:
    return "mesos-" + re.sub(r"[^a-zA-Z0-9_.-]", "-", task_id)


class Docker:
    def __init__(self, binary: str, socket: str) -> None:
        # Mesos always passes -H with --docker_socket; do the same so the flag means something.
        self.base = [binary, "-H", f"unix://{socket}"]

    def _run(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.base + args, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def check(self) -> str | None:
        """None when the daemon answers `docker info`, else the reason."""
        try:
            proc = self._run(["info", "--format", "{{.ServerVersion}}"], timeout=20)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"Failed to execute '{' '.join(self.base)} info': {exc}"
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            return f"'{' '.join(self.base)} info' exited with status {proc.returncode}: " + (
                detail[-1] if detail else ""
            )
        return None

    def run_args(self, agent_id: str, framework_id: str, spec: dict[str, Any],
                 cfs: bool) -> list[str]:  # fmt: skip
        name = container_name(str(spec["id"]))
        args = ["run", "-d", "--name", name,
                "--label", f"{TASK_LABEL}={spec['id']}",
                "--label", f"{FRAMEWORK_LABEL}={framework_id}",
                "--label", f"{AGENT_LABEL}={agent_id}",
                "--label", f"{SPEC_LABEL}={json.dumps(spec, sort_keys=True)}"]  # fmt: skip
        if (spec.get("network") or "BRIDGE").upper() == "HOST":
            args.append("--net=host")
        else:
            for m in spec.get("port_mappings") or []:
                proto = str(m.get("protocol") or "tcp")
                args += ["-p", f"{int(m['host_port'])}:{int(m['container_port'])}/{proto}"]
        env = {"MESOS_TASK_ID": str(spec["id"]), "MESOS_CONTAINER_NAME": name}
        env.update({str(k): str(v) for k, v in (spec.get("env") or {}).items()})
        for k, v in env.items():
            args += ["-e", f"{k}={v}"]
        cpus = float(spec.get("cpus") or 0)
        if cpus > 0:
            # Mesos sets cpu shares always and a CFS quota only with --cgroups_enable_cfs.
            args.append(f"--cpu-shares={max(2, int(cpus * 1024))}")
            if cfs:
                args.append(f"--cpus={cpus}")
        mem = float(spec.get("mem") or 0)
        if mem > 0:
            args += ["-m", f"{max(6, int(mem))}m"]
        if spec.get("cmd"):
            # Marathon's `cmd` runs through a shell, as Mesos's docker containerizer does.
            args += ["--entrypoint", "/bin/sh", str(spec["image"]), "-c", str(spec["cmd"])]
        else:
            args.append(str(spec["image"]))
            args += [str(a) for a in spec.get("args") or []]
        return args

    def run(self, args: list[str], timeout: float) -> tuple[bool, str]:
        try:
            proc = self._run(args, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, f"docker run did not finish within {timeout:.0f}s"
        except OSError as exc:
            return False, str(exc)
        return proc.returncode == 0, (proc.stdout if proc.returncode == 0 else proc.stderr).strip()

    def inspect(self, name: str) -> dict[str, Any] | None:
        try:
            proc = self._run(["inspect", name], timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if proc.returncode != 0:
            return None
        data = json.loads(proc.stdout or "[]")
        return data[0] if data else None

    def containers(self, agent_id: str | None) -> list[str]:
        """Names of containers this agent (or any stand-in agent, before it has an id) ran."""
        label = f"{AGENT_LABEL}={agent_id}" if agent_id else TASK_LABEL
        try:
            proc = self._run(["ps", "-a", "--filter", f"label={label}",
                              "--format", "{{.Names}}"], timeout=20)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return []
        return [n for n in proc.stdout.split() if n] if proc.returncode == 0 else []

    def remove(self, name: str, grace_s: int) -> None:
        try:
            self._run(["stop", "-t", str(grace_s), name], timeout=grace_s + 30)
            self._run(["rm", "-f", name], timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass


def task_state(info: dict[str, Any] | None) -> tuple[str, str]:
    """(Mesos task state, message) from `docker inspect` output."""
    if info is None:
        return "TASK_FAILED", "Container disappeared"
    st = info.get("State") or {}
    status = st.get("Status")
    if status in ("running", "restarting", "paused"):
        return "TASK_RUNNING", ""
    if status == "created":
        return "TASK_STARTING", ""
    code = int(st.get("ExitCode") or 0)
    if status == "exited" and code == 0:
        return "TASK_FINISHED", "Container exited with status 0"
    return "TASK_FAILED", f"Container exited with status {code} {st.get('Error') or ''}".strip()
