"""deploy/frame_modules.py: the files pyinfra executes resolve to a module in inspect's cache."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from types import FrameType

from pyinfra_mesos.deploy.frame_modules import PREFIX, register_deploy_files
from pyinfra_mesos.topology import TASK_FILES

ROOT = Path(__file__).resolve().parents[2]


def frame_of_executed_file(path: Path) -> FrameType:
    """A frame running code compiled with `path` as its file name, as pyinfra's exec_file does."""
    found: dict[str, FrameType] = {}
    code = compile("found['frame'] = sys._getframe()\n", str(path), "exec")
    exec(code, {"found": found, "sys": sys})
    return found["frame"]


def test_an_executed_file_is_no_module_until_registered_then_resolves_from_the_cache(
        tmp_path: Path) -> None:
    task = tmp_path / "tasks" / "example.py"
    task.parent.mkdir()
    task.write_text("# an executed task file\n")
    frame = frame_of_executed_file(task)
    assert inspect.getmodule(frame) is None
    names = register_deploy_files([str(task)])
    try:
        assert names == [PREFIX + str(task)]
        module = inspect.getmodule(frame)
        assert module is sys.modules[names[0]] and module.__file__ == str(task)
        # Resolved from inspect's file -> module cache from now on (no walk of sys.modules).
        assert inspect.modulesbyfile[str(task)] == names[0]
        assert register_deploy_files([str(task)]) == names  # idempotent
        assert inspect.getsource(frame) == "# an executed task file\n"
    finally:
        for name in names:
            sys.modules.pop(name, None)
        inspect.modulesbyfile.pop(str(task), None)


def test_every_task_file_in_the_repository_is_one_deploy_py_registers() -> None:
    assert sorted(TASK_FILES) == sorted(f"tasks/{p.name}" for p in (ROOT / "tasks").glob("*.py"))
    deploy = (ROOT / "deploy.py").read_text()
    assert "register_deploy_files([__file__, *(" in deploy and "for task in TASK_FILES" in deploy
