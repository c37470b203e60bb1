"""What the tasks write and decide, computed without a host.

Tasks read facts, hand them to these functions and call operations with the results, so every
decision here (the apt line, daemon.json, zoo.cfg settings, whether a quorum change or an agent
checkpoint reset is allowed) is unit-tested without hosts.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from pyinfra.api.exceptions import PyinfraError

from pyinfra_mesos.flags import (
    AGENT_INFO_FLAGS,
    MARATHON_MESOS_SECRET_FILE,
    MESOS_AGENT_CREDENTIAL_FILE,
    MESOS_CREDENTIALS_FILE,
)
from pyinfra_mesos.topology import (
    DOCKER_ROLES,
    ROLE_GROUPS,
    Member,
    Topology,
    quorum,
    zookeeper_server_lines,
)
from pyinfra_mesos.validation import check_master_count_change, work_dir_problem
from pyinfra_mesos.value_checks import is_digits

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

MESOS_KEYRING = "/etc/apt/keyrings/aventer-mesos.asc"
MESOS_SOURCES_FILE = "/etc/apt/sources.list.d/aventer-mesos.list"
MESOS_PIN_FILE = "/etc/apt/preferences.d/aventer-mesos"
# Above 1000 so apt also downgrades to the pinned version (apt_preferences(5)).
MESOS_PIN_PRIORITY = 1001


class DeployRefused(PyinfraError):
    """A step that would lose data and that the operator has not asked for.

    A PyinfraError, so the CLI prints the message as one line and exits non-zero; raised while
    operations are generated, so no host has been changed yet.
    """


def template_path(name: str) -> str:
    return str(TEMPLATES_DIR / name)


def render_template(name: str, **context: Any) -> str:
    """Render templates/<name> for operations that take a string (files.block)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(name).render(**context)


# -- common -----------------------------------------------------------------------------------

APT_LOCK_CONF = "/etc/apt/apt.conf.d/50pyinfra-mesos-lock-timeout"


def apt_lock_timeout_conf(seconds: int) -> str:
    """apt.conf: wait up to `seconds` for the dpkg frontend lock instead of failing at once
    (`DPkg::Lock::Timeout`, apt 1.9.11+; Debian 12 has 2.6)."""
    return ("// Managed by pyinfra-mesos (tasks/common.py): a re-run after a killed apt waits.\n"
            f'DPkg::Lock::Timeout "{int(seconds)}";\n')


def hosts_entries(topo: Topology) -> list[tuple[str, str]]:
    """(address, name) for every cluster member, so names resolve the same on every host."""
    return [(m.ip, m.name) for m in topo.all_members if m.ip != m.name]


# -- docker -----------------------------------------------------------------------------------

def docker_daemon_config(data: Mapping[str, Any], topo: Topology) -> dict[str, list[str]]:
    """daemon.json: trusted plain-HTTP registries and mirrors, plus the `registry` group's host."""
    insecure = list(data.get("docker_insecure_registries") or [])
    mirrors = list(data.get("docker_registry_mirrors") or [])
    for member in topo.registries:
        address = f"{member.ip}:{member.data.get('registry_port', data['registry_port'])}"
        insecure.append(address)
        mirrors.append(f"http://{address}")
    config: dict[str, list[str]] = {}
    if insecure:
        config["insecure-registries"] = list(dict.fromkeys(insecure))
    if mirrors:
        config["registry-mirrors"] = list(dict.fromkeys(mirrors))
    return config


# -- zookeeper --------------------------------------------------------------------------------

def zookeeper_settings(data: Mapping[str, Any]) -> dict[str, str]:
    """zoo.cfg key/values other than the server.N lines."""
    return {
        "tickTime": str(data["zookeeper_tick_time_ms"]),
        "initLimit": str(data["zookeeper_init_limit"]),
        "syncLimit": str(data["zookeeper_sync_limit"]),
        "dataDir": str(data["zookeeper_data_dir"]),
        "clientPort": str(data["zookeeper_client_port"]),
        # 3.5+ allows only `srvr`; the health checks need ruok/mntr/stat too.
        "4lw.commands.whitelist": ",".join(data["zookeeper_4lw_whitelist"]),
        # Off unless asked for: ZooKeeper's own default port for it, 8080, is Marathon's;
        # validation (cluster_ports.ADMIN_SERVER) refuses a port another service binds.
        "admin.enableServer": "true" if data["zookeeper_admin_server"] is True else "false",
        **({"admin.serverPort": str(data["zookeeper_admin_port"])}
           if data["zookeeper_admin_server"] is True else {}),
    }


def zookeeper_servers(data: Mapping[str, Any], topo: Topology) -> list[str]:
    return zookeeper_server_lines(topo.zookeepers, int(data["zookeeper_peer_port"]),
                                  int(data["zookeeper_election_port"]))


def myid_target(myid_path: str, link: Mapping[str, Any] | None | bool) -> str | None:
    """Where to write myid: through Debian's symlink to its target, else the path itself.

    `link` is pyinfra's `files.Link` fact: a dict for a symlink, False for a regular file,
    None when nothing is there yet (return None: the caller writes through whatever link the
    package install creates).
    """
    if isinstance(link, Mapping):
        target = str(link["link_target"])
        if not target.startswith("/"):
            target = str(Path(myid_path).parent / target)
        return target
    if link is False:
        return myid_path
    return None


# -- mesos apt repository -------------------------------------------------------------------

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


def normalise_fingerprint(fingerprint: str | None) -> str:
    return (fingerprint or "").replace(" ", "").upper()


def key_check_command(url: str, expected: str, keyring: str = MESOS_KEYRING) -> str:
    """Shell check run right after a fresh key download: refuses (and removes, so the next run
    downloads again) a key whose primary key has expired, or whose fingerprint differs from
    `expected` when one is set; one line naming the URL, the key and the data key to fix.

    apt would otherwise fail later, halfway through the run, with EXPKEYSIG or NO_PUBKEY. The
    expiry is field 7 of the `pub` record of `gpg --with-colons` (gnupg doc/DETAILS).
    """
    want = normalise_fingerprint(expected)
    quoted = shlex.quote(keyring)
    listing = f"gpg --show-keys --with-colons {quoted} 2>/dev/null"
    expiry = (f"exp=$({listing} | awk -F: '$1==\"pub\"{{print $7; exit}}'); "
              'if [ -n "$exp" ] && [ "$exp" -le "$(date +%s)" ]; then '
              f"rm -f {quoted}; "
              f'echo "the aventer-mesos apt key from {url} expired on '
              '$(date -u -d @$exp +%Y-%m-%d); refusing it (set mesos_apt_key_url to a current '
              'key)" >&2; exit 1; fi')
    if not want:
        return expiry
    fingerprint = (f"got=$({listing} | awk -F: '$1==\"fpr\"{{print $10; exit}}'); "
                   f'if [ "$got" != "{want}" ]; then rm -f {quoted}; '
                   f'echo "the aventer-mesos apt key from {url} has fingerprint '
                   f'${{got:-none}}, expected {want} (mesos_apt_key_fingerprint); refusing it" '
                   ">&2; exit 1; fi")
    return f"{fingerprint}; {expiry}"


# -- mesos master: quorum changes ---------------------------------------------------------

@dataclass(frozen=True)
class QuorumPlan:
    current: int | None
    new: int
    reset_replicated_log: bool

    @property
    def changes(self) -> bool:
        return self.current is not None and self.current != self.new


def plan_quorum_change(host: str, current_flags: Mapping[str, str], master_count: int,
                       replicated_log_exists: bool, allow_reset: bool) -> QuorumPlan:
    """Decide what a master count change needs (apache/mesos docs/operational-guide.md,
    1.11: the replicated log's quorum follows the master count).

    The rule itself is validation.check_master_count_change, the same one `check` documents:
    1 -> N masters, or shrinking, with a replicated log needs mesos_allow_replicated_log_reset
    (refused otherwise, before anything changes); growing 3 -> 5 needs nothing, the task
    restarts the existing masters with the new quorum before the new ones start.
    """
    new = quorum(master_count)
    raw = current_flags.get("quorum")
    current = int(raw) if is_digits(raw) else None
    # Counts are odd (validation refuses even ones), so a quorum q was computed for 2q-1 masters.
    previous_count = None if current is None else 2 * current - 1
    problems = check_master_count_change(previous_count, replicated_log_exists, master_count,
                                         allowed=allow_reset, where=host)
    refusals = [p for p in problems if p.level == "error"]
    if refusals:
        raise DeployRefused(" ".join(p.format() for p in refusals))
    # A remaining (warning) problem is a consented change that needs the log moved aside.
    return QuorumPlan(current, new, reset_replicated_log=bool(problems))


# -- mesos agent: checkpointed agent info ----------------------------------------------------

# Where the operator sets each checkpointed field (hostname follows ip).
AGENT_INFO_KEYS = {"hostname": "ip", "port": "mesos_agent_port", "resources": "mesos_resources",
                   "attributes": "mesos_attributes"}

def agent_info_changes(current_flags: Mapping[str, str], new_flags: Mapping[str, str]) -> list[str]:
    """The checkpointed SlaveInfo fields (AGENT_INFO_FLAGS) whose value changes; [] for a new
    agent (no env file yet)."""
    if not current_flags:
        return []
    return [name for name in AGENT_INFO_FLAGS
            if current_flags.get(name, "") != new_flags.get(name, "")]


def check_agent_checkpoint(host: str, changed: list[str], checkpoint_exists: bool,
                           allow_reset: bool) -> bool:
    """True when <work_dir>/meta/slaves/latest must be removed; refuses without consent."""
    if not changed or not checkpoint_exists:
        return False
    if not allow_reset:
        fields = ", ".join(AGENT_INFO_KEYS.get(name, f"mesos_agent_flags.{name}")
                           for name in changed)
        raise DeployRefused(
            f"{host}: {fields}: changed on an agent that has checkpointed state; Mesos will "
            "refuse to start it (\"Incompatible agent info\") until its checkpoint is removed, "
            "and the tasks on it are then lost. Re-run with --data "
            "mesos_allow_agent_checkpoint_reset=true to remove <work_dir>/meta/slaves/latest, "
            "or revert the change. Nothing was changed.")
    return True


# -- shared by the tasks ------------------------------------------------------------------------

MESOS_COMMON_ENV = "/etc/default/mesos"
MESOS_MASTER_ENV = "/etc/default/mesos-master"
MESOS_AGENT_ENV = "/etc/default/mesos-agent"
MESOS_ZK_FILE = "/etc/mesos/zk"
MARATHON_ENV = "/etc/default/marathon"
MARATHON_CREDENTIALS_FILE = "/etc/pyinfra-mesos/marathon-credentials"
MARATHON_CURL_CONFIG = "/etc/pyinfra-mesos/marathon-curl.conf"
MARATHON_UNIT = "/etc/systemd/system/marathon.service"
MESOS_AGENT_DOCKER_DROPIN = "/etc/systemd/system/mesos-agent.service.d/docker.conf"
DOCKER_DAEMON_JSON = "/etc/docker/daemon.json"


# -- what each service reads: a running service older than any of these is restarted ----------

DPKG_INFO = "/var/lib/dpkg/info"


def package_stamp(package: str) -> str:
    """dpkg rewrites <package>.list on every install or upgrade: its mtime dates the package."""
    return f"{DPKG_INFO}/{package}.list"


def zookeeper_inputs(data: Mapping[str, Any]) -> list[str]:
    """zoo.cfg, myid (through Debian's link) and the packages that carry the server."""
    return [f"{data['zookeeper_conf_dir']}/zoo.cfg", f"{data['zookeeper_data_dir']}/myid",
            package_stamp("zookeeper"), package_stamp(str(data["zookeeper_package"]))]


def mesos_inputs(data: Mapping[str, Any], role: str) -> list[str]:
    """The env files the init wrapper sources, /etc/mesos/zk, the package; the agent's drop-in."""
    inputs = [MESOS_COMMON_ENV, f"/etc/default/mesos-{role}", MESOS_ZK_FILE,
              package_stamp(str(data["mesos_package"]))]
    if role == "agent":
        inputs.append(MESOS_AGENT_DOCKER_DROPIN)
    if data.get("mesos_authentication", True):
        inputs.append(MESOS_CREDENTIALS_FILE if role == "master" else MESOS_AGENT_CREDENTIAL_FILE)
    return inputs


def marathon_inputs(data: Mapping[str, Any]) -> list[str]:
    """The env file, the unit (which names the image) and its Mesos secret."""
    inputs = [MARATHON_ENV, MARATHON_UNIT]
    if data.get("mesos_authentication", True):
        inputs.append(MARATHON_MESOS_SECRET_FILE)
    return inputs


def docker_inputs(data: Mapping[str, Any]) -> list[str]:
    return [DOCKER_DAEMON_JSON, package_stamp(str(data["docker_package"]))]


def service_inputs(roles: Iterable[str], data: Mapping[str, Any]) -> dict[str, list[str]]:
    """`{systemd unit: its input paths}` for the services a host with `roles` runs: what the
    rolling restarts compare a running service against, and what the cluster checks call drift.
    """
    roles = set(roles)
    services: dict[str, list[str]] = {}
    if roles & DOCKER_ROLES:
        services["docker.service"] = docker_inputs(data)
    if "zookeeper" in roles:
        services[f"{data['zookeeper_service']}.service"] = zookeeper_inputs(data)
    for role in ("master", "agent"):
        if role in roles:
            services[f"mesos-{role}.service"] = mesos_inputs(data, role)
    if "marathon" in roles:
        services["marathon.service"] = marathon_inputs(data)
    return services


def member_named(topo: Topology, name: str) -> Member:
    for member in topo.all_members:
        if member.name == name:
            return member
    raise DeployRefused(f"{name}: host is in none of the groups {', '.join(ROLE_GROUPS)}")


def mesos_common_env_lines(data: Mapping[str, Any]) -> list[str]:
    """/etc/default/mesos, read by the wrapper for master and agent alike: only what both share
    (the wrapper's LOGS and ULIMIT). ULIMIT matches the packaging's own default and the units'
    LimitNOFILE=16384 (m3scluster/clusterd support/packaging/common): a lower value would
    lower the limit, since the wrapper runs `ulimit` with it."""
    return [f"LOGS={data['mesos_log_dir']}", 'ULIMIT="-n 16384"']


def mesos_upgrade_needed(installed: Mapping[str, Iterable[str]], package: str,
                         version: str) -> bool:
    """True when `package` is installed but not at the pinned `version` (a prefix, as the pin).

    A plain install leaves an installed package alone, so a changed mesos_version needs its own
    step; the services then restart (masters one at a time) as for a config change.
    """
    versions = list(installed.get(package) or [])
    return bool(versions) and not any(str(v).startswith(version) for v in versions)


def check_work_dir(host: str, field: str, path: str) -> None:
    """Refuse a work_dir that validation.work_dir_problem refuses (the one rule `check` uses)."""
    problem = work_dir_problem(host, field, path)
    if problem is not None:
        raise DeployRefused(problem.format())


def restart_and_wait_command(service: str, probe: str, timeout_s: int) -> str:
    """Restart, then poll `probe` (a shell command) until it succeeds, bounded.

    Run with `_serial=True`, so a rolling restart never takes a second member of a quorum down
    before the first is back.
    """
    return (f"systemctl restart {service} && "
            f"for i in $(seq {timeout_s}); do "
            f"{probe} && exit 0; sleep 1; done; "
            # Quoted as one shell word: inside double quotes, backticks would run the probe.
            f"echo {shlex.quote(f'{service} did not pass {probe} within {timeout_s} s')} >&2; "
            "exit 1")


def http_probe(url: str, curl_config: str = "") -> str:
    """A curl health probe; `curl_config` is a 0600 `curl -K` file carrying credentials, so
    they never appear on a command line (real Marathon with --http_credentials answers 401 on
    every path, /ping included: d2iq-archive/marathon v1.10.26 HttpModule.scala)."""
    config = f"-K {shlex.quote(curl_config)} " if curl_config else ""
    return f"curl -fsS -o /dev/null {config}{shlex.quote(url)}"


def curl_config_text(credentials: str) -> str:
    """`user = "name:password"` for `curl -K`: a quoted value with backslash and quote escaped
    (curl's config file syntax, curl(1) -K)."""
    escaped = credentials.replace("\\", "\\\\").replace('"', '\\"')
    return f'user = "{escaped}"\n'


def docker_pull_command(image: str, key: str) -> str:
    """Pull `image` once, with one clear line naming the data key when it cannot be pulled (the
    service itself then never depends on the registry at start)."""
    quoted = shlex.quote(image)
    message = shlex.quote(f"cannot pull {image} ({key}): check the name, and that this host "
                          "reaches its registry or mirror")
    return f"docker pull -q {quoted} >/dev/null || {{ echo {message} >&2; exit 1; }}"


def zookeeper_probe(client_port: int, in_ensemble: bool) -> str:
    """What a restarted ZooKeeper must answer before the next member restarts.

    A member of a formed ensemble must be back as leader or follower (`srvr`). On the first
    deploy the others still run the package's standalone config, so no quorum can form yet:
    there it is enough that the server answers `ruok`.
    """
    word, expect = ("srvr", "Mode: ") if in_ensemble else ("ruok", "imok")
    return (f"bash -c 'exec 3<>/dev/tcp/127.0.0.1/{client_port} && echo {word} >&3 && "
            f"grep -q \"{expect}\" <&3'")


def zookeeper_restart_waits_for_mode(current_servers: Iterable[str], new_servers: Iterable[str],
                                     ensemble_formed: bool) -> bool:
    """Whether a restarted member can be expected back as leader or follower (`srvr` Mode).

    Not on a first deploy (no ensemble yet), and not for an existing member whose server.N list
    changes (growing 3 -> 5): with static config it counts votes against its new list, and the
    others, still on the old list, are only two of five; it stays LOOKING until the next member
    restarts with the new list (seen on the sandbox: 120 s without Mode, then it joined once
    master2 restarted). A member whose list is unchanged, and a new member joining once every
    old one has the new list, do come back.
    """
    current = sorted(line.strip() for line in current_servers if line.strip())
    if not ensemble_formed:
        return False
    return not current or current == sorted(line.strip() for line in new_servers)


def replicated_log_reset_commands(work_dir: str, service: str) -> list[str]:
    """Move the log aside (never delete it): the operator can still restore it by hand."""
    log = f"{work_dir.rstrip('/')}/replicated_log"
    return [f"systemctl stop {service}",
            f"mv {log} {log}.before-quorum-change-$(date +%Y%m%d%H%M%S)"]


def problems_report(problems: Iterable[Any]) -> tuple[list[str], list[str]]:
    """(error lines, warning lines), each problem once, in the contract's one-line format."""
    errors: list[str] = []
    warnings: list[str] = []
    for problem in problems:
        line = problem.format()
        target = errors if problem.level == "error" else warnings
        if line not in target:
            target.append(line)
    return errors, warnings


_already_printed: set[tuple[int, str]] = set()


def first_time(run: object, line: str) -> bool:
    """True the first time `line` is seen in this run: the deploy file runs once per host, and
    a problem with the inventory should be printed once, not once per host."""
    key = (id(run), line)
    if key in _already_printed:
        return False
    _already_printed.add(key)
    return True
