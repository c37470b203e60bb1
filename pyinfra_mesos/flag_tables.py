"""Where every flag the deploy sets comes from: one table per program, one generic mechanism.

A `Table` lists, for mesos-master, mesos-agent or Marathon, the flags the deploy sets itself, in
the order the env files write them. Each `Row` says where its value comes from: a group_data key
(its value is the flag's), or a named `Computed` value with the keys it reads, a one-line why
and the upstream source. `program_flags` turns a host's data, the topology and host facts into
`{flag: value}` from a table: the rows first, then the operator's flag dict (`Table.user_key`)
merged over them. `flag_source` answers "which key sets this flag" without reading code, and
flag_lists.COMPUTED_FLAGS (the flags an operator's dict may not override) is derived from the
rows, so the deploy and the refusals cannot disagree.

Pure: no pyinfra (tests/unit/test_pure_modules.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pyinfra_mesos.agent_data import ports_keys
from pyinfra_mesos.topology import Member, Topology, quorum, zk_url

Program = Literal["master", "agent", "marathon"]  # flag_lists.Kind

# The flags that carry the ZooKeeper URL. The URL itself lives in /etc/mesos/zk; the env files
# point at it with `file://` (both flags accept it: apache/mesos 1.11.0 src/master/flags.cpp,
# src/slave/flags.cpp). aventer-mesos' init wrapper does NOT read /etc/mesos/zk itself
# (m3scluster/clusterd support/packaging/common/mesos-init-wrapper), so without these lines a
# master would start standalone and elect itself, and an agent would exit.
MASTER_ZK_FLAG = "zk"
AGENT_ZK_FLAG = "master"

# The v1 cgroup hierarchy systemd uses. Mesos agents with --systemd_enable_support (the default)
# exit without it ("Failed to locate systemd cgroups hierarchy", m3scluster/clusterd
# src/linux/systemd.cpp); Debian 11+ and Ubuntu 22.04+ boot with the unified (v2) hierarchy only.
SYSTEMD_CGROUP_HIERARCHY = "/sys/fs/cgroup/systemd"

# Mesos authentication (on unless mesos_authentication is False): the masters' credentials file
# (every principal, JSON), the agent's credential, and Marathon's secret as its container sees it
# (mounted read-only; it runs as nobody). All on the host under the deploy's 0700
# /etc/pyinfra-mesos (apache/mesos 1.11.0 src/master/flags.cpp `credentials`,
# src/slave/flags.cpp `credential`; marathon `mesos_authentication_secret_file`).
MESOS_CREDENTIALS_FILE = "/etc/pyinfra-mesos/mesos-credentials.json"
MESOS_AGENT_CREDENTIAL_FILE = "/etc/pyinfra-mesos/mesos-agent-credential.json"
MARATHON_MESOS_SECRET = "/etc/marathon/mesos-secret"
MARATHON_PRINCIPAL = "marathon"

# Host facts `program_flags` reads (`facts` argument), with the value assumed when absent.
FACT_SYSTEMD_CGROUP_HIERARCHY = "systemd_cgroup_hierarchy"  # bool: SYSTEMD_CGROUP_HIERARCHY exists

_MESOS_MASTER_SRC = "apache/mesos 1.11.0 src/master/flags.cpp"
_MESOS_AGENT_SRC = "apache/mesos 1.11.0 src/slave/flags.cpp"
_MARATHON_SRC = "d2iq-archive/marathon v1.10.26 src/main/scala/mesosphere/marathon/"


def flag_value(value: Any) -> str:
    """Mesos and Marathon spell booleans in lower case; everything else is its string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mesos_zk_url(data: Mapping[str, Any], topo: Topology) -> str:
    """`zk://<every ZooKeeper>:<client port>/<zookeeper_mesos_path>`, no credentials."""
    return zk_url(topo.zookeepers, data["zookeeper_mesos_path"], int(data["zookeeper_client_port"]))


def marathon_zk_url(data: Mapping[str, Any], topo: Topology) -> str:
    """`zk://<every ZooKeeper>:<client port>/<zookeeper_marathon_path>`, no credentials."""
    return zk_url(topo.zookeepers, data["zookeeper_marathon_path"],
                  int(data["zookeeper_client_port"]))


def format_resources(resources: Mapping[str, Any] | None, default_ports: str) -> str:
    """`cpus:2;mem:1024;ports:[31000-32000]`: the user's resources, ports defaulted.

    `ports(*)` or `ports(<role>)` is the agent's ports too: no second ports entry then.
    """
    items = {str(k): flag_value(v) for k, v in (resources or {}).items()}
    if not ports_keys(items):
        items["ports"] = default_ports
    return ";".join(f"{name}:{value}" for name, value in items.items())


def format_attributes(attributes: Mapping[str, Any] | None) -> str:
    """`rack:r1;zone:a` (Mesos' attribute syntax)."""
    return ";".join(f"{k}:{flag_value(v)}" for k, v in (attributes or {}).items())


@dataclass(frozen=True)
class Inputs:
    """What a computed value may read: the host (its `data` is group_data merged), the cluster,
    and host facts (`{fact name: value}`, FACT_* names)."""

    member: Member
    topo: Topology
    facts: Mapping[str, Any]

    @property
    def data(self) -> Mapping[str, Any]:
        return self.member.data


@dataclass(frozen=True)
class Computed:
    """A value the deploy derives. `value` returns it, or None to leave the flag out; `reads`
    names the data keys (or facts) it reads; `set_by` is what an operator changes instead of
    overriding the flag (the text of a refused override, flag_lists.override_refusal: starting
    with "computed" it reads "remove it", else "set <set_by> instead")."""

    name: str
    reads: tuple[str, ...]
    value: Callable[[Inputs], Any]
    set_by: str


@dataclass(frozen=True)
class Row:
    """One flag the deploy sets. `source`: a group_data key whose value is the flag's, or a
    Computed. `when`: a boolean data key (absent = on) the row needs, else the flag is left out.
    `overridable`: whether the operator's flag dict may replace the value (a default the deploy
    picks for the host); otherwise validation refuses the flag in that dict."""

    flag: str
    source: str | Computed
    why: str
    upstream: str
    when: str | None = None
    overridable: bool = False

    @property
    def set_by(self) -> str:
        return self.source if isinstance(self.source, str) else self.source.set_by

    def describe(self) -> str:
        """One line: the flag, where its value comes from, why, and the upstream source."""
        if isinstance(self.source, str):
            origin = f"group_data key {self.source}"
        else:
            reads = f" (reads {', '.join(self.source.reads)})" if self.source.reads else ""
            origin = f"computed: {self.source.name}{reads}"
        when = f", only while {self.when} is on" if self.when else ""
        override = "; the operator's flag dict may override it" if self.overridable else ""
        return f"--{self.flag}: {origin}{when}{override}. {self.why} [{self.upstream}]"


@dataclass(frozen=True)
class Table:
    """A program's rows, in env-file order. `user_key`: the data key of the operator's extra
    flags (merged last); `not_from_user`: names dropped from that dict (secrets given through
    a key of their own and passed another way)."""

    program: Program
    user_key: str
    rows: tuple[Row, ...]
    not_from_user: frozenset[str] = frozenset()

    def row(self, flag: str) -> Row | None:
        return next((r for r in self.rows if r.flag == flag), None)


# -- computed values ---------------------------------------------------------------------------

_ZK_RULE = "computed from the zookeepers group, zookeeper_client_port and {path}"
# The zk flags of a product that writes its znodes carry its digest (zookeeper_acls).
_ZK_DIGEST_RULE = _ZK_RULE + "; its ZooKeeper credentials go in {creds}"
_AUTH = "mesos_authentication (the deploy writes the credentials)"

ADDRESS = Computed("the host's advertised address (topology.advertised_address)", ("ip",),
                   lambda i: i.member.ip, "ip (the host's data)")
ADVERTISED = Computed("the host's advertised address (topology.advertised_address)", ("ip",),
                      lambda i: i.member.ip,
                      "ip (the host's data; the deploy advertises the address)")
MESOS_ZK_MASTER = Computed(
    "the Mesos zk:// URL over the zookeepers group",
    ("zookeeper_mesos_path", "zookeeper_client_port"),
    lambda i: mesos_zk_url(i.data, i.topo),
    _ZK_DIGEST_RULE.format(path="zookeeper_mesos_path", creds="zookeeper_mesos_credentials"))
MESOS_ZK = Computed(
    "the Mesos zk:// URL over the zookeepers group",
    ("zookeeper_mesos_path", "zookeeper_client_port"),
    lambda i: mesos_zk_url(i.data, i.topo), _ZK_RULE.format(path="zookeeper_mesos_path"))
MARATHON_ZK = Computed(
    "the Marathon zk:// URL over the zookeepers group",
    ("zookeeper_marathon_path", "zookeeper_client_port"),
    lambda i: marathon_zk_url(i.data, i.topo),
    _ZK_DIGEST_RULE.format(path="zookeeper_marathon_path",
                           creds="zookeeper_marathon_credentials"))
QUORUM = Computed("len(masters group) // 2 + 1 (topology.quorum)", (),
                  lambda i: quorum(len(i.topo.masters)), "computed from the number of masters")
RESOURCES = Computed(
    "mesos_resources in Mesos' syntax, ports defaulted (format_resources)",
    ("mesos_resources", "mesos_agent_ports"),
    lambda i: format_resources(i.data.get("mesos_resources"), i.data["mesos_agent_ports"]),
    "mesos_resources (ports: mesos_agent_ports)")
ATTRIBUTES = Computed(
    "mesos_attributes in Mesos' syntax, left out when empty (format_attributes)",
    ("mesos_attributes",),
    lambda i: format_attributes(i.data.get("mesos_attributes")) or None, "mesos_attributes")
SYSTEMD_SUPPORT = Computed(
    f"false when the host lacks {SYSTEMD_CGROUP_HIERARCHY}, else left out",
    (f"fact {FACT_SYSTEMD_CGROUP_HIERARCHY}",),
    lambda i: None if i.facts.get(FACT_SYSTEMD_CGROUP_HIERARCHY, True) else False,
    f"the host's {SYSTEMD_CGROUP_HIERARCHY} (a fact)")


def _service_port_range(data: Mapping[str, Any]) -> tuple[Any, Any]:
    low, high = data["marathon_service_port_range"]
    return low, high


PORT_MIN = Computed("the low end of marathon_service_port_range", ("marathon_service_port_range",),
                    lambda i: _service_port_range(i.data)[0], "marathon_service_port_range")
PORT_MAX = Computed("the high end of marathon_service_port_range",
                    ("marathon_service_port_range",),
                    lambda i: _service_port_range(i.data)[1], "marathon_service_port_range")


def _constant(value: Any) -> Computed:
    """A fixed value that the mesos_authentication switch turns on (rows with `when`)."""
    return Computed(f"the constant {flag_value(value)!r}", (), lambda _: value, _AUTH)


# -- the tables --------------------------------------------------------------------------------

_ADVERTISE = ("Debian resolves its own host name to 127.0.1.1; the others must reach this "
              "address")
_AUTH_WHY = "Mesos authentication is on by default (mesos_authentication)"

MASTER = Table("master", "mesos_master_flags", (
    Row("ip", ADDRESS, "bind and advertise the cluster address, never 127.0.1.1",
        _MESOS_MASTER_SRC),
    Row("hostname", ADVERTISED, _ADVERTISE, _MESOS_MASTER_SRC),
    Row("port", "mesos_master_port", "the master's HTTP/libprocess port", _MESOS_MASTER_SRC),
    Row(MASTER_ZK_FLAG, MESOS_ZK_MASTER, "leader election and the replicated log's peers; the "
        "env file points it at /etc/mesos/zk", _MESOS_MASTER_SRC),
    Row("quorum", QUORUM, "the replicated log needs a strict majority of masters",
        _MESOS_MASTER_SRC),
    Row("work_dir", "mesos_master_work_dir", "the replicated log lives here; never under /tmp",
        _MESOS_MASTER_SRC),
    Row("log_dir", "mesos_log_dir", "log files beside stderr", _MESOS_MASTER_SRC),
    Row("cluster", "cluster_name", "the name the web UI shows", _MESOS_MASTER_SRC),
    Row("zk_session_timeout", "mesos_zk_session_timeout", "ZooKeeper session timeout",
        _MESOS_MASTER_SRC),
    Row("authenticate_frameworks", _constant(True), _AUTH_WHY, _MESOS_MASTER_SRC,
        when="mesos_authentication"),
    Row("authenticate_agents", _constant(True), _AUTH_WHY, _MESOS_MASTER_SRC,
        when="mesos_authentication"),
    Row("authenticate_http_readwrite", _constant(True), _AUTH_WHY, _MESOS_MASTER_SRC,
        when="mesos_authentication"),
    Row("credentials", _constant(MESOS_CREDENTIALS_FILE), "every principal and its secret "
        "(JSON), written by the deploy", _MESOS_MASTER_SRC, when="mesos_authentication"),
))

AGENT = Table("agent", "mesos_agent_flags", (
    Row(AGENT_ZK_FLAG, MESOS_ZK, "finds the leading master; the env file points it at "
        "/etc/mesos/zk", _MESOS_AGENT_SRC),
    Row("ip", ADDRESS, "bind and advertise the cluster address, never 127.0.1.1",
        _MESOS_AGENT_SRC),
    Row("hostname", ADVERTISED, _ADVERTISE, _MESOS_AGENT_SRC),
    Row("port", "mesos_agent_port", "the agent's HTTP/libprocess port", _MESOS_AGENT_SRC),
    Row("work_dir", "mesos_agent_work_dir", "checkpoints and sandboxes; never under /tmp",
        _MESOS_AGENT_SRC),
    Row("log_dir", "mesos_log_dir", "log files beside stderr", _MESOS_AGENT_SRC),
    Row("containerizers", "mesos_containerizers", "docker for Marathon's Docker apps",
        _MESOS_AGENT_SRC),
    Row("executor_registration_timeout", "mesos_executor_registration_timeout",
        "Docker pulls outlast Mesos' 1mins default", _MESOS_AGENT_SRC),
    Row("resources", RESOURCES, "what the agent offers; its ports must stay clear of the "
        "cluster's and Marathon's service ports", _MESOS_AGENT_SRC),
    Row("attributes", ATTRIBUTES, "placement constraints for apps", _MESOS_AGENT_SRC),
    Row("systemd_enable_support", SYSTEMD_SUPPORT, "the agent exits without the v1 systemd "
        "hierarchy (cgroup v2 hosts); AVENTER's own deploy turns support off there",
        "m3scluster/clusterd src/linux/systemd.cpp", overridable=True),
    Row("credential", _constant(MESOS_AGENT_CREDENTIAL_FILE), "the agent's principal and "
        "secret (JSON), written by the deploy", _MESOS_AGENT_SRC, when="mesos_authentication"),
))

MARATHON = Table("marathon", "marathon_flags", (
    Row("master", MESOS_ZK, "finds the leading Mesos master (Marathon only reads /mesos)",
        _MARATHON_SRC + "MarathonConf.scala"),
    Row("zk", MARATHON_ZK, "Marathon's state and leader election",
        _MARATHON_SRC + "ZookeeperConf.scala"),
    Row("hostname", ADVERTISED, "used in leader redirects: the other instances and clients "
        "must reach it", _MARATHON_SRC + "MarathonConf.scala"),
    Row("http_port", "marathon_http_port", "the REST API and UI port",
        _MARATHON_SRC + "HttpConf.scala"),
    Row("mesos_user", "marathon_mesos_user", "the user tasks run as",
        _MARATHON_SRC + "MarathonConf.scala"),
    Row("task_launch_timeout", "marathon_task_launch_timeout_ms", "matches the agents' "
        "executor_registration_timeout (Docker pulls)", _MARATHON_SRC + "MarathonConf.scala"),
    Row("local_port_min", PORT_MIN, "service ports Marathon hands out; clear of the agents' "
        "ports", _MARATHON_SRC + "MarathonConf.scala"),
    Row("local_port_max", PORT_MAX, "service ports Marathon hands out; clear of the agents' "
        "ports", _MARATHON_SRC + "MarathonConf.scala"),
    # A toggle: MARATHON_MESOS_AUTHENTICATION= becomes a bare --mesos_authentication.
    Row("mesos_authentication", _constant(""), _AUTH_WHY + " (a toggle: an empty value)",
        _MARATHON_SRC + "MarathonConf.scala", when="mesos_authentication"),
    Row("mesos_authentication_principal", _constant(MARATHON_PRINCIPAL), _AUTH_WHY,
        _MARATHON_SRC + "MarathonConf.scala", when="mesos_authentication"),
    Row("mesos_authentication_secret_file", _constant(MARATHON_MESOS_SECRET), "the secret as "
        "the container sees it (mounted read-only)", _MARATHON_SRC + "MarathonConf.scala",
        when="mesos_authentication"),
), not_from_user=frozenset({"http_credentials"}))  # marathon_http_credentials, see flags.py

TABLES: dict[str, Table] = {t.program: t for t in (MASTER, AGENT, MARATHON)}


def table(program: str) -> Table:
    """The table of "master", "agent" or "marathon"; ValueError for another name."""
    if program not in TABLES:
        raise ValueError(f"unknown program {program!r}; use one of {sorted(TABLES)}")
    return TABLES[program]


# -- the mechanism -----------------------------------------------------------------------------

def program_flags(program: str, member: Member, topo: Topology,
                  facts: Mapping[str, Any] | None = None) -> dict[str, str]:
    """`{flag: value}` for one host: every row of the program's table whose `when` key is on
    and whose value is not None, in table order, then the operator's flag dict (`user_key`,
    without `not_from_user`) merged over them: a given name replaces the value in place, a new
    one is appended. Values are strings (flag_value). Raises what the data raises (a missing
    key: KeyError); validation refuses such data first."""
    tab = table(program)
    inputs = Inputs(member, topo, facts or {})
    flags: dict[str, str] = {}
    for row in tab.rows:
        value = _row_value(row, inputs)
        if value is not None:
            flags[row.flag] = value
    for name, value in (member.data.get(tab.user_key) or {}).items():
        if name not in tab.not_from_user:
            flags[str(name)] = flag_value(value)
    return flags


def program_flag(program: str, flag: str, member: Member, topo: Topology,
                 facts: Mapping[str, Any] | None = None) -> str | None:
    """`program_flags(program, member, topo, facts).get(flag)`, computed alone: the same row
    and the same operator's dict, without the other rows' work (a planning read needs the work
    dir only). Raises as program_flags does."""
    tab = table(program)
    user = member.data.get(tab.user_key) or {}
    if flag in user and flag not in tab.not_from_user:
        return flag_value(user[flag])
    row = tab.row(flag)
    return None if row is None else _row_value(row, Inputs(member, topo, facts or {}))


def _row_value(row: Row, inputs: Inputs) -> str | None:
    """A row's flag value for `inputs` (flag_value), or None when its `when` key is off or its
    computed value is None."""
    data = inputs.member.data
    if row.when is not None and not data.get(row.when, True):
        return None
    if isinstance(row.source, str):
        return flag_value(data[row.source])
    value = row.source.value(inputs)
    return None if value is None else flag_value(value)


def computed_flags(program: str) -> dict[str, str]:
    """`{flag: what sets it}` for the flags an operator's dict may not override (rows that are
    not `overridable`), in table order: flag_lists.COMPUTED_FLAGS."""
    return {row.flag: row.set_by for row in table(program).rows if not row.overridable}


def flag_source(program: str, flag: str) -> str:
    """Which key sets `--flag` of this program, as one line (Row.describe). A flag without a
    row comes only from the operator's flag dict (names are checked by flag_lists)."""
    tab = table(program)
    name = flag.strip().lstrip("-")
    row = tab.row(name)
    if row is None:
        return (f"--{name}: not set by the deploy; only {tab.user_key}[{name!r}], else the "
                f"{program}'s own default")
    return row.describe()
