"""Whole-value checkers for user data: each says what is wrong with a value, never raises.

A `Checker` takes any value and yields `(suffix, message)` pairs: `suffix` extends the field name
(`""` for the value itself, `"[2]"` for a list item, `".rack"` for a dict entry) and `message`
says what is wrong in words a user can act on. No pairs: the value is good. The constructors
here (`integer(1, 60)`, `list_of(debian_package)`, ...) build the checkers that
`pyinfra_mesos.schema` lists per group_data key.

Every pattern is matched against the whole string (`re.fullmatch`): `re.match` with `$` lets a
trailing newline through, and a newline in a value that reaches /etc/hosts, an env file, a
systemd unit, apt sources or haproxy.cfg adds a line there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

# The port rule is the HAProxy bridge's (it runs on load balancers without the rest of the
# package, haproxy_bridge.BRIDGE_FILES); every other module reads it under this name.
from pyinfra_mesos.haproxy_model import valid_port as is_port

Checker = Callable[[Any], Iterator[tuple[str, str]]]

# C0 controls and DEL: newline, carriage return, NUL, tab... never belong in a one-line value.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1..63 each,
# 253 in all.
HOSTNAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")

# Debian Policy 5.6.1: package names are [a-z0-9][a-z0-9+.-]+ (at least two characters).
_DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")

# Mesos' Duration::parse (apache/mesos 3rdparty/stout/include/stout/duration.hpp, 1.11):
# a non-negative decimal followed by one of these units, nothing else.
# [0-9], not \d: Python's \d also matches other scripts' digits ("٣"), which stout refuses.
_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|ms|secs|mins|hrs|days|weeks)")

# A decimal number as Mesos reads a scalar resource ("2048", "0.5"): no sign, no exponent, no
# nan/inf (Resources::parse rejects those values).
_SCALAR_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# Decimal digits only: str.isdigit() is also true for "²" (which int() refuses) and "٣".
_DIGITS = re.compile(r"[0-9]+")

# Docker's reference grammar (distribution/reference regexp.go, also used by moby):
#   [domain[:port]/]path-component(/path-component)*[:tag][@digest]
_DOMAIN_PART = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?")

# An http(s) URL: scheme, host (name, IPv4, or a {placeholder} the deploy fills), optional
# port, then a path of URL-safe characters. No spaces, quotes or shell metacharacters.
_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%/{}+-]*)?")

# Absolute paths that are safe unquoted in a shell command and in a systemd unit.
_ABS_PATH = re.compile(r"/(?:[A-Za-z0-9._+@-]+/?)*")

# A plain word: names of containers, units, groups, components.
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")


# -- the one number rule ----------------------------------------------------------------------

def is_number(value: Any) -> bool:
    """A real number as Python/JSON gives it: int or float, finite; never a bool or a string.

    This is the package's single "is a number" test (bool is an int subclass in Python, and
    `True` as a count or a port is always a mistake). Text that Mesos reads as a number is a
    separate question: `is_scalar_text`.
    """
    # An int is always finite; math.isfinite(10**400) would raise OverflowError.
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_integral(value: Any, low: int, high: int) -> bool:
    """A JSON number with a whole value in low..high: 2.0 counts as 2, as Marathon 1.10 reads
    an int32/int64 field of an app (app_rules.py, rules 2.3/2.4)."""
    if not is_number(value) or (isinstance(value, float) and not value.is_integer()):
        return False
    return low <= value <= high


def is_digits(text: Any) -> bool:
    """Text of ASCII decimal digits only, e.g. "2" read back from an env file or a header:
    what `int(text)` then always parses (str.isdigit() lets "²" through to a ValueError)."""
    return isinstance(text, str) and _DIGITS.fullmatch(text) is not None


def is_scalar_text(value: Any) -> bool:
    """A Mesos scalar: a number (`is_number`, not negative) or text like "2048" or "0.5"."""
    if is_number(value):
        return value >= 0
    return isinstance(value, str) and _SCALAR_TEXT.fullmatch(value) is not None


def scalar_value(value: Any) -> float:
    """The numeric value of something `is_scalar_text` accepted."""
    return float(value)


# -- building blocks --------------------------------------------------------------------------

def _show(value: Any) -> str:
    """A value as the user wrote it, cut short: a fuzzed megabyte string is one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def has_control(text: str) -> bool:
    """True when `text` holds a newline, carriage return, NUL or another control character."""
    return _CONTROL.search(text) is not None


def text(pattern: re.Pattern[str] | None, what: str, *, empty_ok: bool = False,
         max_len: int = 4096) -> Checker:
    """A string fully matching `pattern` (`None`: any one-line text); `what` names the form."""
    def check(value: Any) -> Iterator[tuple[str, str]]:
        if not isinstance(value, str):
            yield "", f"must be a string ({what}), not {_type_name(value)} {_show(value)}"
        elif value == "":
            if not empty_ok:
                yield "", f"must not be empty ({what})"
        elif len(value) > max_len:
            yield "", f"is {len(value)} characters long; at most {max_len}"
        elif has_control(value):
            yield "", f"{_show(value)} holds a newline or another control character"
        elif pattern is not None and pattern.fullmatch(value) is None:
            yield "", f"{_show(value)} is not {what}"
    return check


def integer(low: int, high: int, unit: str = "") -> Checker:
    """An int (not a bool, not a string) in low..high."""
    suffix = f" {unit}" if unit else ""

    def check(value: Any) -> Iterator[tuple[str, str]]:
        if not is_int(value):
            yield "", (f"must be an integer {low}..{high}{suffix}, not {_type_name(value)} "
                       f"{_show(value)}")
        elif not low <= value <= high:
            yield "", f"{_show(value)} is outside {low}..{high}{suffix}"
    return check


def port(value: Any) -> Iterator[tuple[str, str]]:
    """A TCP port number 1..65535 (an int): `is_port`."""
    if not is_port(value):
        yield "", f"{_show(value)} is not a port number 1..65535 (an integer)"


def boolean(value: Any) -> Iterator[tuple[str, str]]:
    """True or False (`--data key=true` gives True)."""
    if not isinstance(value, bool):
        yield "", f"must be True or False, not {_type_name(value)} {_show(value)}"


def list_of(item: Checker, *, min_items: int = 0) -> Checker:
    """A list or tuple whose every item passes `item`; problems name the item `[i]`."""
    def check(value: Any) -> Iterator[tuple[str, str]]:
        if not isinstance(value, list | tuple):
            yield "", f"must be a list, not {_type_name(value)} {_show(value)}"
            return
        if len(value) < min_items:
            yield "", f"needs at least {min_items} item(s)"
        for i, element in enumerate(value):
            for sub, message in item(element):
                yield f"[{i}]{sub}", message
    return check


def mapping_of(key: Checker, item: Checker, example: str, *, min_items: int = 0) -> Checker:
    """A dict whose keys pass `key` and values pass `item`; problems name the entry `.key`."""
    def check(value: Any) -> Iterator[tuple[str, str]]:
        if not isinstance(value, Mapping):
            yield "", f"must be a dict like {example}, not {_type_name(value)} {_show(value)}"
            return
        if len(value) < min_items:
            yield "", f"needs at least {min_items} entry(ies), like {example}"
        for name, element in value.items():
            label = f".{name}" if isinstance(name, str) and not has_control(name) else \
                f"[{_show(name)}]"
            bad_key = list(key(name))
            for _, message in bad_key:
                yield label, f"key {message}"
            if not bad_key:
                for sub, message in item(element):
                    yield f"{label}{sub}", message
    return check


def all_of(*checkers: Checker) -> Checker:
    """Each checker in turn, stopping at the first that finds something."""
    def check(value: Any) -> Iterator[tuple[str, str]]:
        for checker in checkers:
            found = list(checker(value))
            if found:
                yield from found
                return
    return check


def predicate(test: Callable[[Any], bool], message: str) -> Checker:
    """`message` (with {value}) when `test(value)` is false; for rules beyond one pattern."""
    def check(value: Any) -> Iterator[tuple[str, str]]:
        if not test(value):
            yield "", message.format(value=_show(value))
    return check


# -- kinds of value -----------------------------------------------------------------------------

debian_package = text(_DEBIAN_PACKAGE, "a Debian package name ([a-z0-9][a-z0-9+.-]+)")
duration = text(_DURATION, "a Mesos duration such as 10secs or 5mins "
                           "(units ns, us, ms, secs, mins, hrs, days, weeks)")
http_url = text(_HTTP_URL, "an http:// or https:// URL without spaces or quotes")
image_reference = text(IMAGE_REFERENCE, "a Docker image reference such as "
                                        "mesosphere/marathon:v1.10.26")
hostname = text(HOSTNAME, "a host name (RFC 1123: letters, digits, inner hyphens, dots)")
word = text(_WORD, "a plain name (letters, digits and _ . @ -)")


def absolute_path(value: Any) -> Iterator[tuple[str, str]]:
    """An absolute path of letters, digits and `_ . + @ -` (safe unquoted), without `..`."""
    found = list(text(_ABS_PATH, "an absolute path of letters, digits and / _ . + @ -")(value))
    if found:
        yield from found
    elif ".." in value.split("/"):
        yield "", f"{_show(value)} contains '..'; give the path itself"
    elif value.rstrip("/") == "":
        yield "", "must not be / itself"


def one_line(value: Any) -> Iterator[tuple[str, str]]:
    """Any text without control characters (a flag value, an env value)."""
    yield from text(None, "one line of text", empty_ok=True)(value)
