"""Marathon stand-in runs as `nobody`, as the real image does (d2iq-archive/marathon v1.10.26,
tools/packager/docker/Dockerfile `USER nobody`): nothing it needs may be root-only."""

from __future__ import annotations

import ast
import os
import stat
import sys
import uuid
from pathlib import Path

import kazoo

from tests.standins.marathon.marathon_testkit.fake_mesos import FakeMaster, free_ports
from tests.standins.marathon.marathon_testkit.proc import CONTEXT, http, start, wait_for

NOBODY = 65534
SHIPPED = [CONTEXT / "bin", CONTEXT / "marathon_standin", CONTEXT / "marathon-1.10-flags.tsv"]
# Calls that would write to the file system.
WRITERS = {"open", "mkdir", "makedirs", "write_text", "write_bytes", "mkstemp", "mkdtemp",
           "chmod", "chown", "symlink", "rename", "unlink", "rmtree"}


def shipped_files() -> list[Path]:
    out: list[Path] = []
    for root in SHIPPED:
        out += [root] if root.is_file() else [p for p in root.rglob("*")
                                              if "__pycache__" not in p.parts]
    return out


def test_everything_shipped_is_readable_by_others() -> None:
    for path in shipped_files():
        mode = path.stat().st_mode
        assert mode & stat.S_IROTH, path
        if path.is_dir() or path.parent.name == "bin":
            assert mode & stat.S_IXOTH, path


def test_the_program_writes_no_files() -> None:
    for source in (CONTEXT / "marathon_standin").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                assert name not in WRITERS, (source.name, node.lineno, name)


def test_serves_and_launches_as_a_non_root_user(zookeeper: str, tmp_path: Path) -> None:
    # As root (this sandbox) drop to nobody, with the distribution's python3 and kazoo on its
    # path (the image: the base's python3 + python3-kazoo), since the test's interpreter may
    # live under root's home. Otherwise the test user is already not root.
    user, python, env = None, sys.executable, {}
    if os.geteuid() == 0:
        user, python = NOBODY, "/usr/bin/python3"
        env = {"PYTHONPATH": str(Path(kazoo.__file__).resolve().parents[1])}
    log = tmp_path / "m.log"
    master = FakeMaster(agents=1)
    port = free_ports(1)[0]
    args = ["--master", master.address, "--zk", f"zk://{zookeeper}/nobody-{uuid.uuid4().hex[:8]}",
            "--http_port", str(port), "--http_address", "127.0.0.1", "--hostname", "127.0.0.1"]
    proc = start(args, log, port, env=env, user=user, python=python)
    try:
        assert proc.popen.pid and os.stat(f"/proc/{proc.popen.pid}").st_uid != 0
        assert http(proc.url + "/v2/info")[1]["marathon_config"]["mesos_user"] != "root"
        app = {"id": "/as-nobody", "cmd": "sleep 100", "cpus": 0.1, "mem": 16}
        assert http(proc.url + "/v2/apps", "POST", app)[0] == 201
        wait_for(lambda: master.launches, 20, lambda: proc.output()[-2000:])
    finally:
        proc.stop()
        master.close()
