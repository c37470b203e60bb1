"""An agent's `mesos_resources` and `mesos_attributes`: Mesos' text syntax, and where its ports are.

Grammar (apache/mesos docs/attributes-resources.md, 1.11):

    attribute : text ":" ( scalar | range | text )
    resource  : name [ "(" role ")" ] ":" ( scalar | range | set )
    text      : [a-zA-Z0-9_/.-]+      range : "[" lo "-" hi ( "," lo "-" hi )* "]"
    set       : "{" text ( "," text )* "}"

A resource may carry a role, `ports(*)` or `cpus(analytics)`; it is still the agent's `ports` or
`cpus` (the role only reserves it). Role names follow apache/mesos src/common/roles.cpp (no
whitespace, no control characters, not "." or "..", no leading "-"); this deploy also keeps out
the characters that are syntax in the resources string (`:;()[]{},`) and accepts `/` only
between components (hierarchical roles, Mesos 1.3+).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pyinfra_mesos.value_checks import has_control, is_number, is_scalar_text, scalar_value

TEXT = re.compile(r"[A-Za-z0-9_./-]+")
_ROLE_COMPONENT = r"(?!\.\.?(?:/|\)|\Z))[A-Za-z0-9_.][A-Za-z0-9_.-]*"
_ROLE = rf"\*|{_ROLE_COMPONENT}(?:/{_ROLE_COMPONENT})*"
RESOURCE_NAME = re.compile(rf"(?P<name>[A-Za-z0-9_./-]+)(?:\((?P<role>{_ROLE})\))?")
# [0-9], not \d: Mesos parses ASCII digits only (Python's \d also matches "٣").
_RANGES = re.compile(r"\[ *[0-9]+ *- *[0-9]+ *(?:, *[0-9]+ *- *[0-9]+ *)*\]")
_SET = re.compile(r"\{[A-Za-z0-9_./-]+(?:,[A-Za-z0-9_./-]+)*\}")

NUMERIC_RESOURCES = ("cpus", "mem", "disk", "gpus")
PORTS = "ports"


def parse_ranges(value: Any) -> list[tuple[int, int]] | None:
    """Mesos' range syntax `[31000-32000, 33000-33010]` -> [(31000, 32000), ...]; None if bad.

    Ports only: every bound 1..65535 and low <= high.
    """
    if not isinstance(value, str) or _RANGES.fullmatch(value) is None:
        return None
    ranges = []
    for part in value[1:-1].split(","):
        lo, hi = (int(x) for x in part.split("-"))
        if not 1 <= lo <= hi <= 65535:
            return None
        ranges.append((lo, hi))
    return ranges


def base_name(resource: Any) -> str | None:
    """`ports(*)` -> `ports`, `cpus` -> `cpus`; None when `resource` is not a resource name."""
    if not isinstance(resource, str):
        return None
    found = RESOURCE_NAME.fullmatch(resource)
    return found.group("name") if found else None


def ports_keys(resources: Any) -> list[str]:
    """The keys of `resources` that give the agent's ports: `ports`, `ports(*)`, `ports(role)`."""
    if not isinstance(resources, Mapping):
        return []
    return [key for key in resources if base_name(key) == PORTS]


def agent_ports(data: Mapping[str, Any], default: Any) -> tuple[str, Any]:
    """`(field, value)` of an agent's task ports: its `ports(...)` resource, else the default.

    `data` is the host's data; `default` is mesos_agent_ports as the caller resolved it. The
    field names what a problem should point at (`mesos_resources.ports(*)`).
    """
    resources = data.get("mesos_resources")
    keys = ports_keys(resources)
    if keys:
        return f"mesos_resources.{keys[0]}", resources[keys[0]]  # type: ignore[index]
    return "mesos_agent_ports", default


def _value_problem(base: str, value: Any) -> str | None:
    if base == PORTS:
        if parse_ranges(value) is None:
            return (f"{value!r} is not a Mesos port range list like \"[31000-32000]\" "
                    "(ports 1..65535, low-high)")
        return None
    if base in NUMERIC_RESOURCES:
        if not is_scalar_text(value) or (base != "gpus" and scalar_value(value) == 0):
            return (f"{value!r} is not a {'non-negative' if base == 'gpus' else 'positive'} "
                    f"number{' (MB)' if base in ('mem', 'disk') else ''}")
        if base == "gpus" and not float(scalar_value(value)).is_integer():
            return f"{value!r}: gpus are whole devices, give an integer"
        return None
    if is_scalar_text(value) or parse_ranges(value) is not None or (
            isinstance(value, str) and _SET.fullmatch(value)):
        return None
    return (f"{value!r}: a custom resource is a number, a range list \"[a-b]\" or a set "
            "\"{a,b}\"")


def check_resources(value: Any) -> Iterator[tuple[str, str]]:
    """`mesos_resources`: `{name or name(role): value}` in Mesos' resource syntax."""
    if not isinstance(value, Mapping):
        yield "", (f"must be a dict like {{\"cpus\": 2, \"mem\": 2048}}, not "
                   f"{type(value).__name__}")
        return
    seen: dict[str, str] = {}
    for name, item in value.items():
        label = f".{name}" if isinstance(name, str) and not has_control(name) else f"[{name!r}]"
        base = base_name(name)
        if base is None:
            yield label, ("resource names use letters, digits and _ . / -, optionally with a "
                          "role: name(role), e.g. ports(*)")
            continue
        if base in seen:
            yield label, (f"a second {base} entry (also {seen[base]}); give each resource once")
            continue
        seen[base] = str(name)
        problem = _value_problem(base, item)
        if problem:
            yield label, problem


def check_attributes(value: Any) -> Iterator[tuple[str, str]]:
    """`mesos_attributes`: `{name: text | number | range}` in Mesos' attribute syntax."""
    if not isinstance(value, Mapping):
        yield "", f"must be a dict like {{\"rack\": \"r1\"}}, not {type(value).__name__}"
        return
    for name, item in value.items():
        label = f".{name}" if isinstance(name, str) and not has_control(name) else f"[{name!r}]"
        if not isinstance(name, str) or TEXT.fullmatch(name) is None:
            yield label, "attribute names use only letters, digits and _ . / -"
        elif isinstance(item, bool) or not (isinstance(item, str) or is_number(item)):
            yield label, f"value must be text or a number, not {item!r}"
        elif isinstance(item, str) and not (TEXT.fullmatch(item) or parse_ranges(item)):
            yield label, (f"{item!r}: text values use only letters, digits and _ . / - "
                          "(Mesos splits on : and ;)")
