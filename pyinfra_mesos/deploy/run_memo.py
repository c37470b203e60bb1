"""What every host's loading computes alike, computed once per run (issue 13).

pyinfra loads deploy.py and the task files once per host. The topology and the inventory's
problems depend on the whole inventory, never on the host that loads: computed per host and per
task file, they made a run's loading grow with the square of its hosts (53 topologies at 5
hosts, each reading every host's data; one validation of the whole inventory per host). They
are kept here per pyinfra State: one run, whose inventory and host data do not change while it
lasts. Outside a run (`check`, `status`, tests) the plain functions are used.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from pyinfra.api.state import State
from pyinfra.context import ctx_state

from pyinfra_mesos import validation
from pyinfra_mesos.problems import Problem
from pyinfra_mesos.topology import Topology, topology_from_inventory

_TOPOLOGY: WeakKeyDictionary[State, Topology] = WeakKeyDictionary()
_PROBLEMS: WeakKeyDictionary[State, dict[str | None, list[Problem]]] = WeakKeyDictionary()


def run_topology(state: Any) -> Topology:
    """topology_from_inventory(state.inventory), built once for `state`'s run (a State, or
    pyinfra's `state` proxy as a task file has it)."""
    state = _state(state)
    topo = _TOPOLOGY.get(state)
    if topo is None:
        topo = _TOPOLOGY[state] = topology_from_inventory(state.inventory)
    return topo


def run_problems(state: Any, path: str | None) -> list[Problem]:
    """validate_inventory(state.inventory, `path`), run once for `state`'s run (as run_topology)
    and `path` (the inventory file; None when unknown). A copy: callers may extend it."""
    state = _state(state)
    found: dict[str | None, list[Problem]] = _PROBLEMS.setdefault(state, {})
    if path not in found:
        # Through the module: a test that replaces validation.validate_inventory is heard.
        found[path] = validation.validate_inventory(state.inventory, path)
    return list(found[path])


def _state(candidate: Any) -> State:
    """The State `candidate` is, or the one pyinfra's `state` proxy stands for now: the proxy is
    one object for every run, so it cannot key a run's memo."""
    return candidate if isinstance(candidate, State) else ctx_state.get()
