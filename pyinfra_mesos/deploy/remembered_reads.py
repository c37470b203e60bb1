"""The reads a host's operations named in the last run, made this run with its planning reads.

A host's loading waited for two SSH commands: its planning reads (deploy/planning_reads.py),
sent first, and the reads its operations name while they are planned (planning_facts
`defer_fact`: file sets, restarts' freshness), sent last, when the task files have run. The
second one came at the end of every host's loading, when pyinfra's one process was busiest with
the other hosts' task files: its answer waited for them (gevent runs one greenlet at a time), and
the run's execution waited for the last of them. Those reads are the same from one run to the
next as long as the inventory and the task files are: the list each host named is kept here, on
the operator's machine, and sent with the host's planning reads the next time.

Nothing depends on the list being right. A read it names that no operation asks for costs its
few milliseconds on the host (a background read nobody asks for any more, the JVM's 0.3 s, is
made once more: only a task file's own request keeps one for the next run); a read an operation
names that it lacks is made as before, at the end of the host's loading (read_deferred reads
only what is not kept yet). A row the deploy no longer understands is skipped. The file holds fact
names and their arguments (paths, unit names), never a fact's answer nor a secret; it is written
0600 all the same, and only when a host's list changed, so a converged run writes nothing.

The ZooKeeper ACL read is kept the same way and started, in the background, as the first
member's loading begins (it waited for the planning reads before, and its JVM then ran alone at
the end, the last thing the run's execution waited for).

Shapes: a read is (fact class, arguments) as planning_facts takes it; the file is JSON,
`{cluster_name: {host name: {"reads": [row, ...], "background": [row, ...]}}}`, each row
`["module:Class", {argument: value}]`, under the run's working directory (REMEMBERED_READS).
Only the facts of REMEMBERED_FACTS are taken back from it, with arguments their commands take.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from pyinfra.api.facts import FactBase
from pyinfra.api.host import Host
from pyinfra.api.state import State
from pyinfra.facts.files import File

from pyinfra_mesos.deploy.file_set import FileSetState
from pyinfra_mesos.deploy.planning_facts import Read
from pyinfra_mesos.deploy.rolling import ServiceFreshness
from pyinfra_mesos.deploy.zk_acl_fact import ZookeeperAcls

Rows = dict[str, dict[str, dict[str, list[Any]]]]

REMEMBERED_READS = Path(".cache") / "pyinfra-mesos" / "planning-reads.json"


def _name(fact: type[FactBase[Any]]) -> str:
    return f"{fact.__module__}:{fact.__qualname__}"


# The facts the deploy names ahead or reads in the background, the only ones the file is
# taken back for: the file is input, and nothing in it is imported or runs but these
# read-only facts with arguments their commands take (FileSetState and File quote their
# paths, ServiceFreshness its unit and paths, ZookeeperAcls its paths and port).
REMEMBERED_FACTS: dict[str, type[FactBase[Any]]] = {
    _name(fact): fact for fact in (FileSetState, ServiceFreshness, File, ZookeeperAcls)}

# State -> the file's rows as read at the run's first use (and as updated since)
_ROWS: WeakKeyDictionary[State, Rows] = WeakKeyDictionary()


def encode(reads: Sequence[Read]) -> list[list[Any]]:
    """`reads` as JSON rows, each `["module:Class", {argument: value}]` as JSON gives it back
    (arrays as lists); a read of a fact not in REMEMBERED_FACTS, or whose arguments would not
    come back equal from JSON (a type JSON lacks), is left out."""
    rows = []
    for fact, kwargs in reads:
        try:
            row = json.loads(json.dumps([_name(fact), kwargs]))
        except (TypeError, ValueError):
            continue
        if decode([row]) == [(fact, kwargs)]:
            rows.append(row)
    return rows


def decode(rows: Any) -> list[Read]:
    """encode's rows back as reads; a row that is malformed, names a fact not in
    REMEMBERED_FACTS, or whose arguments that fact's command does not take (the file of an
    older version) is skipped. JSON arrays come back as tuples (planning_facts keys reads by
    hashable arguments)."""
    reads: list[Read] = []
    for row in rows if isinstance(rows, list) else []:
        if not (isinstance(row, list) and len(row) == 2 and isinstance(row[0], str)
                and isinstance(row[1], dict)):
            continue
        fact = REMEMBERED_FACTS.get(row[0])
        kwargs = {str(k): _hashable(v) for k, v in row[1].items()}
        if fact is None or not _takes(fact, kwargs):
            continue
        reads.append((fact, kwargs))
    return reads


def _takes(fact: type[FactBase[Any]], kwargs: dict[str, Any]) -> bool:
    """Whether `fact`'s command accepts `kwargs` by name."""
    try:
        inspect.signature(fact().command).bind(**kwargs)
    except TypeError:
        return False
    return True


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    return value


def _path(state: State) -> Path:
    return Path(state.cwd or ".") / REMEMBERED_READS


def _rows(state: State) -> Rows:
    rows = _ROWS.get(state)
    if rows is None:
        try:
            loaded = json.loads(_path(state).read_text())
        except (OSError, ValueError):
            loaded = {}
        rows = _ROWS[state] = loaded if isinstance(loaded, dict) else {}
    return rows


@dataclass(frozen=True)
class Remembered:
    """What a host asked for in the last run: `reads` its operations named (planning_facts
    `defer_fact`), `background` the slow reads its task files started on their own
    (`read_in_background`: the ZooKeeper ACL read's JVM on the first member)."""

    reads: list[Read] = field(default_factory=list)
    background: list[Read] = field(default_factory=list)


def remembered_reads(host: Host) -> Remembered:
    """What `host` asked for in the last run of its cluster (host data `cluster_name`); empty
    when nothing was kept or the file cannot be read."""
    cluster = _rows(host.state).get(str(host.data.cluster_name))
    kept = cluster.get(host.name) if isinstance(cluster, dict) else None
    if not isinstance(kept, dict):
        return Remembered()
    return Remembered(decode(kept.get("reads")), decode(kept.get("background")))


def remember_reads(host: Host, reads: Sequence[Read], background: Sequence[Read] = ()) -> None:
    """Keep `reads` and `background` (as Remembered's) as what `host` asked for in this run,
    for the next; the file is rewritten (0600, atomically) only when they differ from what it
    holds. A file that cannot be written is left as it is: the next run makes those reads as
    it would without it."""
    state = host.state
    rows = _rows(state)
    cluster = rows.get(str(host.data.cluster_name))
    if not isinstance(cluster, dict):
        cluster = rows[str(host.data.cluster_name)] = {}
    encoded = {"reads": encode(reads), "background": encode(background)}
    if cluster.get(host.name) == encoded:
        return
    cluster[host.name] = encoded
    path = _path(state)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".planning-reads.")
        with os.fdopen(fd, "w") as out:  # mkstemp: 0600
            json.dump(rows, out, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
