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
(`install_holding`, pyinfra_mesos/first_install.py says why), after one refresh of the lists
that follows every apt input it wrote (`lists_refreshed`, pyinfra_mesos/apt_lists.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import apt

from pyinfra_mesos.apt_lists import refresh_command, refresh_must_succeed, refresh_reason
from pyinfra_mesos.deploy import planning_reads
from pyinfra_mesos.deploy.deploy_facts import APT_UPDATE_STAMP
from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.first_install import units_to_hold


def missing_packages(installed: dict[str, object] | None, names: Sequence[str]) -> list[str]:
    """The names (plain package names, no version) in `names` that `installed` (DebPackages'
    shape: {name: [version, ...]}, or None before dpkg exists) does not list, in order."""
    present = installed or {}
    return [name for name in names if name not in present]


@operation()
def lists_refreshed(roles: Sequence[str], cache_time_s: int):
    """apt_lists.refresh_command (`apt-get update --error-on=any`, then the update stamp
    touched; a failed source fails the host only where the lists must follow an input), when the
    current host's lists need it (apt_lists.refresh_reason: older than `cache_time_s` seconds,
    never refreshed, or older than one of the apt inputs of a host with `roles`);
    `host.noop` otherwise. The read is the host's planning read (planning_reads.apt_lists),
    made again only after one of the host's operations ran a command: after this run wrote an
    input, the new modification time asks for the refresh. The stamp is touched here because
    Debian's apt does not (deploy_facts.APT_UPDATE_STAMP)."""
    lists = read_kept(host, planning_reads.apt_lists(roles))
    if refresh_reason(lists, cache_time_s) is None:
        host.noop("apt lists are newer than apt_cache_time_s and than their inputs")
        return
    # A source that failed to download fails the host where the lists must follow an input;
    # lists only old go on with a warning (apt_lists.refresh_command).
    yield StringCommand(refresh_command(refresh_must_succeed(lists), APT_UPDATE_STAMP))


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
