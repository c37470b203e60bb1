"""apt installs planned only where a package is missing, from one dpkg list per host (issue 13).

pyinfra's `apt.packages` reads the whole dpkg list (`DebPackages`, `dpkg -l`) each time it is
called (pyinfra 3.10 operations/apt.py `packages` -> operations/util/packaging.py
`ensure_packages`), and a master calls it five or six times: once per component. The task
files ask here instead, while pyinfra plans: the list is read once per host (planning_facts.py),
and `apt.packages` is called, with pyinfra's own commands and messages, only when one of the
names is missing from it; the decision it would have taken from the same list. A converged
host reads the list once and plans no install operation.

tasks/common.py installs a host's whole package set this way, in one transaction, with the
services of the packages it adds held (masked) until their components configure them
(`install_holding`, pyinfra_mesos/first_install.py says why).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import apt

from pyinfra_mesos.deploy import planning_reads
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.first_install import units_to_hold


def missing_packages(installed: dict[str, object] | None, names: Sequence[str]) -> list[str]:
    """The names (plain package names, no version) in `names` that `installed` (DebPackages'
    shape: {name: [version, ...]}, or None before dpkg exists) does not list, in order."""
    present = installed or {}
    return [name for name in names if name not in present]


def install_missing(name: str, packages: Sequence[str]) -> OperationMeta | None:
    """`apt.packages(name=name, packages=packages)` when one of `packages` is not installed on
    the current host; None (nothing planned) when all are. Call it from a task file: pyinfra
    orders the operation by that call's line."""
    if not missing_packages(read_kept(host, planning_reads.packages()), packages):
        return None
    return apt.packages(name=name, packages=list(packages))


@operation()
def packages_held(packages: Sequence[str], held_units: Sequence[str]):
    """`systemctl mask` each of `held_units` (full unit names; a unit whose package is not
    installed yet can be masked), then pyinfra's own `apt.packages(packages=packages)`. The
    mask outlives the package's postinst (first_install.py says why)."""
    for unit in held_units:
        yield StringCommand("systemctl", "mask", QuoteString(unit))
    yield from apt.packages._inner(packages=list(packages))


def install_holding(name: str, packages: Sequence[str], roles: Iterable[str]
                    ) -> OperationMeta | None:
    """One operation that installs every one of `packages` missing from the current host's dpkg
    list, the units of each missing package that a task file of the host's `roles` will start
    masked first (first_install.units_to_hold); None (nothing planned) when none is missing.
    Call it from a task file."""
    missing = missing_packages(read_kept(host, planning_reads.packages()), packages)
    if not missing:
        return None
    return packages_held(name=name, packages=missing,
                         held_units=units_to_hold(missing, host.data.dict(), roles))
