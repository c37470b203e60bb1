"""mesos-init-wrapper behaves like aventer-mesos' wrapper (m3scluster/clusterd
support/packaging/common/mesos-init-wrapper.in, v1.11.0-0.6.0..HEAD): /etc/default/mesos* sourced
with allexport, a few plain variables mapped to flags, /etc/mesos-<role>/<flag> files (and `?flag`
toggles, agent attributes/ and resources/ directories) turned into flags, /etc/mesos/zk NOT read,
output through `logger` unless --no-logger. MESOS_WRAPPER_ROOT (a test hook documented in the
script) points it at a scratch tree instead of /."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WRAPPER = Path(__file__).parent / "mesos" / "package" / "mesos-init-wrapper"
REPO = Path(__file__).resolve().parents[2]
# Stands in for /usr/bin/mesos-<role>: prints its arguments, MESOS_* environment, open-file limit.
ECHO = """#!/bin/sh
for a in "$@"; do echo "ARG $a"; done
env | grep '^MESOS_' | grep -v '^MESOS_WRAPPER_ROOT=' | sed 's/^/ENV /' | sort
echo "NOFILE $(ulimit -n)"
"""
# A `logger` that appends what it is given (tag and lines) to $LOGGER_OUT.
FAKE_LOGGER = """#!/bin/sh
while IFS= read -r line; do echo "$*: $line" >> "$LOGGER_OUT"; done
"""


def _tree(root: Path, role: str, binary: str = ECHO) -> None:
    (root / "etc/default").mkdir(parents=True)
    (root / "etc/default/mesos").write_text("MESOS_LOGGING_LEVEL=WARNING\nMESOS_QUORUM=1\n")
    (root / f"etc/default/mesos-{role}").write_text("MESOS_QUORUM=2\n")  # role file wins
    (root / "etc/mesos").mkdir()
    (root / "etc/mesos/zk").write_text("zk://10.0.0.1:2181,10.0.0.2:2181/mesos\n")
    (root / f"etc/mesos-{role}").mkdir()
    (root / f"etc/mesos-{role}/work_dir").write_text("/var/lib/mesos\n")
    (root / f"etc/mesos-{role}/hostname").write_text("node one")  # spaces survive as one arg
    (root / f"etc/mesos-{role}/?no-logger").write_text("")  # plain output for these tests
    (root / "usr/bin").mkdir(parents=True)
    (root / f"usr/bin/mesos-{role}").write_text(binary)
    (root / f"usr/bin/mesos-{role}").chmod(0o755)


def _wrap(root: Path, *args: str, env: dict[str, str] | None = None,
          ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MESOS_")}
    clean.update(env or {}, MESOS_WRAPPER_ROOT=str(root))
    return subprocess.run([str(WRAPPER), *args], env=clean, capture_output=True, text=True,
                          timeout=20, cwd=REPO)  # fmt: skip


def _out(root: Path, role: str) -> list[str]:
    proc = _wrap(root, role)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_master_files_become_flags_and_env(tmp_path: Path) -> None:
    _tree(tmp_path, "master")
    out = _out(tmp_path, "master")
    assert "ARG --work_dir=/var/lib/mesos" in out
    assert "ARG --hostname=node one" in out
    assert "ENV MESOS_QUORUM=2" in out and "ENV MESOS_LOGGING_LEVEL=WARNING" in out
    assert "ARG --no-logger" not in out  # the wrapper's own switch, removed before exec


def test_etc_mesos_zk_is_not_read(tmp_path: Path) -> None:
    """The real wrapper never reads /etc/mesos/zk (only the example default files do)."""
    for role in ("master", "agent"):
        root = tmp_path / role
        _tree(root, role)
        out = _out(root, role)
        assert not any("zk://" in line for line in out), out
        assert not any(line.startswith(("ENV MESOS_ZK=", "ENV MESOS_MASTER=")) for line in out)


def test_plain_variables_map_to_flags(tmp_path: Path) -> None:
    master, agent = tmp_path / "m", tmp_path / "a"
    _tree(master, "master")
    (master / "etc/default/mesos").write_text(
        "ZK=file:///etc/mesos/zk\nIP=10.0.0.1\nPORT=5050\nCLUSTER=prod\nLOGS=/var/log/mesos\n"
        "MASTER=ignored-for-master\nISOLATION=ignored-for-master\nULIMIT='-n 4096'\n"
    )
    out = _out(master, "master")
    for arg in ("--zk=file:///etc/mesos/zk", "--ip=10.0.0.1", "--port=5050", "--cluster=prod",
                "--log_dir=/var/log/mesos"):  # fmt: skip
        assert f"ARG {arg}" in out
    assert not any("ignored-for-master" in line for line in out)
    assert "NOFILE 4096" in out  # ULIMIT runs `ulimit -n 4096`
    _tree(agent, "agent")
    (agent / "etc/default/mesos-agent").write_text(
        "MASTER=file:///etc/mesos/zk\nISOLATION=cgroups/cpu\nIP=10.0.0.2\nZK=x\nPORT=1\n"
        "CLUSTER=c\n"
    )
    out = [line for line in _out(agent, "agent") if line.startswith("ARG")]
    assert out[:3] == ["ARG --master=file:///etc/mesos/zk", "ARG --ip=10.0.0.2",
                       "ARG --isolation=cgroups/cpu"]  # fmt: skip
    assert not any(a.startswith(("ARG --zk", "ARG --port", "ARG --cluster")) for a in out)


def test_toggles_attributes_resources_and_skipped_files(tmp_path: Path) -> None:
    _tree(tmp_path, "agent")
    etc = tmp_path / "etc/mesos-agent"
    (etc / "?switch_user").write_text("")
    (etc / "?no-systemd_enable_support").write_text("ignored content")
    (etc / "port.dpkg-dist").write_text("1")
    (etc / "port.rpmnew").write_text("2")
    (etc / "attributes").mkdir()
    (etc / "attributes/rack").write_text("r1\n")
    (etc / "attributes/zone").write_text("z2")
    (etc / "attributes/empty").write_text("")  # empty files are left out
    (etc / "resources").mkdir()
    (etc / "resources/cpus").write_text("4")
    (etc / "resources/ports").write_text("[31000-32000]")
    out = _out(tmp_path, "agent")
    assert "ARG --switch_user" in out and "ARG --no-systemd_enable_support" in out
    assert not any("port=" in line for line in out)
    assert "ARG --attributes=rack:r1;zone:z2" in out
    assert "ARG --resources=cpus:4;ports:[31000-32000]" in out


def test_arguments_after_the_role_are_ignored(tmp_path: Path) -> None:
    _tree(tmp_path, "master")
    proc = _wrap(tmp_path, "master", "--port=1")
    assert "ARG --port=1" not in proc.stdout.splitlines()


def test_output_goes_through_logger_without_no_logger(tmp_path: Path) -> None:
    _tree(tmp_path, "master")
    (tmp_path / "etc/mesos-master/?no-logger").unlink()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "logger").write_text(FAKE_LOGGER)
    (bin_dir / "logger").chmod(0o755)
    log = tmp_path / "logger.out"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "LOGGER_OUT": str(log)}
    proc = _wrap(tmp_path, "master", env=env)
    assert proc.returncode == 0 and "ARG" not in proc.stdout

    def logged() -> str:
        return log.read_text() if log.exists() else ""

    for _ in range(50):  # the logger processes may still be draining the pipe
        if "ARG --work_dir=/var/lib/mesos" in logged():
            break
        subprocess.run(["sleep", "0.1"], check=True)
    assert "-p user.info -t mesos-master[" in logged()
    assert "ARG --work_dir=/var/lib/mesos" in logged()


def test_wrapper_with_the_real_stand_in_rejects_unknown_flag_file(tmp_path: Path) -> None:
    binary = f'#!/bin/sh\nexec {sys.executable} -m tests.standins.mesos.mesos_standin.master "$@"\n'
    _tree(tmp_path, "master", binary)
    (tmp_path / "etc/mesos-master/bogus_flag").write_text("1")
    proc = _wrap(tmp_path, "master")
    assert proc.returncode == 1
    assert "Failed to load unknown flag 'bogus_flag'" in proc.stderr


def test_editor_leftover_is_not_skipped(tmp_path: Path) -> None:
    """Only *.dpkg-dist and *.rpmnew are skipped: `work_dir~` becomes a flag as it would."""
    binary = f'#!/bin/sh\nexec {sys.executable} -m tests.standins.mesos.mesos_standin.master "$@"\n'
    _tree(tmp_path, "master", binary)
    (tmp_path / "etc/mesos-master/work_dir~").write_text("/tmp/x")
    proc = _wrap(tmp_path, "master")
    assert proc.returncode == 1 and "Failed to load unknown flag 'work_dir~'" in proc.stderr


def test_wrapper_usage() -> None:
    proc = subprocess.run([str(WRAPPER), "slave"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 1 and "Please use `master' or `agent'." in proc.stderr
    proc = subprocess.run([str(WRAPPER), "--help"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0 and "USAGE: mesos-init-wrapper (master|agent)" in proc.stdout
