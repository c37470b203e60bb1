"""Marathon stand-in: flags load like Marathon 1.10 (argv and MARATHON_*), typos exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standins.marathon.marathon_standin.flags import FlagError, env_to_args, parse
from tests.standins.marathon.marathon_testkit.proc import CONTEXT, run

REPO = Path(__file__).resolve().parents[2]


def test_argv_forms_and_defaults() -> None:
    flags = parse(["--master", "zk://h:2181/mesos", "--http_port=8081", "--disable_ha"], {})
    assert flags.text("master") == "zk://h:2181/mesos"
    assert flags.number("http_port") == 8081
    assert flags.toggle("ha") is False
    assert flags.text("zk") == "zk://localhost:2181/marathon"
    assert flags.number("local_port_min") == 10000 and flags.number("local_port_max") == 20000
    assert flags.toggle("checkpoint") is True


def test_environment_like_main_scala() -> None:
    env = {"MARATHON_MASTER": "zk://h:2181/mesos", "MARATHON_DISABLE_HA": "",
           "MARATHON_HOSTNAME": "m1", "MARATHON_APP_ID": "/ignored", "HOME": "/root"}
    assert not any(a.startswith("--app_id") for a in env_to_args(env))
    flags = parse([], env)
    assert flags.toggle("ha") is False and flags.hostname == "m1"


@pytest.mark.parametrize(("argv", "env", "needle"), [
    (["--master", "x", "--mastr", "y"], {}, "Unknown option 'mastr'"),
    (["--master", "x"], {"MARATHON_HTTP_PROT": "1"}, "Unknown option 'http_prot'"),
    (["--master", "x", "--ha", "true"], {}, "Excess arguments"),
    (["--master", "x"], {"MARATHON_DISABLE_HA": "true"}, "takes no value"),
    (["--master", "x", "--http_port"], {}, "needs a value"),
    (["--master", "x"], {"MARATHON_MASTER": "y"}, "both in the environment and on the command"),
    (["--master", "x", "--default_accepted_resource_roles", "*"], {}, "removed in Marathon 1.10"),
    ([], {}, "Required option 'master' not found"),
])
def test_refusals(argv: list[str], env: dict[str, str], needle: str) -> None:
    with pytest.raises(FlagError, match=needle):
        parse(argv, env)


def test_program_exits_1_naming_the_unknown_flag() -> None:
    result = run(["--master", "zk://127.0.0.1:1/mesos", "--no_such_flag", "1"])
    assert result.returncode == 1
    assert "no_such_flag" in result.stderr


def test_program_exits_1_on_unknown_environment_flag() -> None:
    result = run([], {"MARATHON_MASTER": "zk://127.0.0.1:1/mesos", "MARATHON_EVENT_SUBSCRIBER":
                      "http_callback"})
    assert result.returncode == 1
    assert "event_subscriber" in result.stderr


def test_program_exits_1_without_master() -> None:
    result = run(["--zk", "zk://127.0.0.1:1/marathon"])
    assert result.returncode == 1
    assert "master" in result.stderr


def test_context_ships_the_project_flag_list() -> None:
    shipped = (CONTEXT / "marathon-1.10-flags.tsv").read_text()
    assert shipped == (REPO / "pyinfra_mesos/data/marathon-1.10-flags.tsv").read_text()
    assert len(shipped.strip().splitlines()) == 150


def test_build_context_contract() -> None:
    """CONTRACTS.md: ARG BASE / FROM ${BASE}, COPY only (built with --network=none)."""
    lines = [line.strip() for line in (CONTEXT / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "ARG BASE" and lines[1] == "FROM ${BASE}"
    assert lines[-1] == 'ENTRYPOINT ["/marathon/bin/marathon"]'
    # USER nobody as the real image, after every COPY.
    assert lines[-2] == "USER nobody"
    assert {line.split()[0] for line in lines} == {"ARG", "FROM", "COPY", "USER", "ENTRYPOINT"}
    program = CONTEXT / "bin" / "marathon"
    assert program.stat().st_mode & 0o111, "the entrypoint must be executable"
    assert program.read_text().startswith("#!/usr/bin/env python3")
    # stdlib + kazoo only inside the image.
    allowed = {"kazoo", "marathon_standin"}
    import ast
    import sys

    for source in (CONTEXT / "marathon_standin").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                else [])
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in sys.stdlib_module_names, (source.name, name)
