"""mesos-init-wrapper turns /etc/default/mesos*, /etc/mesos/zk and /etc/mesos-<role>/<flag> into
the environment and flags, like the aventer-mesos wrapper. MESOS_WRAPPER_ROOT (a test hook
documented in the script) points it at a scratch tree instead of /."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WRAPPER = Path(__file__).parent / "mesos" / "package" / "mesos-init-wrapper"
REPO = Path(__file__).resolve().parents[2]
ECHO = """#!/bin/sh
for a in "$@"; do echo "ARG $a"; done
env | grep '^MESOS_' | grep -v '^MESOS_WRAPPER_ROOT=' | sed 's/^/ENV /' | sort
"""


def _tree(root: Path, role: str, binary: str) -> None:
    (root / "etc/default").mkdir(parents=True)
    (root / "etc/default/mesos").write_text("MESOS_LOGGING_LEVEL=WARNING\nMESOS_QUORUM=1\n")
    (root / f"etc/default/mesos-{role}").write_text("MESOS_QUORUM=2\n")  # role file wins
    (root / "etc/mesos").mkdir()
    (root / "etc/mesos/zk").write_text("zk://10.0.0.1:2181,10.0.0.2:2181/mesos\n")
    (root / f"etc/mesos-{role}").mkdir()
    (root / f"etc/mesos-{role}/work_dir").write_text("/var/lib/mesos\n")
    (root / f"etc/mesos-{role}/hostname").write_text("node one")  # spaces survive as one arg
    (root / "usr/bin").mkdir(parents=True)
    (root / f"usr/bin/mesos-{role}").write_text(binary)
    (root / f"usr/bin/mesos-{role}").chmod(0o755)


def _wrap(
    root: Path, role: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MESOS_")}
    clean.update(env or {}, MESOS_WRAPPER_ROOT=str(root))
    return subprocess.run(["sh", str(WRAPPER), role], env=clean, capture_output=True, text=True,
                          timeout=20, cwd=REPO)  # fmt: skip


def test_master_files_become_flags_and_env(tmp_path: Path) -> None:
    _tree(tmp_path, "master", ECHO)
    out = _wrap(tmp_path, "master").stdout.splitlines()
    assert "ARG --work_dir=/var/lib/mesos" in out
    assert "ARG --hostname=node one" in out
    assert "ENV MESOS_ZK=zk://10.0.0.1:2181,10.0.0.2:2181/mesos" in out
    assert "ENV MESOS_QUORUM=2" in out and "ENV MESOS_LOGGING_LEVEL=WARNING" in out
    assert not any(line.startswith("ENV MESOS_MASTER=") for line in out)


def test_agent_gets_master_from_etc_mesos_zk_unless_set(tmp_path: Path) -> None:
    _tree(tmp_path, "agent", ECHO)
    out = _wrap(tmp_path, "agent").stdout.splitlines()
    assert "ENV MESOS_MASTER=zk://10.0.0.1:2181,10.0.0.2:2181/mesos" in out
    (tmp_path / "etc/default/mesos-agent").write_text("MESOS_MASTER=10.0.0.9:5050\n")
    out = _wrap(tmp_path, "agent").stdout.splitlines()
    assert "ENV MESOS_MASTER=10.0.0.9:5050" in out


def test_wrapper_with_the_real_stand_in_rejects_unknown_flag_file(tmp_path: Path) -> None:
    binary = f'#!/bin/sh\nexec {sys.executable} -m tests.standins.mesos.mesos_standin.master "$@"\n'
    _tree(tmp_path, "master", binary)
    (tmp_path / "etc/mesos-master/bogus_flag").write_text("1")
    proc = _wrap(tmp_path, "master")
    assert proc.returncode == 1
    assert "Failed to load unknown flag 'bogus_flag'" in proc.stderr


def test_wrapper_usage() -> None:
    proc = subprocess.run(["sh", str(WRAPPER), "slave"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 2 and "master|agent" in proc.stderr
