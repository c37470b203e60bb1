"""The Mesos package (set up and installed by tasks/common.py, moved by tasks/mesos_package.py)
and the files both Mesos roles share.

The apt repository, its key check and the pin; which versions may be pinned; whether an
installed package must move to the pin; /etc/default/mesos and /etc/mesos/zk, and what a
running master or agent is compared against (mesos_inputs).

Which versions may be pinned:

The pin is an apt preference `Pin: version <mesos_version>*` (templates/apt-pin.pref.j2),
so `mesos_version` is a prefix: `1.11.0` admits every build of 1.11.0. Builds of aventer-mesos
up to 1.11.0-0.6.0 declare no `Depends`, and Debian 11/12 builds before 0.7.1 were built with a
wrong install prefix (m3scluster/clusterd commit 26bf5e4d): a pin must not admit them.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from debian.debian_support import Version

from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.dpkg import (
    DEBIAN_VERSION,
    PIN_PRIORITY,
    off_pin,
    package_stamp,
)
from pyinfra_mesos.flags import MESOS_AGENT_CREDENTIAL_FILE, MESOS_CREDENTIALS_FILE
from pyinfra_mesos.mesos_agent import MESOS_AGENT_DOCKER_DROPIN
from pyinfra_mesos.problems import Problem
from pyinfra_mesos.templates import render_template

FIRST_GOOD_BUILD = "1.11.0-0.7.1"


def mesos_version_problems(version: object, where: str) -> list[Problem]:
    """Problems with a `mesos_version` value (one line each); [] when the pin is safe.

    Shape: a Debian version string, `<upstream>-<revision>`. Errors: not a string; not a
    Debian version; a prefix that admits a build older than FIRST_GOOD_BUILD.
    """
    field = "mesos_version"
    if not isinstance(version, str) or not version:
        return [Problem("error", where, field, "must be a non-empty string such as "
                        f"{FIRST_GOOD_BUILD!r}")]
    if not DEBIAN_VERSION.fullmatch(version):
        return [Problem("error", where, field, f"{version!r} is not a Debian version "
                        "(deb-version(7): digits first, then letters, digits and . + ~ -)")]
    parsed = Version(version)
    if parsed.debian_revision is None and Version(version + "-0") < Version(FIRST_GOOD_BUILD):
        return [Problem("error", where, field,
                        f"pins {version}*, which admits aventer-mesos builds before "
                        f"{FIRST_GOOD_BUILD} (no Depends, or a wrong install prefix on Debian "
                        f"11/12); pin a full build such as {FIRST_GOOD_BUILD!r}")]
    if parsed < Version(FIRST_GOOD_BUILD):
        return [Problem("error", where, field,
                        f"{version} is older than {FIRST_GOOD_BUILD}, the first aventer-mesos "
                        "build that declares its Depends and installs where Debian 11/12 "
                        "expect it")]
    return []


# -- the apt repository, the pin and the files both roles share ------------------------------

MESOS_KEYRING = "/etc/apt/keyrings/aventer-mesos.asc"


MESOS_SOURCES_FILE = "/etc/apt/sources.list.d/aventer-mesos.list"


MESOS_PIN_FILE = "/etc/apt/preferences.d/aventer-mesos"

# What the key's download (pyinfra's files.download runs curl; https needs the CA bundle) and
# its check (key_check_command: gpg) need on the host before aventer-mesos' repository is set up.
MESOS_KEY_TOOLS = ("ca-certificates", "curl", "gnupg")


def mesos_pin_text(data: Mapping[str, Any]) -> str:
    """MESOS_PIN_FILE's content: `mesos_package` at `mesos_version`* (templates/apt-pin.pref.j2)."""
    return render_template("apt-pin.pref.j2", task="tasks/common.py",
                           packages=[data["mesos_package"]], version=data["mesos_version"],
                           priority=PIN_PRIORITY)


def mesos_repo_url(data: Mapping[str, Any], distro: str, codename: str) -> str:
    urls = data["mesos_apt_repo_urls"]
    if distro not in urls:
        raise DeployRefused(
            f"mesos_apt_repo_urls has no entry for {distro!r} (it has {sorted(urls)}); "
            "add the repository URL for this distribution")
    return str(urls[distro]).format(codename=codename)


def mesos_apt_line(data: Mapping[str, Any], distro: str, codename: str) -> str:
    url = mesos_repo_url(data, distro, codename)
    return (f"deb [signed-by={MESOS_KEYRING}] {url} {codename} "
            f"{data['mesos_apt_repo_component']}")


def mesos_repo_files(data: Mapping[str, Any], distro: str, codename: str) -> dict[str, str]:
    """``{path: content}`` of the aventer-mesos sources line (templates/aventer-mesos.list.j2)
    and pin, as tasks/common.py writes them and the benchmark's floor too. The key itself is
    downloaded from ``mesos_apt_key_url`` to ``MESOS_KEYRING``. DeployRefused for a
    distribution without a repository URL."""
    return {
        MESOS_SOURCES_FILE: render_template("aventer-mesos.list.j2",
                                            apt_line=mesos_apt_line(data, distro, codename)),
        MESOS_PIN_FILE: mesos_pin_text(data),
    }


def normalise_fingerprint(fingerprint: str | None) -> str:
    return (fingerprint or "").replace(" ", "").upper()


def key_check_command(url: str, expected: str, keyring: str = MESOS_KEYRING,
                      sources: str = MESOS_SOURCES_FILE) -> str:
    """Shell check run right after a fresh key download: refuses a file that holds no key (a
    proxy's error page), a key whose primary key has expired, or one whose fingerprint differs
    from `expected` when one is set; one line naming the URL, the key and the data key to fix.
    A refused key is removed, so the next run downloads it again, and so is the `sources` line
    that names it, so that no `apt-get update` on the host (the operator's, unattended
    upgrades) fails on a repository without its key meanwhile; the next run writes it again.

    apt would otherwise fail later, halfway through the run, with EXPKEYSIG or NO_PUBKEY. The
    expiry is field 7 of the `pub` record of `gpg --with-colons`, the fingerprint field 10 of
    the first `fpr` record (gnupg doc/DETAILS).
    """
    want = normalise_fingerprint(expected)
    quoted = shlex.quote(keyring)
    refuse = f"rm -f {quoted} {shlex.quote(sources)}; "
    listing = f"gpg --show-keys --with-colons {quoted} 2>/dev/null"
    fingerprint = (f"got=$({listing} | awk -F: '$1==\"fpr\"{{print $10; exit}}'); "
                   f'if [ -z "$got" ]; then {refuse}'
                   f'echo "the aventer-mesos apt key from {url} holds no OpenPGP key; refusing '
                   'it (set mesos_apt_key_url to the key)" >&2; exit 1; fi')
    if want:
        fingerprint += (f'; if [ "$got" != "{want}" ]; then {refuse}'
                        f'echo "the aventer-mesos apt key from {url} has fingerprint $got, '
                        f'expected {want} (mesos_apt_key_fingerprint); refusing it" >&2; '
                        "exit 1; fi")
    expiry = (f"exp=$({listing} | awk -F: '$1==\"pub\"{{print $7; exit}}'); "
              'if [ -n "$exp" ] && [ "$exp" -le "$(date +%s)" ]; then '
              f"{refuse}"
              f'echo "the aventer-mesos apt key from {url} expired on '
              '$(date -u -d @$exp +%Y-%m-%d); refusing it (set mesos_apt_key_url to a current '
              'key)" >&2; exit 1; fi')
    return f"{fingerprint}; {expiry}"


def mesos_upgrade_needed(installed: Mapping[str, Iterable[str]], package: str,
                         version: str) -> bool:
    """True when `package` is installed but not at the pinned `version` (a prefix, as the pin);
    the services then restart (masters one at a time) as for a config change (dpkg.off_pin)."""
    return off_pin(installed, package, version)


MESOS_COMMON_ENV = "/etc/default/mesos"


MESOS_ZK_FILE = "/etc/mesos/zk"


def mesos_common_env_lines(data: Mapping[str, Any]) -> list[str]:
    """/etc/default/mesos, read by the wrapper for master and agent alike: only what both share
    (the wrapper's LOGS and ULIMIT). ULIMIT matches the packaging's own default and the units'
    LimitNOFILE=16384 (m3scluster/clusterd support/packaging/common): a lower value would
    lower the limit, since the wrapper runs `ulimit` with it."""
    return [f"LOGS={data['mesos_log_dir']}", 'ULIMIT="-n 16384"']


def mesos_inputs(data: Mapping[str, Any], role: str) -> list[str]:
    """The env files the init wrapper sources, /etc/mesos/zk, the package; the agent's drop-in."""
    inputs = [MESOS_COMMON_ENV, f"/etc/default/mesos-{role}", MESOS_ZK_FILE,
              package_stamp(str(data["mesos_package"]))]
    if role == "agent":
        inputs.append(MESOS_AGENT_DOCKER_DROPIN)
    if data.get("mesos_authentication", True):
        inputs.append(MESOS_CREDENTIALS_FILE if role == "master" else MESOS_AGENT_CREDENTIAL_FILE)
    return inputs
