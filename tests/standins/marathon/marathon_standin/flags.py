"""Flag loading the way Marathon 1.10 does it (Scallop over argv plus MARATHON_* variables).

The list of valid names is the TSV shipped next to the package (a copy of the 1.10.26 facts), so
a typo in a deploy's /etc/default/marathon fails here exactly as it would fail real Marathon.
"""

from __future__ import annotations

import getpass
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

TSV_NAME = "marathon-1.10-flags.tsv"
ENV_DEFAULT = re.compile(r"\(env ([A-Z_]+)\)")
CREDENTIALS = re.compile(r"(.+):(.+)", re.DOTALL)


class FlagError(Exception):
    """A flag problem; main() prints it and exits 1, as Scallop does."""


@dataclass(frozen=True)
class FlagSpec:
    name: str
    default: str
    required: bool
    boolean: bool


@dataclass
class Flags:
    """Parsed flags: explicit values plus the TSV defaults."""

    specs: dict[str, FlagSpec]
    given: dict[str, str | bool] = field(default_factory=dict)
    # The process environment: some defaults are read from it (below).
    env: dict[str, str] = field(default_factory=dict)

    def raw(self, name: str) -> str | bool | None:
        if name in self.given:
            return self.given[name]
        spec = self.specs[name]
        # "(env NAME)": HttpConf.scala reads the default from that variable (e.g.
        # http_credentials from MESOSPHERE_HTTP_CREDENTIALS); envToArgs never sees it.
        from_env = ENV_DEFAULT.fullmatch(spec.default)
        if from_env:
            return self.env.get(from_env.group(1)) or None
        # Other defaults in parentheses are computed at run time (MarathonConf.scala), not
        # literals.
        if spec.default.startswith("(") or spec.default == "":
            return None
        return spec.default

    def text(self, name: str, fallback: str | None = None) -> str | None:
        value = self.raw(name)
        if value is None or isinstance(value, bool):
            return fallback
        return value

    def number(self, name: str, fallback: int = 0) -> int:
        value = self.text(name)
        return int(value) if value is not None else fallback

    def toggle(self, name: str) -> bool:
        """A toggle: `--x` / `--disable_x`, whichever came last wins (argv after env)."""
        if f"disable_{name}" in self.given:
            return False
        value = self.raw(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() == "true"

    @property
    def hostname(self) -> str:
        return self.text("hostname") or socket.gethostname()

    @property
    def mesos_user(self) -> str:
        return self.text("mesos_user") or getpass.getuser()

    @property
    def http_credentials(self) -> tuple[str, str] | None:
        """(user, password) for basic auth, or None when auth is off.

        HttpModule.scala (v1.10.26) matches the value against `(.+):(.+)` (greedy: the user
        is everything before the LAST colon); a value that does not match is logged as an
        error and Marathon runs WITHOUT authentication.
        """
        value = self.text("http_credentials")
        if not value:
            return None
        match = CREDENTIALS.fullmatch(value)
        return (match.group(1), match.group(2)) if match else None


def load_specs(path: Path | None = None) -> dict[str, FlagSpec]:
    if path is None:
        path = Path(__file__).resolve().parent.parent / TSV_NAME
    specs: dict[str, FlagSpec] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        cols = (line.split("\t") + ["", "", "", ""])[:4]
        specs[cols[0]] = FlagSpec(cols[0], cols[1], cols[2] == "required", cols[3] == "boolean")
    return specs


def env_to_args(env: dict[str, str]) -> list[str]:
    """Main.scala envToArgs: MARATHON_<NAME> -> --<name>; empty value -> a bare flag."""
    args: list[str] = []
    for key in sorted(env):
        if not key.startswith("MARATHON_") or key.startswith("MARATHON_APP_"):
            continue
        name = key[len("MARATHON_"):].lower()
        # --name=value keeps the value attached, so a toggle given a value is named as such.
        args.append(f"--{name}" if env[key] == "" else f"--{name}={env[key]}")
    return args


def _tokens(argv: list[str], origin: str) -> list[tuple[str, str | None, str]]:
    """Split argv into (name, inline value or None, origin); values are attached later."""
    out: list[tuple[str, str | None, str]] = []
    for arg in argv:
        if arg.startswith("--"):
            name, sep, value = arg[2:].partition("=")
            out.append((name, value if sep else None, origin))
        else:
            out.append(("", arg, origin))  # a bare value, to be attached to the flag before it
    return out


def parse(argv: list[str], env: dict[str, str], specs: dict[str, FlagSpec] | None = None) -> Flags:
    specs = specs if specs is not None else load_specs()
    flags = Flags(specs, env=dict(env))
    origin_of: dict[str, str] = {}
    tokens = _tokens(env_to_args(env), "environment") + _tokens(argv, "command line")
    i = 0
    while i < len(tokens):
        name, value, origin = tokens[i]
        i += 1
        if name == "":
            raise FlagError(f"Excess arguments provided: '{value}'")
        if name == "help":
            raise FlagError("HELP")
        spec = specs.get(name)
        if spec is None:
            raise FlagError(f"Unknown option '{name}' (from the {origin})")
        if name == "default_accepted_resource_roles":
            raise FlagError(
                "--default_accepted_resource_roles has been removed in Marathon 1.10.0; "
                "use --accepted_resource_roles_default_behavior"
            )
        if spec.boolean:
            if value is not None:
                raise FlagError(f"Option '{name}' takes no value (got '{value}' from the {origin})")
            parsed: str | bool = True
        else:
            if value is None and i < len(tokens) and tokens[i][0] == "":
                value = tokens[i][1]
                i += 1
            if value is None:
                raise FlagError(f"Option '{name}' needs a value (from the {origin})")
            parsed = value
        base = name[len("disable_"):] if name.startswith("disable_") else name
        key = base if base in specs and specs[base].boolean else name
        if key in origin_of and origin_of[key] != origin:
            # Marathon's env vars become argv (Main.envToArgs): the same flag both ways is never
            # what the deploy means; refusing it makes the mistake loud.
            raise FlagError(f"Option '{key}' given both in the environment and on the command line")
        origin_of[key] = origin
        # A toggle and its disable_ row are one option: the last one given wins.
        if spec.boolean and key != name:
            flags.given.pop(key, None)
        elif spec.boolean:
            flags.given.pop(f"disable_{name}", None)
        flags.given[name] = parsed
    for spec in specs.values():
        if spec.required and spec.name not in flags.given:
            raise FlagError(f"Required option '{spec.name}' not found")
    _cross_checks(flags)
    if "disable_http" in flags.given:
        raise FlagError("The stand-in serves HTTP only; --disable_http is not supported")
    return flags


def _cross_checks(flags: Flags) -> None:
    """MarathonConf.scala (v1.10.26): dependsOnAll(mesos_authentication,
    mesos_authentication_principal) and mutuallyExclusive(mesos_authentication_secret,
    mesos_authentication_secret_file); Scallop refuses both at start-up."""
    given = flags.given
    if given.get("mesos_authentication") is True and "mesos_authentication_principal" not in given:
        raise FlagError("When specifying 'mesos_authentication', you must also specify all of "
                        "'mesos_authentication_principal'")
    if "mesos_authentication_secret" in given and "mesos_authentication_secret_file" in given:
        raise FlagError("There should be only one or zero of the following options: "
                        "mesos_authentication_secret, mesos_authentication_secret_file")


def usage(specs: dict[str, FlagSpec]) -> str:
    lines = ["Marathon STAND-IN; accepted flags (Marathon 1.10.26):"]
    for spec in specs.values():
        value = "" if spec.boolean else f" <value> (default {spec.default or '-'})"
        lines.append(f"  --{spec.name}{value}")
    return "\n".join(lines)
