"""mesos_files: the files both Mesos roles get, in an order a bare host can take."""

from __future__ import annotations

from pathlib import Path

from test_zookeeper_acls import plan_with, zk_file


def test_etc_mesos_exists_before_the_zk_file_is_written(tmp_path: Path) -> None:
    # private_file creates no parent directory (files.template does): on a host whose package
    # ships no /etc/mesos the masters' write failed with "No such file or directory".
    ops = plan_with(tmp_path)
    for name in ("m1", "a1"):
        # One operation (file_set) makes the directory, then fills the file.
        commands = zk_file(ops[name]).commands
        assert commands.index("mkdir -p /etc/mesos") < commands.index(
            "FileUploadCommand:/etc/mesos/zk"), commands
