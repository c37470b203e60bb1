"""`python -m pyinfra_mesos drain INVENTORY HOST [--yes]`: move an agent's Marathon tasks
elsewhere under load, then take the agent out (Mesos maintenance), from the operator's machine
over SSH only (the cluster's ports may be firewalled: every request runs on a cluster host).
`undrain INVENTORY HOST`: bring the machine back up and start its agent again.

Steps of `drain`, each printed: (1) check HOST (an agent of the inventory, not the last one,
another agent active in Mesos); (2) add HOST to the Mesos maintenance schedule (it starts
DRAINING: Marathon 1.10's `maintenance_mode`, on by default, declines its offers); (3) for each
Marathon task on HOST, one at a time: `DELETE /v2/apps/<id>/tasks/<task>?scale=false`
(AppTasksResource.deleteOne: killed, its instance launched again, now elsewhere), then wait
until the app's instances all run ready off HOST and every load balancer's haproxy.cfg routes
the app's service ports to them and no longer to HOST; (4) `POST /master/machine/down` (Mesos
removes the agent and tells it to shut down); (5) `systemctl disable --now mesos-agent` on HOST.
The pure decisions are drain_plan.py.

Exit status: 0 done; 1 refused or failed (one line `error: <where>: <field>: <message>`);
2 usage error or bad inventory. Bounds: each wait --wait seconds (default 300), each command
20 s. Mesos's read-write endpoints need credentials when `mesos_authentication` is on: they are
read on the master host from the deploy's 0600 credentials file by a short python3 program
(never on a command line); Marathon's come from its 0600 curl config, as for `status`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from collections.abc import Callable, Sequence
from typing import Any

from pyinfra_mesos import drain_plan as plan
from pyinfra_mesos.flag_tables import MESOS_CREDENTIALS_FILE
from pyinfra_mesos.haproxy_bridge import HAPROXY_CONFIG
from pyinfra_mesos.marathon import MARATHON_CURL_CONFIG
from pyinfra_mesos.mesos_agent import MESOS_AGENT_SERVICE
from pyinfra_mesos.problems import error, unreachable_line, without_host
from pyinfra_mesos.remote import Hosts, RemoteError
from pyinfra_mesos.status import marathon_auth, open_hosts, topology_or_report
from pyinfra_mesos.topology import Member, Topology, marathon_url, mesos_master_url

EXIT_DONE, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
WAIT_S = 300.0
COMMAND_S = 20.0

# Run on a master host: one HTTP request, with the Mesos credentials file's first principal
# when the file exists (the read-write realm needs it); prints the status line, then the body.
_MESOS_CALL = r"""
import base64, json, os, sys, urllib.error, urllib.request
url, method, body, path = sys.argv[1:5]
req = urllib.request.Request(url, data=body.encode() if body else None, method=method,
                             headers={"Content-Type": "application/json"})
if os.path.exists(path):
    c = json.load(open(path))["credentials"][0]
    token = base64.b64encode((c["principal"] + ":" + c["secret"]).encode()).decode()
    req.add_header("Authorization", "Basic " + token)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(req, timeout=10) as r:
        code, data = r.status, r.read()
except urllib.error.HTTPError as e:
    code, data = e.code, e.read()
print(code)
sys.stdout.write(data.decode("utf-8", "replace"))
"""


class Failed(Exception):
    """A step could not be done: `str()` is the one-line problem."""


def add_parser(commands: Any) -> None:
    """Add `drain` and `undrain` to the CLI's subcommands (cli.py)."""
    for name, run, text in (
        ("drain", run_drain, "move an agent's tasks elsewhere under load, then stop and "
                             "disable its mesos-agent (Mesos maintenance)"),
        ("undrain", run_undrain, "bring a drained agent's machine up and start its agent"),
    ):
        parser = commands.add_parser(name, help=text, description=text + ". Exit 0: done; 1: "
                                     "refused or failed; 2: usage error or bad inventory.")
        parser.add_argument("inventory", metavar="INVENTORY")
        parser.add_argument("host", metavar="HOST", help="the agent, as named in the inventory")
        if name == "drain":
            parser.add_argument("--yes", action="store_true",
                                help="do not ask before starting")
            parser.add_argument("--wait", type=float, default=WAIT_S, metavar="SECONDS",
                                help="bound on each wait for a replacement (default 300)")
        parser.set_defaults(run=run)


class Cluster:
    """The SSH glue: Mesos and Marathon requests run on their own hosts."""

    def __init__(self, topo: Topology, hosts: Hosts, marathon_auth: bool) -> None:
        self.topo, self.hosts, self.marathon_auth = topo, hosts, marathon_auth

    def sh(self, host: str, command: str, timeout_s: float = COMMAND_S) -> str:
        status, out, err = self.hosts.connection(host).run(command, timeout_s)
        if status != 0:
            last = (err.strip().splitlines() or [f"exit status {status}"])[-1]
            raise Failed(f"{host}: {last}")
        return out

    def mesos_leader(self) -> Member:
        """The leading master, from the first master that names it (GET /redirect)."""
        for m in self.topo.masters:
            try:
                out = self.sh(m.name, f"curl -sS --max-time 5 -o /dev/null -w '%{{redirect_url}}'"
                                      f" {mesos_master_url(m)}/redirect")  # fmt: skip
            except (Failed, RemoteError):
                continue
            host = out.strip().split("//", 1)[-1].split("/", 1)[0].rpartition(":")[0]
            leader = next((x for x in self.topo.masters if host in (x.ip, x.name)), None)
            if leader is not None:
                return leader
        raise Failed("masters: no Mesos leader could be found")

    def mesos(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        leader = self.mesos_leader()
        args = [f"{mesos_master_url(leader)}{path}", method,
                json.dumps(body) if body is not None else "", MESOS_CREDENTIALS_FILE]
        out = self.sh(leader.name, "python3 -c " + shlex.join([_MESOS_CALL, *args]))
        code, _, text = out.partition("\n")
        try:
            return int(code), json.loads(text) if text.strip() else None
        except ValueError:
            return int(code), text.strip()

    def marathon(self, method: str, path: str) -> tuple[int, Any]:
        """(HTTP status, JSON body or text) of one request, asked of each Marathon host in
        inventory order until one answers other than 502/503 (every Marathon proxies to its
        leader; one whose container restarts, or that has no leader yet, is passed over).
        Failed when none answers."""
        auth = f"-K {shlex.quote(MARATHON_CURL_CONFIG)} " if self.marathon_auth else ""
        last = "no Marathon host in the inventory"
        for m in self.topo.marathons:
            try:
                out = self.sh(m.name, f"curl -sS --max-time 15 {auth}-X {method} "
                                      f"-w '\\n%{{http_code}}' "
                                      f"{shlex.quote(marathon_url(m) + path)}")  # fmt: skip
            except (Failed, RemoteError) as exc:
                last = str(exc)
                continue
            text, _, code = out.rpartition("\n")
            status = int(code) if code.strip().isdigit() else 0
            if status in plan.NO_LEADER_STATUSES:
                last = f"{m.name}: {method} {path} answered {status}"
                continue
            try:
                return status, json.loads(text) if text.strip() else None
            except ValueError:
                return status, text
        raise Failed(f"marathon: no Marathon answered: {last}")

    def apps(self) -> list[dict[str, Any]]:
        status, body = self.marathon("GET", "/v2/apps?embed=apps.tasks")
        if status != 200 or not isinstance(body, dict):
            raise Failed(f"marathon: GET /v2/apps answered {status}")
        return list(body.get("apps") or [])

    def lb_configs(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for lb in self.topo.load_balancers:
            try:
                out[lb.name] = self.sh(lb.name, f"cat {HAPROXY_CONFIG}")
            except (Failed, RemoteError):
                out[lb.name] = None
        return out


def _say(step: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {step}", flush=True)


def confirmed(prompt: str) -> bool:
    """Whether the operator answered y or yes to `prompt`; False also when stdin is closed or
    not a terminal's (EOF: a script without --yes), never a traceback."""
    try:
        answer = input(prompt)
    except EOFError:
        print()
        return False
    return answer.strip().lower() in ("y", "yes")


def _wait(what: str, probe: Callable[[], str | None], limit_s: float) -> None:
    """Poll `probe` (None: done; else what is missing) every second, for `limit_s`."""
    deadline = time.monotonic() + limit_s

    def ask() -> str | None:
        # A request that failed (a Marathon restarting, a master electing) is one more round
        # of waiting, not the end: the bound still holds.
        try:
            return probe()
        except (Failed, RemoteError) as exc:
            return str(exc)

    missing = ask()
    while missing is not None:
        if time.monotonic() > deadline:
            raise Failed(f"{what}: not done after {limit_s:g} s: {missing}")
        time.sleep(1.0)
        missing = ask()


def _prepare(args: argparse.Namespace) -> tuple[Topology, Member] | int:
    topo = topology_or_report(args.inventory)
    if topo is None:
        return EXIT_USAGE
    problems = plan.target_problems(topo, args.host, args.inventory)
    for problem in problems:
        print(problem.format())
    if problems:
        return EXIT_FAILED
    return topo, next(m for m in topo.agents if m.name == args.host)


def open_cluster(topo: Topology, members: Sequence[Member] | None = None
                 ) -> tuple[Cluster, Hosts]:
    """drain's SSH glue over every cluster host (or `members` only); Failed naming the first
    host that cannot be reached (connections closed)."""
    hosts = open_hosts(topo, time.monotonic() + 30.0, members)
    if hosts.unreachable:
        name, reason = sorted(hosts.unreachable.items())[0]
        hosts.close()
        raise Failed(unreachable_line(name, reason))
    return Cluster(topo, hosts, marathon_auth(topo)), hosts


def maintenance_status(cluster: Cluster) -> dict[str, Any]:
    """GET /master/maintenance/status (a ClusterStatus: draining and down machines)."""
    status, reply = cluster.mesos("GET", "/master/maintenance/status")
    if status != 200:
        raise Failed(f"mesos: GET /master/maintenance/status answered {status}: {reply}")
    return reply if isinstance(reply, dict) else {}


def other_agents(cluster: Cluster, agent: Member,
                 maintenance: dict[str, Any] | None = None) -> list[str]:
    """The other agents active in Mesos (GET /master/state) whose machine is in no maintenance
    (a DRAINING agent stays active, but Marathon places nothing there); `maintenance` is
    maintenance_status's answer when the caller has it (else it is asked here). Failed when
    there is none (its tasks would have nowhere to run) or the master does not answer."""
    status, state = cluster.mesos("GET", "/master/state")
    if status != 200 or not isinstance(state, dict):
        raise Failed(f"mesos: GET /master/state answered {status}")
    if maintenance is None:
        maintenance = maintenance_status(cluster)
    others = plan.other_active_agents(state, agent.ip, plan.machines_in_maintenance(maintenance))
    if not others:
        raise Failed(f"{agent.name}: no other agent is active in Mesos and out of "
                     "maintenance: its tasks would have nowhere to run")
    return others


def machine_is_down(maintenance: dict[str, Any], agent: Member) -> bool:
    """Whether the agent's machine is DOWN in `maintenance` (maintenance_status's answer;
    drain_plan.machine_down)."""
    return plan.machine_down(maintenance, plan.machine_id(agent))


def move_tasks_off(cluster: Cluster, topo: Topology, agent: Member, wait_s: float,
                   started: float) -> None:
    """Steps 1 (live part) to 3 of `drain` (module docstring): another agent is active, the
    machine scheduled (DRAINING: Marathon declines its offers), each Marathon task moved and
    waited for (`wait_s` each). Prints each step; Failed or RemoteError on a step that could
    not be done. The agent stays registered: `back_in_service` ends the window."""
    names = {agent.name, agent.ip}
    address_of = {m.name: m.ip for m in topo.all_members} | {m.ip: m.ip for m in topo.all_members}
    others = other_agents(cluster, agent)
    _say(f"{agent.name}: an agent of the inventory, {len(others)} other agent(s) active", started)
    cluster.apps()  # Marathon answers before anything is scheduled (Failed otherwise)
    machine = plan.machine_id(agent)
    status, current = cluster.mesos("GET", "/master/maintenance/schedule")
    if status != 200:
        raise Failed(f"mesos: GET /master/maintenance/schedule answered {status}: {current}")
    schedule = plan.schedule_with(current or {}, machine, time.time_ns())
    if schedule is not None:
        status, reply = cluster.mesos("POST", "/master/maintenance/schedule", schedule)
        if status != 200:
            raise Failed(f"mesos: maintenance schedule refused ({status}): {reply}")
    _say(f"{agent.name}: scheduled for maintenance ({json.dumps(machine)} DRAINING); "
         "Marathon declines its offers", started)
    moves = plan.moves(cluster.apps(), names)
    for number, move in enumerate(moves):
        # The agent's other tasks keep serving until their own turn (an app may have several).
        later = [m.task_id for m in moves[number + 1:]]
        path = f"/v2/apps/{move.app_id.strip('/')}/tasks/{move.task_id}?scale=false"
        status, reply = cluster.marathon("DELETE", path)
        if status not in (200, 404):  # 404: it ended meanwhile; its instance comes back
            raise Failed(f"marathon: kill of {move.task_id} answered {status}: {reply}")
        _say(f"{move.app_id}: killed {move.task_id}; waiting for its replacement", started)

        def probe(move: plan.Move = move, later: list[str] = later) -> str | None:
            app = next((a for a in cluster.apps() if a["id"] == move.app_id), None)
            return plan.replaced(app, move, names, address_of, cluster.lb_configs(), later)

        _wait(f"{move.app_id}: replacement of {move.task_id}", probe, wait_s)
        _say(f"{move.app_id}: replaced, healthy and behind every load balancer", started)


def back_in_service(cluster: Cluster, agent: Member) -> bool:
    """End `move_tasks_off`'s window: the schedule posted again without the agent's machine
    (a DRAINING machine left out of the schedule is UP again: apache/mesos 1.11.0
    src/master/http.cpp `___updateMaintenanceSchedule`; Mesos refuses to leave out a DOWN one,
    and Failed then carries its reason). False when the machine was not scheduled (nothing
    posted)."""
    status, current = cluster.mesos("GET", "/master/maintenance/schedule")
    if status != 200:
        raise Failed(f"mesos: GET /master/maintenance/schedule answered {status}: {current}")
    schedule = plan.schedule_without(current or {}, plan.machine_id(agent))
    if schedule is None:
        return False
    status, reply = cluster.mesos("POST", "/master/maintenance/schedule", schedule)
    if status != 200:
        raise Failed(f"mesos: maintenance schedule refused ({status}): {reply}")
    return True


def drain_machine(cluster: Cluster, topo: Topology, agent: Member, wait_s: float,
                  started: float) -> None:
    """Steps 1 (live part) to 4 of `drain` (module docstring): `move_tasks_off`, then the
    machine DOWN. Prints each step; Failed or RemoteError on a step that could not be done.
    `remove` runs the same steps for an agent that is not DOWN yet."""
    move_tasks_off(cluster, topo, agent, wait_s, started)
    machine = plan.machine_id(agent)
    status, reply = cluster.mesos("POST", "/master/machine/down", [machine])
    if status != 200:
        raise Failed(f"mesos: machine/down refused ({status}): {reply}")
    _say(f"{agent.name}: machine DOWN (Mesos removed the agent)", started)


def drain(args: argparse.Namespace, topo: Topology, agent: Member) -> None:
    started = time.monotonic()
    cluster, hosts = open_cluster(topo)
    try:
        drain_machine(cluster, topo, agent, float(args.wait), started)
        cluster.sh(agent.name, "systemctl disable --now mesos-agent.service", 90.0)
        active = cluster.sh(agent.name, "systemctl is-active mesos-agent.service; "
                                        "systemctl is-enabled mesos-agent.service; true")
        _say(f"{agent.name}: mesos-agent stopped and disabled ({' / '.join(active.split())})",
             started)
    finally:
        hosts.close()
    print(f"drained: {agent.name}. To remove it for good: python -m pyinfra_mesos remove "
          f"{args.inventory} {agent.name} (README: Removing an agent).")


def run_drain(args: argparse.Namespace) -> int:
    prepared = _prepare(args)
    if isinstance(prepared, int):
        return prepared
    topo, agent = prepared
    if not args.yes:
        if not confirmed(f"Drain {agent.name}: move its tasks, then stop and disable its "
                         "mesos-agent? [y/N] "):
            print(error(args.inventory, agent.name, "not drained (not confirmed)").format())
            return EXIT_FAILED
    try:
        drain(args, topo, agent)
    except (Failed, RemoteError) as exc:
        print(error(args.inventory, agent.name, without_host(agent.name, str(exc))).format())
        return EXIT_FAILED
    return EXIT_DONE


def run_undrain(args: argparse.Namespace) -> int:
    """machine/up (only a DOWN machine: Mesos refuses others with its reason), then start the
    agent; it registers again with its checkpointed id. An agent `remove` masked is left to
    the deploy (it unmasks and starts Docker, the agent and HAProxy in their order)."""
    prepared = _prepare(args)
    if isinstance(prepared, int):
        return prepared
    topo, agent = prepared
    try:
        cluster, hosts = open_cluster(topo)
        try:
            status, reply = cluster.mesos("POST", "/master/machine/up",
                                          [plan.machine_id(agent)])
            if status != 200:
                raise Failed(f"mesos: machine/up refused ({status}): {reply}")
            print(f"{agent.name}: machine UP, out of the maintenance schedule")
            enabled = cluster.sh(agent.name, f"systemctl is-enabled {MESOS_AGENT_SERVICE} "
                                             "2>/dev/null; true")
            if plan.masked(enabled):
                print(f"{agent.name}: mesos-agent is masked (`remove` took the host out): run "
                      "the deploy, which unmasks and starts its units")
            else:
                cluster.sh(agent.name, f"systemctl enable --now {MESOS_AGENT_SERVICE}", 90.0)
                print(f"{agent.name}: mesos-agent enabled and started")
        finally:
            hosts.close()
    except (Failed, RemoteError) as exc:
        print(error(args.inventory, agent.name, without_host(agent.name, str(exc))).format())
        return EXIT_FAILED
    return EXIT_DONE

