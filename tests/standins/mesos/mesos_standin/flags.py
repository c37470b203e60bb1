"""Flag loading the way stout does it (argv `--name=value`, `--[no-]name`, `MESOS_<NAME>` env).

The known flags are the Mesos 1.11 lists (name<TAB>default). Messages copy stout's wording so the
deploy's error handling sees what real Mesos prints.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .aventer_flags import extra_flags

# Installed layout first would shadow the source tree during tests, so prefer the copy that sits
# next to this checkout (pyinfra_mesos/data) and fall back to the one the .deb ships.
_SOURCE_DATA = Path(__file__).resolve().parents[4] / "pyinfra_mesos" / "data"
_INSTALLED_DATA = Path("/usr/share/mesos-standin")


class FlagError(Exception):
    """A flag could not be loaded; the message is what Mesos prints."""


@dataclass
class Flags:
    program: str
    defaults: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """The loaded value, else the default, else None (an unset Option<> flag)."""
        if name in self.values:
            return self.values[name]
        default = self.defaults[name]
        return default if default != "" else None

    def is_set(self, name: str) -> bool:
        return name in self.values

    def boolean(self, name: str) -> bool:
        return parse_bool(name, self.get(name) or "false")

    def effective(self) -> dict[str, str]:
        """Flags as /state shows them: every flag that has a value (default or loaded)."""
        out = {k: v for k, v in self.defaults.items() if v != ""}
        out.update(self.values)
        return dict(sorted(out.items()))


def flag_list_path(kind: str) -> Path:
    name = f"mesos-1.11-{kind}-flags.tsv"
    for base in (_SOURCE_DATA, _INSTALLED_DATA):
        if (base / name).exists():
            return base / name
    raise FileNotFoundError(f"{name} not found in {_SOURCE_DATA} or {_INSTALLED_DATA}")


def read_flag_list(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, default = line.partition("\t")
        out[name.strip()] = default.strip()
    return out


def is_boolean(defaults: Mapping[str, str], name: str) -> bool:
    # The lists carry no types; stout booleans are exactly the flags defaulting to true/false.
    return defaults.get(name) in ("true", "false")


def parse_bool(name: str, value: str) -> bool:
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise FlagError(
        f"Failed to load flag '{name}': Failed to load value '{value}': "
        "Expecting a boolean (e.g., true or false)"
    )


# Flags of stout type Path keep a `file://` value as it is (flags/fetch.hpp: fetch<Path> does not
# read the file); every other flag is read from the file at load time (fetch<T>, and
# SecurePathOrValue's parse for --zk / --master). Source: apache/mesos 1.11.0 src/master/flags.hpp,
# src/slave/flags.hpp (the Option<Path> members).
PATH_FLAGS = frozenset({"whitelist", "credentials", "jwt_secret_key", "credential",
                        "http_credentials"})


def known_flags(kind: str) -> dict[str, str]:
    """name -> default: the Apache Mesos 1.11 list plus aventer-mesos' additions and --help."""
    defaults = read_flag_list(flag_list_path(kind))
    defaults.update(extra_flags(kind))
    defaults.setdefault("help", "false")  # stout's FlagsBase adds --help to every program
    return defaults


def load(
    program: str,
    kind: str,
    argv: Sequence[str],
    environ: Mapping[str, str] | None = None,
) -> Flags:
    """Load flags for `kind` ('master' or 'agent') as stout's FlagsBase::load does.

    argv: `--name=value`, `--name` / `--no-name` for booleans, each argument trimmed, names
    lower-cased, parsing stops at `--`, anything not starting with `--` is skipped. Environment:
    `MESOS_<NAME>` only where <name> is a known flag (others are ignored silently, stout
    flags/flags.hpp `extract`); argv wins. Names are then loaded in sorted order (stout's
    Multimap), so the first problem reported is the alphabetically first one.
    Raises FlagError with stout's wording (3rdparty/stout/include/stout/flags/flags.hpp).
    """
    defaults = known_flags(kind)
    env = os.environ if environ is None else environ
    given: dict[str, list[str | None]] = {}
    for raw_arg in argv:
        arg = raw_arg.strip()
        if arg == "--":
            break
        if not arg.startswith("--"):
            continue
        body = arg[2:]
        name, eq, value = body.partition("=")
        given.setdefault(name.lower(), []).append(value if eq else None)
    for key, value in env.items():
        if not key.startswith("MESOS_"):
            continue
        name = key[len("MESOS_") :].lower()
        if name.removeprefix("no-") in defaults and name not in given:
            given[name] = [value]

    values: dict[str, str] = {}
    loaded_via: dict[str, str] = {}
    for name in sorted(given):
        for value in given[name]:
            negated = name.startswith("no-")
            flag_name = name[3:] if negated else name
            if flag_name not in defaults:
                via = f" via '{name}'" if negated else ""
                raise FlagError(f"Failed to load unknown flag '{flag_name}'{via}")
            if flag_name in loaded_via:
                raise FlagError(f"Flag '{flag_name}' is already loaded via name "
                                f"'{loaded_via[flag_name]}'")  # fmt: skip
            values[flag_name] = _typed(kind, flag_name,
                                       _value(defaults, name, flag_name, negated, value))
            loaded_via[flag_name] = flag_name
    flags = Flags(program=program, defaults=defaults, values=values)
    _validate(kind, flags)
    return flags


def _value(defaults: Mapping[str, str], name: str, flag_name: str, negated: bool,
           value: str | None) -> str:
    """The loaded value of one flag occurrence, validated like stout's FlagsBase::load."""
    if not is_boolean(defaults, flag_name):
        if negated:
            raise FlagError(f"Failed to load non-boolean flag '{flag_name}' via '{name}'")
        if value is None:
            raise FlagError(f"Failed to load non-boolean flag '{flag_name}': Missing value")
        return _fetch(flag_name, value)
    if value is None or value == "":
        return "false" if negated else "true"
    if negated:
        raise FlagError(
            f"Failed to load boolean flag '{flag_name}' via '{name}' with value '{value}'"
        )
    return "true" if parse_bool(flag_name, _fetch(flag_name, value)) else "false"


def _fetch(name: str, value: str) -> str:
    """`file:///path` -> the file's content, unless the flag is a Path (stout fetch.hpp)."""
    if name in PATH_FLAGS or not value.startswith("file://"):
        return value
    path = value[len("file://") :]
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise FlagError(f"Failed to load flag '{name}': Failed to load value '{value}': "
                        f"Error reading file '{path}': {exc.strerror}") from None


def usage(program: str, message: str) -> str:
    return f"{message}\n\nUsage: {program} [options]\n"


def load_or_exit(program: str, kind: str, argv: Sequence[str]) -> Flags:
    """Like `flags.load` + `flags.usage(load.error())` in Mesos's main.cpp: exit 1 on error."""
    try:
        return load(program, kind, argv)
    except FlagError as exc:
        sys.stderr.write(usage(program, str(exc)))
        sys.exit(1)


def load_for_run(program: str, kind: str, argv: Sequence[str], version: str) -> Flags | None:
    """The flags of a run, or None once --help or --version has been answered (exit 0 then),
    as both Mesos binaries do before anything else."""
    flags = load_or_exit(program, kind, argv)
    if flags.boolean("help"):
        print(usage(program, "").lstrip())
        return None
    if flags.boolean("version"):
        print(f"mesos {version} (STAND-IN)")
        return None
    return flags


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "secs": 1.0, "mins": 60.0, "hrs": 3600.0,
                   "days": 86400.0, "weeks": 604800.0}  # fmt: skip


def parse_duration(text: str) -> float:
    """Seconds from a stout Duration ('15secs', '1mins', '0.5hrs', ...), as Duration::parse reads
    it: the leading digits and dots are the number, the rest the unit. Raises FlagError with
    Duration::parse's message (apache/mesos 1.11.0 3rdparty/stout/include/stout/duration.hpp)."""
    index = 0
    while index < len(text) and (text[index].isdigit() or text[index] == "."):
        index += 1
    if index == len(text):
        raise FlagError(f"Invalid duration '{text}'")
    number, unit = text[:index], text[index:]
    try:
        value = float(number)
    except ValueError:
        raise FlagError(f"Failed to convert '{number}' to number") from None
    if unit not in _DURATION_UNITS:
        raise FlagError(f"Unknown duration unit '{unit}'; supported units are 'ns', 'us', 'ms', "
                        "'secs', 'mins', 'hrs', 'days', and 'weeks'")
    return value * _DURATION_UNITS[unit]


def parse_count(text: str) -> int:
    """A size_t flag as stout's generic parse reads it (`std::istringstream >> size_t`, which
    takes an optional sign and wraps a negative value modulo 2^64). Raises FlagError with
    "Failed to convert into required type" (3rdparty/stout/include/stout/flags/parse.hpp)."""
    body = text[1:] if text[:1] in "+-" else text
    if not body.isdigit():
        raise FlagError("Failed to convert into required type")
    return int(text) % 2**64


def _check_ping_timeout(value: str) -> str | None:
    seconds = parse_duration(value)
    if seconds < 1.0 or seconds > 15 * 60.0:
        return "Expected `--agent_ping_timeout` to be between 1secs and 15mins"
    return None


def _check_ping_count(value: str) -> str | None:
    if parse_count(value) < 1:
        return "Expected `--max_agent_ping_timeouts` to be at least 1"
    return None


# Typed flags the stand-in reads, per kind: name -> (parse, validate). A value that does not
# parse fails while loading ("Failed to load flag '<name>': Failed to load value '<v>': ..."),
# then every flag is validated in name order and the first error is the message
# (apache/mesos 1.11.0 src/master/flags.cpp `add(..., validate)`, stout flags.hpp `load`).
TYPED: dict[str, dict[str, tuple[Callable[[str], object], Callable[[str], str | None]]]] = {
    "master": {"agent_ping_timeout": (parse_duration, _check_ping_timeout),
               "max_agent_ping_timeouts": (parse_count, _check_ping_count)},
}  # fmt: skip


def _typed(kind: str, name: str, value: str) -> str:
    """`value` unchanged once it parses as flag `name`'s type; FlagError as stout words it."""
    typed = TYPED.get(kind, {}).get(name)
    if typed is not None:
        try:
            typed[0](value)
        except FlagError as exc:
            raise FlagError(f"Failed to load flag '{name}': Failed to load value '{value}': "
                            f"{exc}") from None
    return value


def _validate(kind: str, flags: Flags) -> None:
    for name, (_parse, check) in sorted(TYPED.get(kind, {}).items()):
        value = flags.get(name)
        if value is not None and (error := check(value)) is not None:
            raise FlagError(error)


def total_ping_timeout_s(flags: Flags) -> float:
    """Seconds of agent silence before the master marks it unreachable:
    --agent_ping_timeout x --max_agent_ping_timeouts (15secs x 5 = 75 s by default; the product
    Master::reconcileKnownSlave also sends agents, apache/mesos 1.11.0 src/master/master.cpp)."""
    return parse_duration(flags.get("agent_ping_timeout") or "15secs") * parse_count(
        flags.get("max_agent_ping_timeouts") or "5")
