"""Private files (deploy/private_files.py private_file, and a file_set's private files as
tasks/marathon.py writes Marathon's curl config): secrets compared by sum only, created private
before they are filled."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

from test_tasks_harness import fake_host, op_named, plan

SECRET = "admin:pw-9c1d"
CURL = f'user = "{SECRET}"\n'
PATH = "/etc/pyinfra-mesos/marathon-curl.conf"
STAT = "600 root root"


def answers(stat: str, sha: str) -> dict:
    # file_set.FileSetState: sum, mode and owner of the file in one line, one round trip.
    # Marathon's set reads all its files in one command that starts with its first path.
    return {"for f in /etc/default/marathon ": [f"{sha} {stat} {PATH}"]}


def groups(responses: dict) -> dict:
    return {"masters": [fake_host("m1", responses, ip="10.0.0.11", zookeeper_id=1)],
            "agents": [fake_host("a1", {}, ip="10.0.1.11")]}


def curl_op(responses: dict) -> SimpleNamespace:
    """The commands Marathon's set plans for the curl config (the set's other files are
    missing in these answers)."""
    ops = plan(groups(responses), ["tasks/marathon.py"],
               data={"marathon_http_credentials": SECRET})["m1"]
    op = op_named(ops, "Install marathon.service")
    return SimpleNamespace(commands=[c for c in op.commands if PATH in c])


def test_a_new_secret_file_is_created_private_then_filled() -> None:
    op = curl_op({})
    assert op.commands[0].startswith("install -m 0600 -o root -g root /dev/null ")
    assert op.commands[1] == "FileUploadCommand:/etc/pyinfra-mesos/marathon-curl.conf"
    assert not any(SECRET in c for c in op.commands)


def test_an_identical_secret_file_is_left_alone_without_reading_it() -> None:
    sha = hashlib.sha256(CURL.encode()).hexdigest()
    op = curl_op(answers(STAT, sha))
    assert op.commands == []
    # Another owner is a change too (the chown puts it back).
    assert op.commands != curl_op(answers("600 nobody root", sha)).commands


def test_a_changed_or_loosened_secret_file_is_rewritten_and_tightened() -> None:
    loose = "644 root root"
    sha = hashlib.sha256(CURL.encode()).hexdigest()
    op = curl_op(answers(loose, sha))
    # Same content, wrong mode: no upload, only owner and mode.
    assert op.commands == ["chown root:root /etc/pyinfra-mesos/marathon-curl.conf && "
                           "chmod 0600 /etc/pyinfra-mesos/marathon-curl.conf"]
    op = curl_op(answers(STAT, "0" * 64))
    assert "FileUploadCommand:/etc/pyinfra-mesos/marathon-curl.conf" in op.commands
