"""A fact read once per host until one of that host's operations changes something (issue 13).

pyinfra 3.10 keeps no fact cache (pyinfra/api/facts.py `get_fact` runs the command every time),
and every read is an SSH command its single gevent process pays for in CPU. Between two
operations of a host that run commands, the host answers a fact the same way (what else
changes it is no business of this deploy's): while the deploy file is loaded nothing runs at
all, and with `pyinfra -y` the operations' own reads happen as they execute, one operation after
the other, most of them running nothing on a converged host. So the answer is kept, per host,
fact and arguments, for as long as the number of that host's operations that ran commands
(pyinfra's OperationMeta.executed, set when an operation completes) stays what it was at the
read. The package list, for one, was read six times per master; the unit states nine.

A read inside an operation must come before that operation yields its first command: the count
moves only when the operation completes. The memo is dropped with its State.

With `pyinfra -y`, pyinfra runs each operation on every host before the next, so a read made
there waits for the slowest host's read of that operation. Our operations' wrappers name the
read they will make while the deploy file is loaded (`defer_fact`), where every host runs on its
own; deploy.py's last line reads them all in one SSH command per host (`read_deferred`) and the
operations then find their answers kept.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import gevent
from gevent import Greenlet
from pyinfra.api import StringCommand
from pyinfra.api.arguments import CONNECTOR_ARGUMENT_KEYS, pop_global_arguments
from pyinfra.api.facts import FactBase
from pyinfra.api.host import Host
from pyinfra.api.state import State, StateStage
from pyinfra.context import ctx_config, ctx_host

T = TypeVar("T")
# One read: a fact class and its (hashable) arguments.
Read = tuple[type[FactBase[Any]], dict[str, Any]]

# State -> {(host name, fact, arguments): (executed operations at the read, answer)}
_MEMO: WeakKeyDictionary[State, dict[tuple[Any, ...], tuple[int, Any]]] = WeakKeyDictionary()
# State -> {host name: [(fact, arguments), ...]} named by defer_fact, not read yet
_DEFERRED: WeakKeyDictionary[State, dict[str, list[Read]]] = WeakKeyDictionary()
# State -> {key: the greenlet making that read} (read_in_background), until an answer is asked
_PENDING: WeakKeyDictionary[State, dict[tuple[Any, ...], Greenlet]] = WeakKeyDictionary()
# State -> {host name: [(fact, arguments), ...]} every read_in_background asked for, in order
_BACKGROUND: WeakKeyDictionary[State, dict[str, list[Read]]] = WeakKeyDictionary()
MARK = "@@pyinfra-mesos-fact"
# A background read's value when it failed (read_in_background): never kept.
_FAILED = object()


def _key(host: Host, fact: type[FactBase[Any]], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    return (host.name, fact, tuple(sorted(kwargs.items())))


def executed_operations(host: Host) -> int:
    """How many of `host`'s operations have completed having run commands (0 while pyinfra
    prepares: none has run)."""
    return sum(1 for data in host.state.ops.get(host, {}).values()
               if data.operation_meta.executed)


def fact_until_change(host: Host, fact: type[FactBase[T]], **kwargs: Any) -> T:
    """`host.get_fact(fact, **kwargs)`, answered again from the last read of the same (host,
    fact, arguments) while none of `host`'s operations has run a command since; a fresh read
    otherwise. Arguments must be hashable. Outside the Prepare and Execute stages, or for a
    host without a State (a test's stand-in), always fresh."""
    state = getattr(host, "state", None)
    if state is None or state.current_stage not in (StateStage.Prepare, StateStage.Execute):
        return host.get_fact(fact, **kwargs)
    found, answer = kept_fact(host, fact, **kwargs)
    if found:
        return answer  # type: ignore[return-value]  # found: the answer kept for this read
    executed = executed_operations(host)
    answer = host.get_fact(fact, **kwargs)
    _MEMO.setdefault(state, {})[_key(host, fact, kwargs)] = (executed, answer)
    return answer


def kept_fact(host: Host, fact: type[FactBase[T]], **kwargs: Any) -> tuple[bool, T | None]:
    """(True, answer) when fact_until_change would answer the same (host, fact, arguments)
    without a read; (False, None) otherwise. Reads nothing: for an operation that takes a read
    made earlier with other arguments (a shorter wait) only when it is still good."""
    state = getattr(host, "state", None)
    if state is None:
        return False, None
    key = _key(host, fact, kwargs)
    _settle(state, host, key)
    kept = (_MEMO.get(state) or {}).get(key)
    if kept is None or kept[0] != executed_operations(host):
        return False, None
    return True, kept[1]


def defer_fact(host: Host, fact: type[FactBase[Any]], **kwargs: Any) -> None:
    """Name a read (`fact`, hashable `kwargs`) that an operation of `host` will make through
    fact_until_change, for read_deferred to make now in one command with the others. Only
    while pyinfra loads the deploy (Prepare); anything else: nothing. Never required: a read
    not made ahead is made by the operation itself."""
    if host.state.current_stage != StateStage.Prepare:
        return
    pending = _DEFERRED.setdefault(host.state, {}).setdefault(host.name, [])
    if (fact, kwargs) not in pending:
        pending.append((fact, dict(kwargs)))


def read_together(host: Host, reads: Sequence[tuple[type[FactBase[Any]], dict[str, Any]]]
                  ) -> int:
    """Make `reads` ((fact, hashable arguments) each) of `host` now, in ONE SSH command, and
    keep each answer for fact_until_change; returns how many it kept. For the reads a host's
    loading will make (deploy/planning_reads.py): they then cost one round trip, not one each.
    Only while pyinfra loads the deploy (Prepare); anything else: nothing. A read already kept
    is not made again; a read whose command fails or whose output its fact refuses is not
    kept (its caller reads it alone, with pyinfra's own handling)."""
    state = host.state
    if state.current_stage != StateStage.Prepare:
        return 0
    return _read_together(host, _not_kept(host, reads))


def read_kept(host: Host, read: tuple[type[FactBase[T]], dict[str, Any]]) -> T:
    """fact_until_change for `read` ((fact, arguments), as deploy/planning_reads.py names it)."""
    fact, kwargs = read
    return fact_until_change(host, fact, **kwargs)


def named_reads(host: Host) -> list[Read]:
    """The reads `host`'s operations named so far in this run (defer_fact), in order, kept or
    not: what read_deferred is about to make, less what is kept already."""
    return _listed(_DEFERRED, host)


def background_reads(host: Host) -> list[Read]:
    """The reads started for `host` with read_in_background in this run, in order (made, under
    way, or already taken by their operation)."""
    return _listed(_BACKGROUND, host)


def _listed(store: WeakKeyDictionary[State, dict[str, list[Read]]], host: Host) -> list[Read]:
    """A copy of `host`'s list in `store` ([] when it has none)."""
    return [(fact, dict(kwargs)) for fact, kwargs in
            (store.get(host.state) or {}).get(host.name, [])]


def read_deferred(host: Host) -> int:
    """Make `host`'s deferred reads (defer_fact) in ONE SSH command and keep each answer for
    fact_until_change; returns how many it kept. Nothing while no operation of the host has run
    commands is required: in Prepare none has. A read whose command fails or whose output its
    fact refuses is not kept: the operation reads it alone, with pyinfra's own handling.
    A background read of the host (read_in_background) is not made again here, nor waited
    for: the operation that asks for it waits (kept_fact). The host's loading then ends
    without the ZooKeeper ACL read's JVM (about a second on the first member), which ran
    last of every host's loading and held the whole run's start; the operation that takes its
    answer comes a score of operations later. (That is with `pyinfra -y`, the documented
    command: without it pyinfra runs each operation's body while loading, to show the changes,
    and the asking operation waits there.)"""
    state = host.state
    background = [key for key in (_PENDING.get(state) or {}) if key[0] == host.name]
    todo = _not_kept(host, (_DEFERRED.get(state) or {}).pop(host.name, []), background)
    return _read_together(host, todo) if state.current_stage == StateStage.Prepare else 0


def _not_kept(host: Host, reads: Sequence[tuple[type[FactBase[Any]], dict[str, Any]]],
              also: Sequence[tuple[Any, ...]] = ()) -> list[tuple[type[FactBase[Any]],
                                                                  dict[str, Any]]]:
    """The reads of `reads` whose answer `host` does not keep yet, nor a key of `also` names (a
    read already under way), in order."""
    memo = _MEMO.get(host.state) or {}
    return [(fact, dict(kwargs)) for fact, kwargs in reads
            if _key(host, fact, kwargs) not in memo and _key(host, fact, kwargs) not in also]


def _read_together(host: Host, todo: list[tuple[type[FactBase[Any]], dict[str, Any]]]) -> int:
    """The one command of read_deferred and read_together for `todo`; how many answers it
    kept."""
    executed = executed_operations(host)
    answers = _answers(host, todo)
    memo = _MEMO.setdefault(host.state, {})
    for index, answer in answers.items():
        fact, kwargs = todo[index]
        memo[_key(host, fact, kwargs)] = (executed, answer)
    return len(answers)


def _connector_arguments(host: Host) -> dict[str, Any]:
    """As pyinfra's own fact read (api/facts.py `_get_fact`): the host's connector arguments
    (`_sudo`, `_su_user`, ...) from its data. Without them a deploy that connects as a user
    and uses sudo would read root's files as that user and keep "missing" for them."""
    arguments, _ = pop_global_arguments(host.state, host, {})
    return {key: value for key, value in arguments.items() if key in CONNECTOR_ARGUMENT_KEYS}


def _answers(host: Host, todo: list[tuple[type[FactBase[Any]], dict[str, Any]]]
             ) -> dict[int, Any]:
    """Run `todo`'s reads in ONE command on `host`: `{index in todo: answer}` of the reads
    whose command succeeded and whose fact processed its output ({} when the command itself
    failed). Nothing is kept here, and nothing fails the host."""
    if not todo:
        return {}
    command, instances = deferred_command(todo)
    status, output = host.run_shell_command(StringCommand(command), **_connector_arguments(host))
    if not status:
        return {}
    answers: dict[int, Any] = {}
    for index, lines in deferred_sections(output.stdout_lines, len(todo)).items():
        try:
            answers[index] = (instances[index].process(lines) if lines
                              else instances[index].default())
        except Exception:  # noqa: BLE001 - left to the operation's own read and pyinfra's handling
            continue
    return answers


def _shell(command: Any) -> str:
    """A fact's command (str or pyinfra StringCommand) as the text its shell runs."""
    return command.get_raw_value() if isinstance(command, StringCommand) else str(command)


def deferred_command(reads: Sequence[tuple[type[FactBase[Any]], dict[str, Any]]]
                     ) -> tuple[str, list[FactBase[Any]]]:
    """The one shell command read_deferred runs for `reads`, and the fact instances whose
    `process` reads each section (a fact may keep state from `command` for `process`).
    Per read: a marker line with its index, its command in a subshell (stderr dropped; behind
    `command -v` when the fact requires a binary), then a marker line with the index and the
    command's exit status. A read whose fact refuses its arguments gets a failing section."""
    parts, instances = [], []
    for index, (fact, kwargs) in enumerate(reads):
        instance = fact()
        instances.append(instance)
        try:
            command = (instance.command(**kwargs) if callable(instance.command)
                       else instance.command)
            requires = (instance.requires_command(**kwargs)
                        if callable(instance.requires_command) else instance.requires_command)
        except Exception:  # noqa: BLE001 - arguments the fact refuses: that section fails,
            # and the read is made alone by whoever asks for it, with pyinfra's own handling.
            command, requires = "false", None
        guard = (f"command -v {shlex.quote(_shell(requires))} >/dev/null 2>&1 && "
                 if requires else "")
        parts.append(f"echo '{MARK} {index}'; {guard}( {_shell(command)} ) 2>/dev/null; "
                     f"echo \"{MARK} {index} rc=$?\"")
    return "; ".join(parts), instances


def deferred_sections(lines: Sequence[str], count: int) -> dict[int, list[str]]:
    """`{read index: its output lines}` for each section of deferred_command's output that
    ended with exit status 0 (an index below `count`)."""
    sections: dict[int, list[str]] = {}
    current: int | None = None
    body: list[str] = []
    for line in lines:
        words = line.split()
        if len(words) == 2 and words[0] == MARK and words[1].isdigit():
            current, body = int(words[1]), []
        elif (len(words) == 3 and words[0] == MARK and current is not None
              and words[1] == str(current) and words[2].startswith("rc=")):
            if words[2] == "rc=0" and current < count:
                sections[current] = body
            current = None
        elif current is not None:
            body.append(line)
    return sections


def reading_ahead(op: Callable[..., Any],
                  read: Callable[..., tuple[type[FactBase[Any]], dict[str, Any]]]
                  ) -> Callable[..., Any]:
    """`op` (a pyinfra operation whose body reads through fact_until_change) that, called
    while pyinfra loads the deploy, first names that read (defer_fact): `read` takes the
    operation's arguments and returns (fact, its arguments). pyinfra's `_inner` is kept."""

    @functools.wraps(op)
    def call(*args: Any, **kwargs: Any) -> Any:
        from pyinfra import host

        fact, fact_kwargs = read(*args, **kwargs)
        defer_fact(host, fact, **fact_kwargs)
        return op(*args, **kwargs)

    return call


def read_in_background(host: Host, fact: type[FactBase[Any]], **kwargs: Any) -> None:
    """Start the read (`fact`, hashable `kwargs`) of `host` in a greenlet of its own, on another
    channel of the host's SSH connection, and return at once: for a slow read (a JVM's start)
    that would otherwise hold up the rest of the host's loading, and may run on into pyinfra's
    execution. fact_until_change and kept_fact wait for it and keep its answer; a read that
    failed (an SSH error, a timeout, a fact that raised) is not kept, nor does it fail the host
    here: the asking operation reads again, with pyinfra's own handling. Recorded as asked for
    (background_reads) even when it is under way already. Only while pyinfra loads the deploy
    (Prepare); anything else: nothing."""
    host = _the_host(host)
    if host.state.current_stage != StateStage.Prepare:
        return
    asked = _BACKGROUND.setdefault(host.state, {}).setdefault(host.name, [])
    if (fact, kwargs) not in asked:
        asked.append((fact, dict(kwargs)))
    _start(host, fact, kwargs)


def start_in_background(host: Host, reads: Sequence[Read]) -> None:
    """read_in_background for each of `reads`, but not recorded as asked for: deploy.py starts
    the ones a host asked for in the last run (remembered_reads) before its task files load;
    only a task file's own request keeps a read for the run after, so one no task file asks
    for any more (another first ZooKeeper member, ACLs off) is not started again."""
    host = _the_host(host)
    if host.state.current_stage != StateStage.Prepare:
        return
    for fact, kwargs in reads:
        _start(host, fact, kwargs)


def _the_host(host: Host) -> Host:
    """The Host itself for pyinfra's `host` proxy, as a task file has it: a greenlet needs the
    Host (ctx_host.use of the proxy would make it forward to itself without end)."""
    return host if isinstance(host, Host) else ctx_host.get()


def _start(host: Host, fact: type[FactBase[Any]], kwargs: dict[str, Any]) -> None:
    """The greenlet of read_in_background, unless that read is under way or kept already."""
    state = host.state
    key = _key(host, fact, kwargs)
    pending = _PENDING.setdefault(state, {})
    if key in pending or key in (_MEMO.get(state) or {}):
        return
    config = ctx_config.get()

    def read() -> Any:
        # pyinfra's per-greenlet context, as its own loader gives each host's greenlet. Not
        # pyinfra's get_fact: a failure here must not drop the host in the middle of another
        # operation's output; the operation that asks makes the read again.
        with ctx_config.use(config), ctx_host.use(host):
            try:
                return _answer_alone(host, fact, kwargs)
            except Exception:  # noqa: BLE001 - not kept; the asking operation reads again
                return _FAILED

    pending[key] = gevent.spawn(read)


def _answer_alone(host: Host, fact: type[FactBase[Any]], kwargs: dict[str, Any]) -> Any:
    """`fact`'s answer on `host` from its own command, as pyinfra's get_fact makes it (with the
    host's connector arguments), or _FAILED when the command failed; unlike get_fact, a
    failure neither fails the host nor prints."""
    instance = fact()
    command = instance.command(**kwargs) if callable(instance.command) else instance.command
    status, output = host.run_shell_command(
        command if isinstance(command, StringCommand) else StringCommand(command),
        **_connector_arguments(host))
    if not status:
        return _FAILED
    lines = output.stdout_lines
    return instance.process(lines) if lines else instance.default()


def _settle(state: State, host: Host, key: tuple[Any, ...]) -> None:
    """Wait for the background read of `key` if there is one, and keep its answer as made
    when none of the host's operations had run commands (count 0): it began in Prepare, but
    may have ended during execution. kept_fact uses a kept answer only while that count is
    still the host's, so an answer that may have seen an operation's change is dropped and
    read again. A failed read is not kept."""
    greenlet = (_PENDING.get(state) or {}).pop(key, None)
    if greenlet is None:
        return
    greenlet.join()
    if greenlet.successful() and greenlet.value is not _FAILED:
        _MEMO.setdefault(state, {})[key] = (0, greenlet.value)
