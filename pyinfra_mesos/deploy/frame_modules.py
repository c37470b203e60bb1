"""Make the deploy's own files known to `inspect` as modules, so pyinfra's per-operation stack
walk stays cheap (issue 13).

In CLI mode pyinfra orders operations by the line numbers of the calls that made them: every
operation call takes `inspect.stack()` and reads each frame's source (pyinfra 3.10
api/util.py `get_operation_order_from_stack`). For each frame, `inspect.getmodule` looks the
frame's file up in its file -> module cache, and on a miss walks all of `sys.modules` (about
a thousand modules) to rebuild it. deploy.py and tasks/*.py are executed by pyinfra, not
imported, so they are no module's file: every one of their frames missed, for every operation
on every host. Measured with py-spy on the task files planned for 5 hosts, those walks were a
quarter of planning's CPU.

A placeholder module per file (a name no import uses, `__file__` the file's absolute path, as
`inspect.getabsfile` spells it) puts the file in that cache on the first walk. Nothing imports
the placeholders, and `linecache` reads the files from disk as before.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable

PREFIX = "_pyinfra_mesos_deploy_file:"


def register_deploy_files(paths: Iterable[str]) -> list[str]:
    """One placeholder module per path (relative to the working directory, as pyinfra executes
    them); returns the module names, already registered ones included. Idempotent."""
    names = []
    for path in paths:
        absolute = os.path.normcase(os.path.abspath(path))
        name = PREFIX + absolute
        if name not in sys.modules:
            module = types.ModuleType(name, "placeholder: inspect.getmodule's cache of the file")
            module.__file__ = absolute
            sys.modules[name] = module
        names.append(name)
    return names
