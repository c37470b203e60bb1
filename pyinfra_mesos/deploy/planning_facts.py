"""One read per host of a fact the task files consult while pyinfra plans (issue 13).

pyinfra 3.10 keeps no fact cache (pyinfra/api/facts.py `get_fact` runs the command every time),
and every read is an SSH command its single gevent process pays for in CPU. While the deploy
file is being loaded (`StateStage.Prepare`) nothing has run on any host yet, so a fact read
twice in that stage answers the same: the package list, for one, was read four times per
master (ZooKeeper's install guard, and the Mesos package, master and agent tasks deciding
whether this run moves the package). Once operations execute, facts are read fresh as pyinfra
reads them: the memo answers only in the Prepare stage and is dropped when a new State begins.
"""

from __future__ import annotations

from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from pyinfra.api.facts import FactBase
from pyinfra.api.host import Host
from pyinfra.api.state import State, StateStage

T = TypeVar("T")

_MEMO: WeakKeyDictionary[State, dict[tuple[Any, ...], Any]] = WeakKeyDictionary()


def planning_fact(host: Host, fact: type[FactBase[T]], **kwargs: Any) -> T:
    """`host.get_fact(fact, **kwargs)`, read once per (host, fact, arguments) while pyinfra
    prepares; in any other stage a plain fresh read. Arguments must be hashable."""
    state = host.state
    if state.current_stage != StateStage.Prepare:
        return host.get_fact(fact, **kwargs)
    memo = _MEMO.setdefault(state, {})
    key = (host.name, fact, tuple(sorted(kwargs.items())))
    if key not in memo:
        memo[key] = host.get_fact(fact, **kwargs)
    return memo[key]
