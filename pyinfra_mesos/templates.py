"""The deploy's Jinja templates (templates/): where they are and how a task renders one.

Templates hold layout only; every value is computed in the component modules. StrictUndefined,
so a template naming a value the task did not pass fails at once instead of writing "".
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def template_path(name: str) -> str:
    return str(TEMPLATES_DIR / name)


@cache
def _environment() -> jinja2.Environment:
    # One per process: Jinja compiles a template once per Environment (its own cache, which
    # still notices a changed file), and a deploy renders the same templates for every host.
    # A fresh Environment per call compiled each template again: 12% of planning's CPU.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_template(name: str, **context: Any) -> str:
    """Render templates/<name> for operations that take a string (files.block)."""
    return _environment().get_template(name).render(**context)
