"""When a host's apt lists need a refresh: after this deploy's apt inputs, and how strictly.

tasks/common.py writes a host's apt configuration (the aventer-mesos key and sources line, the
version pins) and only then refreshes the lists, once, before the host's one install
transaction (first_install.py). The lists are refreshed when they are older than
``apt_cache_time_s`` (pyinfra's apt.update(cache_time) rule), never refreshed, or older than one
of these inputs: a changed sources line or key needs fresh lists before apt can install from it,
and a changed pin asks for a version the old lists may not know. The rule reads modification
times, not this run's changes, so a run killed between writing an input and the refresh leaves
lists that the next run still finds older than their input, and refreshes. A refresh counts
only when every source was fetched (`apt-get update --error-on=any`): otherwise apt exits 0
with lists that lack the repository, and the stamp would hide that for apt_cache_time_s.
Lists that must follow an input, or were never refreshed, fail the host when a source fails
(`refresh_must_succeed`); lists that are only old keep their stamp and the run goes on with
them, with a warning: an unrelated source down for a moment (the operator's own repository, a
mirror) does not stop a deploy that needs nothing new, and the next run tries again.

A host without the aventer-mesos key's tools (mesos_package.MESOS_KEY_TOOLS) refreshes twice
in its first run: once to install those, once after the repository is set up.

Shapes: ``roles`` are topology role names; ages are whole seconds. No host is touched here.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from pyinfra_mesos.docker import DOCKER_PIN_FILE
from pyinfra_mesos.mesos_package import MESOS_KEYRING, MESOS_PIN_FILE, MESOS_SOURCES_FILE
from pyinfra_mesos.topology import DOCKER_ROLES, MESOS_ROLES
from pyinfra_mesos.zookeeper_package import ZOOKEEPER_PIN_FILE


@dataclass(frozen=True)
class ListsState:
    """``age_s``: seconds since the lists were last refreshed (the update stamp's modification
    time against the host's clock), None when never refreshed (no stamp). ``newer_inputs``: the
    paths of the inputs asked about that exist and were modified after the stamp (compared at
    the file system's full resolution: deploy_facts.AptListsState)."""

    age_s: int | None
    newer_inputs: tuple[str, ...] = ()


def lists_inputs(roles: Iterable[str]) -> tuple[str, ...]:
    """The apt configuration files tasks/common.py writes on a host with ``roles`` whose change
    asks for fresh lists: the ZooKeeper pin (zookeeper), the Docker pin (agents and Marathon
    hosts), the aventer-mesos key, sources line and pin (masters and agents); () for no role."""
    roles = set(roles)
    paths: list[str] = []
    if "zookeeper" in roles:
        paths.append(ZOOKEEPER_PIN_FILE)
    if roles & DOCKER_ROLES:
        paths.append(DOCKER_PIN_FILE)
    if roles & MESOS_ROLES:
        paths += [MESOS_KEYRING, MESOS_SOURCES_FILE, MESOS_PIN_FILE]
    return tuple(paths)


def refresh_must_succeed(lists: ListsState) -> bool:
    """Whether a refresh that fails to fetch a source must fail the host: the lists were never
    refreshed, or are older than one of their inputs (a new sources line, key or pin)."""
    return lists.age_s is None or bool(lists.newer_inputs)


def refresh_command(must_succeed: bool, stamp: str) -> str:
    """The refresh, one shell command: `apt-get update --error-on=any` (apt >= 2.1.16: a source
    that failed to download is an error, where apt's default exits 0), then `stamp` (a path)
    touched only when every source was fetched. When one failed: exit 1 with an error line
    when `must_succeed` (refresh_must_succeed), else a warning line and exit 0, the stamp left
    as it was so that the next run tries again. Both lines go to stderr, after apt's own."""
    failed = ("echo 'error: apt lists not refreshed completely (a source failed above); this "
              "host needs them to follow its apt sources, key and pins' >&2; exit 1"
              if must_succeed else
              "echo 'warning: apt lists not refreshed completely (a source failed above); "
              "going on with them, the next run tries again' >&2")
    return (f"if apt-get update --error-on=any; then touch {shlex.quote(stamp)}; "
            f"else {failed}; fi")


def refresh_reason(lists: ListsState, cache_time_s: int) -> str | None:
    """Why the lists need `apt-get update` now, in words for the operator; None when they do
    not. ``cache_time_s`` 0 refreshes on every run (apt_cache_time_s, as pyinfra's apt.update
    treats a cache_time of 0)."""
    if lists.age_s is None:
        return "never refreshed"
    if lists.newer_inputs:
        return f"older than {', '.join(lists.newer_inputs)}"
    if not cache_time_s:
        return "apt_cache_time_s is 0"
    if lists.age_s >= cache_time_s:
        return f"refreshed {lists.age_s} s ago, apt_cache_time_s is {cache_time_s}"
    return None

