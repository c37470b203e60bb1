"""The README stays true to the code: every group_data key is documented there."""

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_group_data_key_is_in_the_readme() -> None:
    keys = [k for k in runpy.run_path(str(ROOT / "group_data" / "all.py"))
            if not k.startswith("_")]
    readme = (ROOT / "README.md").read_text()
    missing = [k for k in keys if f"`{k}`" not in readme]
    assert not missing, f"group_data keys missing from README.md's table: {missing}"


def test_readme_names_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
