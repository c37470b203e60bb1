"""`python -m pyinfra_mesos check INVENTORY [--apps DIR]`: validate offline, before a deploy.

It loads the inventory exactly as pyinfra would (group_data included) but contacts no host: the
same refusals `deploy.py` makes, available in CI or on a laptop without SSH access.
Exit status: 0 no errors (warnings allowed), 1 errors, 2 usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pyinfra_cli.util import parse_cli_arg

from pyinfra_mesos.inventory_data import file_name_group_problems, project_root
from pyinfra_mesos.inventory_loader import inventory_file_groups, load_inventory
from pyinfra_mesos.problems import Problem, errors, summary
from pyinfra_mesos.topology import Topology, topology_from_inventory
from pyinfra_mesos.validation import group_override_warnings, validate_inventory


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pyinfra_mesos",
                                     description="Offline checks for a pyinfra-mesos cluster.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check", help="validate an inventory (and the apps) without touching any host",
        description="Validate an inventory, its group_data and the Marathon apps without "
                    "touching any host. Exit 0: no errors; 1: errors; 2: usage error.")
    check.add_argument("inventory", metavar="INVENTORY", help="inventory file, e.g. "
                                                             "inventory/example_production.py")
    check.add_argument("--apps", metavar="DIR",
                       help="directory of Marathon app JSON files (default: apps/ in the "
                            "project root, when it exists)")
    check.add_argument("--data", metavar="KEY=VALUE", action="append", default=[],
                       help="override data like `pyinfra --data` (repeatable)")
    # Day-two entry points (issue 12); each module documents its exit codes and sets `run`.
    from pyinfra_mesos import backup, drain, remove, restore, status

    for module in (status, backup, restore, drain, remove):
        module.add_parser(commands)
    return parser


def _app_problems(apps_dir: str, topo: Topology) -> list[Problem]:
    # Imported here: apps validation is its own part of the tree, and `check` on an inventory
    # alone must not depend on it being importable.
    try:
        from pyinfra_mesos.apps import validate_app_dir
    except ModuleNotFoundError as exc:
        if exc.name != "pyinfra_mesos.apps":
            raise
        return [Problem("warning", apps_dir, "apps", "not checked: pyinfra_mesos.apps is missing")]
    return validate_app_dir(apps_dir, topo)


def check(inventory: str, apps_dir: str | None, override_data: dict[str, object]) -> list[Problem]:
    """Every problem `check` reports, in the order printed."""
    loaded = load_inventory(inventory, override_data)
    if isinstance(loaded, Problem):
        return [loaded]
    problems = file_name_group_problems(inventory, inventory_file_groups(inventory))
    topo = topology_from_inventory(loaded)
    problems += validate_inventory(loaded, inventory)
    problems += group_override_warnings(inventory)
    if apps_dir is None:
        apps_dir = _data_apps_dir(topo)
    if apps_dir is not None:
        problems += _app_problems(apps_dir, topo)
    return problems


def _data_apps_dir(topo: Topology) -> str | None:
    """The apps directory the deploy would read (tasks/apps.py): the first Marathon host's
    `apps_dir`, relative to the project; None when it does not exist (nothing to check)."""
    member = (topo.marathons or topo.all_members or (None,))[0]
    if member is None:
        return None
    path = Path(str(member.data.get("apps_dir") or "apps"))
    if not path.is_absolute():
        path = project_root() / path
    return str(path) if path.is_dir() else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error
    if args.command != "check":
        return int(args.run(args))
    if not Path(args.inventory).is_file():
        parser.error(f"no such inventory file: {args.inventory}")
    override_data: dict[str, object] = {}
    for item in args.data:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--data needs KEY=VALUE, got {item!r}")
        override_data[key] = parse_cli_arg(value)  # same value parsing as pyinfra's --data
    apps_dir = args.apps
    if apps_dir is not None and not Path(apps_dir).is_dir():
        parser.error(f"no such apps directory: {apps_dir}")

    problems = check(args.inventory, apps_dir, override_data)
    for problem in problems:
        print(problem.format())
    failed = bool(errors(problems))
    verdict = "refused" if failed else "ok"
    print(f"{verdict}: {args.inventory}: {summary(problems)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
