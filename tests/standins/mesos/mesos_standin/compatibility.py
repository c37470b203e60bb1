"""May a restarted agent keep its checkpointed id? (`--reconfiguration_policy`.)

apache/mesos 1.11.0 src/slave/compatibility.cpp and src/slave/slave.cpp (`compatible`,
`__recover`): the agent compares its SlaveInfo (hostname, port, domain, resources including the
auto-detected cpus/mem/disk/ports, attributes) with the one checkpointed under
<work_dir>/meta/slaves/latest. `equal` (the default) refuses any difference; `additive` allows
only growth (same hostname, port and domain; every old resource still there and not smaller;
every old attribute still there with the same value; a ranges attribute may only grow).
A refusal ends the agent: "Failed to perform recovery: <reason>" and how to start afresh.
"""

from __future__ import annotations

import json
from typing import Any

from . import resources as res

INFO_FIELDS = ("hostname", "port", "domain", "resources", "attributes")
POLICIES = ("equal", "additive")
_RULE = "\n------------------------------------------------------------"


def slave_info(hostname: str, port: int, domain: Any, resources: dict[str, Any],
               attributes: dict[str, Any]) -> dict[str, Any]:
    """The compared part of SlaveInfo; `domain` is the parsed --domain JSON or None."""
    return {"hostname": hostname, "port": port, "domain": domain, "resources": resources,
            "attributes": attributes}  # fmt: skip


def _show(info: dict[str, Any]) -> str:
    return json.dumps({k: info.get(k) for k in INFO_FIELDS if info.get(k) is not None},
                      sort_keys=True)  # fmt: skip


def equal(previous: dict[str, Any], current: dict[str, Any]) -> str | None:
    """None when the infos are the same, else compatibility::equal's message."""
    if all(previous.get(k) == current.get(k) for k in INFO_FIELDS):
        return None
    return "\n".join(["Incompatible agent info detected. ", _RULE,
                      "Old agent info:\n" + _show(previous), _RULE,
                      "New agent info:\n" + _show(current), _RULE])  # fmt: skip


def additive(previous: dict[str, Any], current: dict[str, Any]) -> str | None:
    """None when `current` only adds to `previous`, else compatibility::additive's message."""
    not_permitted = "Configuration change not permitted under `additive` policy: "
    if previous.get("hostname") != current.get("hostname"):
        return f"{not_permitted}Hostname changed from {previous.get('hostname')} to " \
               f"{current.get('hostname')}"
    if previous.get("port") != current.get("port"):
        return f"{not_permitted}Port changed from {previous.get('port')} to {current.get('port')}"
    if previous.get("domain") is not None and previous.get("domain") != current.get("domain"):
        return f"{not_permitted}Domain changed from {previous.get('domain')} to " \
               f"{current.get('domain')}"
    policy = "Configuration change not permitted under 'additive' policy"
    new_res = current.get("resources") or {}
    for name, old in (previous.get("resources") or {}).items():
        if name not in new_res:
            return f"{policy}. Resource not found: {name}:{old}"
        new = new_res[name]
        if isinstance(old, str):
            if not _ranges_within(old, str(new)):
                return (f"{policy}: Previous value of range resource '{name}' ({old}) not "
                        f"included in current {new}")  # fmt: skip
        elif float(old) > float(new):
            return f"{policy}: Value of scalar resource '{name}' decreased from {old} to {new}"
    new_attrs = current.get("attributes") or {}
    for name, old in (previous.get("attributes") or {}).items():
        if name not in new_attrs:
            return f"{policy}: Couldn't find attribute {name}:{old}"
        new = new_attrs[name]
        if isinstance(old, str) and old.startswith("[") and isinstance(new, str):
            if not _ranges_within(old, new):
                return (f"Previous value of ranges resource '{name}' ({old}) not included in "
                        f"current {new}")  # fmt: skip
        elif type(old) is not type(new):
            return (f"{policy}: Type of attribute '{name}' changed from "
                    f"{type(old).__name__} to {type(new).__name__}")  # fmt: skip
        elif old != new:
            kind = "text" if isinstance(old, str) else "scalar"
            return f"{policy}: Value of {kind} attribute '{name}' changed from {old} to {new}"
    return None


def _ranges_within(old: str, new: str) -> bool:
    have = res.merge(res.parse_ranges(new))
    return all(any(lo >= a and hi <= b for a, b in have) for lo, hi in res.parse_ranges(old))


def check(policy: str, previous: dict[str, Any], current: dict[str, Any]) -> str | None:
    """Slave::compatible: None when the checkpointed id may be kept, else why not."""
    return equal(previous, current) if policy == "equal" else additive(previous, current)


def recovery_failure(reason: str, latest: str) -> str:
    """The agent's exit message (Slave::__recover)."""
    return "\n".join([
        f"Failed to perform recovery: {reason}",
        "If recovery failed due to a change in configuration and you want to",
        "keep the current agent id, you might want to change the",
        "`--reconfiguration_policy` flag to a more permissive value.",
        "",
        "To restart this agent with a new agent id instead, do as follows:",
        f"rm -f {latest}",
        "This ensures that the agent does not recover old live executors.",
        "",
        "Finally, restart the agent.",
    ])
