"""DeployRefused: the one exception a pure decision raises to stop the deploy.

It must be a PyinfraError: pyinfra runs each task file through pyinfra_cli/util.py
`exec_file`, which re-raises a PyinfraError as is (the CLI prints its message as one line and
exits non-zero) and wraps anything else with a traceback. So this module is the single pyinfra
import the pure modules may reach (tests/unit/test_pure_modules.py allows it by name).
"""

from __future__ import annotations

from pyinfra.api.exceptions import PyinfraError


class DeployRefused(PyinfraError):
    """A step that would lose data and that the operator has not asked for.

    A PyinfraError, so the CLI prints the message as one line and exits non-zero; raised while
    operations are generated, so no host has been changed yet.
    """
