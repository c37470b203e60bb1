"""The flag names Mesos 1.11 and Marathon 1.10 accept, and which of them are required.

The lists (pyinfra_mesos/data/*.tsv) are read from upstream: apache/mesos 1.11.0
src/master/flags.cpp, src/slave/flags.cpp and src/logging/flags.cpp; d2iq-archive/marathon
v1.10.26, every option reachable from src/main/scala/mesosphere/marathon/AllConf.scala; the
aventer-mesos package's own additions (docs/REAL-CONTRACTS.md). Both
programs refuse to start on an unknown flag, so a typo here would be a crash loop on every host;
checking names before any host is touched turns it into one clear line instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from pyinfra_mesos import flag_tables
from pyinfra_mesos.value_checks import duration, is_digits

Kind = flag_tables.Program

_FILES: dict[str, str] = {
    "master": "mesos-1.11-master-flags.tsv",
    "agent": "mesos-1.11-agent-flags.tsv",
    "marathon": "marathon-1.10-flags.tsv",
}
# Flags aventer-mesos (m3scluster/clusterd v1.11.0-0.6.0 .. 0.9.0) adds to Apache Mesos 1.11.0:
# `cleanup_log_files` (src/logging/flags.cpp: master and agent) and 17 agent flags
# (src/slave/flags.cpp, port-mapping and XFS isolator blocks). Rows: name, default, programs.
_AVENTER_EXTRA = "aventer-mesos-1.11.0-extra-flags.tsv"

# The data key that holds the user's extra flags for each kind (group_data/all.py).
DATA_KEYS: dict[str, str] = {kind: t.user_key for kind, t in flag_tables.TABLES.items()}


@cache
def _rows(kind: str) -> tuple[tuple[str, ...], ...]:
    if kind not in _FILES:
        raise ValueError(f"unknown flag list {kind!r}; use one of {sorted(_FILES)}")
    text = resources.files("pyinfra_mesos").joinpath("data", _FILES[kind]).read_text("utf-8")
    rows = [tuple(line.split("\t")) for line in text.splitlines() if line.strip()]
    if kind in ("master", "agent"):
        extra = resources.files("pyinfra_mesos").joinpath("data", _AVENTER_EXTRA)
        for line in extra.read_text("utf-8").splitlines():
            name, default, programs = line.split("\t")
            if kind in programs.split(","):
                rows.append((name, default))
    return tuple(rows)


def unknown_flag_effect(kind: Kind) -> str:
    """What an unknown flag does, as the deploy passes flags (MESOS_* variables in the env files
    the init wrapper sources; MARATHON_* variables that Marathon's envToArgs turns into argv).

    stout loads only MESOS_* variables that name a flag and silently ignores the rest
    (apache/mesos 1.11.0 3rdparty/stout/include/stout/flags/flags.hpp): the setting would just
    not happen. Marathon's parser refuses an unknown argument and the service does not start.
    """
    if kind == "marathon":
        return "unknown Marathon 1.10 flag (Marathon would refuse to start)"
    return (f"unknown aventer-mesos 1.11 {kind} flag (Mesos silently ignores an unknown "
            f"MESOS_* variable: the setting would have no effect)")


def known_flags(kind: Kind) -> frozenset[str]:
    """Every flag name (without `--`) the program of this kind accepts."""
    return frozenset(row[0] for row in _rows(kind))


def boolean_flags(kind: Kind) -> frozenset[str]:
    """Marathon flags that take no value (given as `MARATHON_<FLAG>=`); empty for Mesos."""
    if kind != "marathon":
        return frozenset()
    return frozenset(row[0] for row in _rows(kind) if len(row) > 3 and row[3] == "boolean")


def _is_set(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def required_flags(kind: Kind, flags: Mapping[str, Any]) -> list[str]:
    """The required flags that `flags` lacks or leaves empty, in a stable order.

    Mesos: the master needs `work_dir` (the replicated log) and `quorum` whenever `zk` is set;
    the agent needs `work_dir` and `master` (docs/configuration/*.md). Marathon needs `master`
    (the only `required = true` option in MarathonConf.scala).
    """
    if kind == "master":
        needed = ["work_dir"] + (["quorum"] if _is_set(flags.get("zk")) else [])
    elif kind == "agent":
        needed = ["work_dir", "master"]
    elif kind == "marathon":
        needed = [row[0] for row in _rows(kind) if len(row) > 2 and row[2] == "required"]
    else:
        raise ValueError(f"unknown flag list {kind!r}; use one of {sorted(_FILES)}")
    return [name for name in needed if not _is_set(flags.get(name))]


def suggest(kind: Kind, name: str) -> str | None:
    """The closest known flag name, for a "did you mean" hint (None when nothing is close)."""
    # People paste `--work_dir` or `MESOS_WORK_DIR`; strip those forms before comparing.
    bare = name.strip().lstrip("-")
    for prefix in ("MESOS_", "MARATHON_"):
        if bare.upper().startswith(prefix):
            bare = bare[len(prefix):]
    bare = bare.lower().replace("-", "_")
    known = known_flags(kind)
    if bare in known and bare != name:
        return bare
    close = difflib.get_close_matches(bare, sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None


def unknown_flags(kind: Kind, names: Iterable[str]) -> dict[str, str | None]:
    """`{unknown name: suggested known name or None}`, in the order given."""
    known = known_flags(kind)
    return {name: suggest(kind, name) for name in names if name not in known}


# -- flags the deploy computes, and secrets ------------------------------------------------------

# Every flag the deploy sets and an operator's flag dict may not override, with the data key
# (or rule) that sets it, derived from the rows of pyinfra_mesos/flag_tables.py (Row.set_by;
# overridable rows are left out). Giving one in a flag dict is refused, naming that key: an
# override of `ip` would skip the loopback check, of `port` the port-collision checks, of
# `resources` the ports checks, of `quorum` the replicated-log safety.
COMPUTED_FLAGS: dict[str, dict[str, str]] = {
    kind: flag_tables.computed_flags(kind) for kind in flag_tables.TABLES}

# Flags whose value is a secret or names one. Through a flag dict it would be printed by
# `--debug`/`--diff` and, for Marathon, land on the container's command line; the deploy takes
# each from its own key (value) or manages it itself (None).
SECRET_FLAGS: dict[str, dict[str, str | None]] = {
    "master": {"credentials": None},
    "agent": {"credential": None, "http_credentials": None, "jwt_secret_key": None,
              # Docker registry auths (`{"auths": ...}`), printed by --diff from an env file.
              "docker_config": None},
    "marathon": {
        "http_credentials": "marathon_http_credentials",
        "mesos_authentication_secret": None,
        "mesos_authentication_secret_file": None,
        "ssl_keystore_password": None,
    },
}


def override_refusal(kind: Kind, name: str) -> str | None:
    """Why `name` may not appear in the user's flag dict of this kind, or None when it may."""
    secret = SECRET_FLAGS.get(kind, {})
    if name in secret:
        key = secret[name]
        if key:
            return (f"a secret; give it as {key} instead (written only to a 0600 file, never "
                    "printed or put on a command line)")
        return ("a secret; the deploy does not take it from a flag dict, whose values are "
                "printed and reach command lines")
    rule = COMPUTED_FLAGS.get(kind, {}).get(name)
    if rule is None:
        return None
    if rule.startswith("computed"):
        return f"the deploy computes it ({rule}); remove it"
    return f"the deploy computes it; set {rule} instead"


def default_value(kind: Kind, name: str) -> str | None:
    """The default the upstream list records for a flag (None when it records none)."""
    for row in _rows(kind):
        if row[0] == name and len(row) > 1 and row[1] != "" and not row[1].startswith("("):
            return row[1]
    return None


def value_form(kind: Kind, name: str) -> str | None:
    """"bool", "int" or "duration" when the flag's upstream default shows its type, else None.

    Mesos and Marathon refuse to start on a value they cannot parse as the flag's type
    (stout flags: "Failed to load flag"); the default is the only type record in the lists.
    """
    default = default_value(kind, name)
    if default is None or name in boolean_flags(kind):
        return None
    if default in ("true", "false"):
        return "bool"
    # The same rules that then check a user's value of the flag (value_checks): ASCII digits
    # only, and stout's duration syntax.
    if is_digits(default):
        return "int"
    if not any(duration(default)):
        return "duration"
    return None
