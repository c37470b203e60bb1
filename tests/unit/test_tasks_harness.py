"""Run the deploy's task files in-process against pyinfra @fake hosts (no connection, no CLI).

Facts come from each host's `fake_responses` (command substring -> output); anything else
answers empty, which looks like a fresh host. `plan()` returns, per host, the operations the
task files generated: their names and the shell commands they would run.
"""

from __future__ import annotations

import os
import re
import runpy
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyinfra
from pyinfra.api import Config, Inventory, State
from pyinfra.api.command import FileUploadCommand, StringCommand
from pyinfra.api.connect import connect_all
from pyinfra.api.operation import OperationMeta
from pyinfra.api.state import StateStage
from pyinfra.connectors.util import CommandOutput
from pyinfra.context import ctx_config, ctx_host, ctx_inventory, ctx_state
from pyinfra_cli.util import exec_file

from pyinfra_mesos.deploy import remembered_reads
from pyinfra_mesos.deploy.frame_modules import register_deploy_files
from pyinfra_mesos.firewall import UNIT as FIREWALL_UNIT
from pyinfra_mesos.topology import ROLE_TASKS, SETTLED_BARRIER, TASK_FILES, topology_from_inventory

ROOT = Path(__file__).resolve().parents[2]

OS_RELEASE = ["/etc/os-release", 'NAME="Debian GNU/Linux"', "ID=debian", 'VERSION_ID="12"',
              "VERSION_CODENAME=bookworm", "---"]


def group_defaults() -> dict[str, Any]:
    values = runpy.run_path(str(ROOT / "group_data" / "all.py"))
    return {k: v for k, v in values.items() if not k.startswith("__")}


def units_answer(substates: Mapping[str, str], file_state: str = "enabled"
                 ) -> dict[str, list[str]]:
    """The answer of units.UnitStates for `substates` (unit -> SubState, in the order the
    operation asks), every unit's UnitFileState `file_state`: one block per unit as systemctl
    show prints them."""
    lines: list[str] = []
    for unit, substate in substates.items():
        lines += [f"Id={unit}", f"SubState={substate}", f"UnitFileState={file_state}", ""]
    return {f"--property SubState --property UnitFileState {' '.join(substates)}": lines}


# The host's one read of every unit the deploy manages (deploy/units.py unit_states) begins with
# the first of managed_units, the firewall's unit.
ONE_UNIT_READ = re.compile(r"--property UnitFileState " + re.escape(FIREWALL_UNIT) + " ")


def with_one_unit_read(responses: Mapping[Any, Any]) -> dict[Any, Any]:
    """`responses` plus the answer of the host's one unit read: the blocks of every per-unit
    answer a test gives (units_answer's, and SystemdStatus's `--property SubState <unit>`), in
    the order given, so a test names only the units it cares about."""
    lines: list[str] = []
    for key, value in responses.items():
        if isinstance(key, str) and "--property SubState" in key and isinstance(value, list):
            lines += [*value, ""]
    return {ONE_UNIT_READ: lines, **responses} if lines else dict(responses)


def fake_host(name: str, responses: Mapping[Any, Any] | None = None,
              **data: Any) -> tuple[str, dict[str, Any]]:
    fake_responses = {"-release": OS_RELEASE, **with_one_unit_read(responses or {})}
    return (f"@fake/{name}", {"fake_delay": 0, "fake_delay_jitter": 0,
                              "fake_responses": fake_responses, **data})


@dataclass
class PlannedOp:
    name: str
    all_names: set[str]
    commands: list[str]
    global_arguments: dict[str, Any]
    # dest -> content of every in-memory upload (rendered templates, files.put of a StringIO).
    uploads: dict[str, str]
    # pyinfra's operation hash: what an `_if=<op>.did_change` names (OperationMeta._hash).
    op_hash: str = ""


def _upload_text(command: Any) -> tuple[str, str] | None:
    src = getattr(command, "src", None)
    if not isinstance(command, FileUploadCommand) or not hasattr(src, "getvalue"):
        return None
    value = src.getvalue()
    return str(command.dest), value.decode() if isinstance(value, bytes) else str(value)


def _command_text(command: Any) -> str:
    if isinstance(command, StringCommand):
        return command.get_masked_value()
    if isinstance(command, str):
        return command
    # File uploads and functions: name them so a test can still see them (and their order).
    function = getattr(command, "function", None)
    detail = getattr(function, "__name__", None) or str(getattr(command, "dest", ""))
    return type(command).__name__ + ":" + detail


# Task file -> the roles whose hosts deploy.py includes it for (None: every cluster host), from
# the deploy's own table (topology.ROLE_TASKS; its barrier is an operation, not a file).
TASK_ROLES: dict[str, frozenset[str] | None] = {
    task: roles for task, roles in ROLE_TASKS if task != SETTLED_BARRIER}


@contextmanager
def prepared(groups: Mapping[str, Iterable[tuple[str, dict[str, Any]]]],
             data: Mapping[str, Any] | None = None, check_for_changes: bool = True
             ) -> Iterator[tuple[State, Inventory]]:
    """A pyinfra State connected to @fake hosts `groups` (group_data/all.py defaults, then
    `data`), in the Prepare stage, with the contexts, cwd and `pyinfra.is_cli` the CLI sets,
    all restored on exit. Generated secrets go to a fresh directory, never the checkout's own
    credentials/."""
    scratch = tempfile.mkdtemp(prefix="pyinfra-mesos-plan-")
    all_data = {**group_defaults(), "credentials_dir": scratch, **(data or {})}
    group_hosts = {g: list(hosts) for g, hosts in groups.items()}
    names = list(dict.fromkeys(name for hosts in group_hosts.values() for name, _ in hosts))
    host_data = {name: d for hosts in group_hosts.values() for name, d in hosts}
    inventory = Inventory(
        ([(name, host_data[name]) for name in names], all_data),
        **{g: ([name for name, _ in hosts], {}) for g, hosts in group_hosts.items()},
    )
    # As deploy.py does: the task files resolve to modules in pyinfra's per-operation stack walk.
    register_deploy_files(str(ROOT / task) for task in TASK_FILES)
    state = State(check_for_changes=check_for_changes)
    state.init(inventory, Config())
    old_cwd, old_is_cli = os.getcwd(), pyinfra.is_cli
    # The reads deploy.py remembers for the next run go to the scratch directory too: one
    # test's hosts must not change what the next test's first command reads.
    old_remembered = remembered_reads.REMEMBERED_READS
    remembered_reads.REMEMBERED_READS = Path(scratch) / "planning-reads.json"
    os.chdir(ROOT)
    pyinfra.is_cli = True
    state.cwd = str(ROOT)
    try:
        with ctx_state.use(state), ctx_inventory.use(inventory), ctx_config.use(state.config):
            state.set_stage(StateStage.Connect)
            connect_all(state)
            state.set_stage(StateStage.Prepare)
            yield state, inventory
    finally:
        os.chdir(old_cwd)
        pyinfra.is_cli = old_is_cli
        remembered_reads.REMEMBERED_READS = old_remembered


def plan(groups: Mapping[str, Iterable[tuple[str, dict[str, Any]]]],
         task_files: Iterable[str], data: Mapping[str, Any] | None = None
         ) -> dict[str, list[PlannedOp]]:
    """Generate the operations of `task_files` (paths under the repo) for the hosts whose roles
    deploy.py includes each file for."""
    with prepared(groups, data, check_for_changes=False) as (state, inventory):
        topo = topology_from_inventory(inventory)
        for number, task in enumerate(task_files):
            path = str(ROOT / task)
            state.current_op_file_number = number
            state.current_deploy_filename = path
            for host in inventory.get_active_hosts():
                wanted = TASK_ROLES[task]
                if wanted is not None and not wanted & topo.roles_of(host.name):
                    continue
                with ctx_host.use(host):
                    exec_file(path)
        return _collect(state, inventory)


def _collect(state: State, inventory: Inventory) -> dict[str, list[PlannedOp]]:
    result: dict[str, list[PlannedOp]] = {}
    order = state.get_op_order()
    for host in inventory:
        ops = []
        with ctx_host.use(host):
            for op_hash in order:
                if op_hash not in host.op_hash_order:
                    continue
                meta = state.get_op_meta(op_hash)
                op_data = state.get_op_data_for_host(host, op_hash)
                generated = list(op_data.command_generator())
                commands = [_command_text(c) for c in generated]
                uploads = dict(u for u in map(_upload_text, generated) if u)
                # One operation (same line) can carry a different name on each host.
                all_names = {n.split(" | ", 1)[-1] for n in meta.names}
                ops.append(PlannedOp(min(all_names, default=""), all_names, commands,
                                     {**meta.global_arguments, **op_data.global_arguments},
                                     uploads, op_hash))
        result[host.name.removeprefix("@fake/")] = ops
    return result


def op_named(ops: list[PlannedOp], prefix: str) -> PlannedOp:
    for op in ops:
        if any(name.startswith(prefix) for name in op.all_names):
            return op
    raise AssertionError(f"no operation starting {prefix!r} in {[o.name for o in ops]}")


def condition_after(op: PlannedOp, *, upstream_changed: bool) -> bool:
    """Evaluate an operation's `_if` as if every operation it depends on had run, changing
    something (`upstream_changed`) or not. pyinfra decides `did_change` from whether an operation
    ran commands, so completing the upstream metas with or without one is the real input."""
    condition: Callable[[], bool] = op.global_arguments["_if"]
    metas: list[OperationMeta] = []
    if isinstance(getattr(condition, "__self__", None), OperationMeta):
        metas.append(condition.__self__)  # `meta.did_change` passed directly
    for cell in condition.__closure__ or ():  # any_changed(*metas)
        if isinstance(cell.cell_contents, tuple):
            metas.extend(m for m in cell.cell_contents if isinstance(m, OperationMeta))
    assert metas, f"{op.name}: _if does not depend on any operation"
    for meta in metas:
        # Several conditions share upstream metas (the unit files feed the daemon-reload and
        # the bridge run); forget a previous evaluation's outcome first.
        meta._success = None
        meta.set_complete(True, ["changed"] if upstream_changed else [], CommandOutput([]))
    return condition()


def started(epoch: float) -> str:
    """ServiceFreshness's systemctl line for a unit that became active at `epoch` (seconds):
    `systemctl show --timestamp=us+utc -p ActiveEnterTimestamp`'s own form."""
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(epoch, UTC)
    return "ActiveEnterTimestamp=" + moment.strftime("%a %Y-%m-%d %H:%M:%S.%f UTC")
