"""Which data keys and groups an inventory may use; anything else is a typo and refused.

pyinfra hands every data key to the deploy without complaint, so `mesos_master_prot = 5052`
would silently leave the default port in place on a production cluster. Known keys are:

- this project's keys: `schema.SCHEMA`, the flag dicts (`schema.FLAG_DICT_KEYS`), and the two
  per-host keys validation.py checks itself (`ip`, `zookeeper_id`);
- the keys pyinfra itself reads from host data, taken from the installed pyinfra 3 rather than
  listed by hand: every global/connector argument (`pyinfra/api/arguments.py`,
  `all_global_arguments()`: `_sudo`, `_sudo_user`, `_su_user`, `_env`, ..., each read as
  `getattr(host.data, key)` in `pop_global_arguments`) and each connector's data: the SSH
  connector's (`pyinfra/connectors/ssh.py`, `ConnectorData`: `ssh_user`, `ssh_key`,
  `ssh_port`, ..., read by `connectors/base.py` `host_to_connector_data`) and those of the
  other registered connectors (`pyinfra/api/connectors.py` `get_all_connectors`: @fake's
  `fake_responses` in the unit tests, @docker's `docker_identifier`, ...).

Known groups are `topology.ROLE_GROUPS` plus the group pyinfra makes from the inventory file's
name (`pyinfra_cli/inventory.py` `make_inventory_from_files`: `prod.py` -> `prod`).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from typing import get_type_hints

from pyinfra.api.arguments import all_global_arguments
from pyinfra.api.connectors import get_all_connectors
from pyinfra.connectors.ssh import SSHConnector

from pyinfra_mesos.schema import FLAG_DICT_KEYS, SCHEMA
from pyinfra_mesos.topology import ROLE_GROUPS

# Per-host keys validation.py checks itself (they need the group or the other hosts).
HOST_KEYS = ("ip", "zookeeper_id")


@functools.cache
def pyinfra_keys() -> frozenset[str]:
    """The data keys the installed pyinfra reads (global arguments and connector data)."""
    names = {name for name, _ in all_global_arguments()}
    names |= set(get_type_hints(SSHConnector.data_cls))
    for connector in get_all_connectors().values():
        names |= set(getattr(connector, "data_meta", None) or {})
        data_cls = getattr(connector, "data_cls", None)
        if data_cls is not None:
            names |= set(get_type_hints(data_cls))
    return frozenset(names)


@functools.cache
def known_keys() -> frozenset[str]:
    """Every data key an inventory, group_data file or `--data` may set."""
    return frozenset(SCHEMA) | frozenset(FLAG_DICT_KEYS) | frozenset(HOST_KEYS) | pyinfra_keys()


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate by difflib's ratio (cutoff 0.6), or None when nothing is close."""
    found = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_key_message(key: str) -> str:
    """`unknown key; did you mean 'x'?` (the hint only when a known key is close)."""
    hint = closest(key, known_keys())
    return "unknown key" + (f"; did you mean {hint!r}?" if hint else
                            " (no setting of pyinfra-mesos or pyinfra has this name; see "
                            "group_data/all.py)")


def unknown_keys(keys: Iterable[object]) -> list[object]:
    """The keys of one host's data that nothing reads, in the order given."""
    known = known_keys()
    return [key for key in keys if not (isinstance(key, str) and key in known)]


def unknown_group_message(group: str) -> str:
    hint = closest(group, ROLE_GROUPS)
    return ("unknown group" + (f"; did you mean {hint!r}?" if hint else
                               f"; the groups are {', '.join(ROLE_GROUPS)} (and the group "
                               "pyinfra names after the inventory file)"))
