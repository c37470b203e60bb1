"""tests/e2e/phase_remove_agent.py's reads: an address named as a whole, /etc/hosts and the
firewall table without the removed agent (and with a remaining one: the read was real)."""

from __future__ import annotations

from pyinfra_mesos.topology import Member
from tests.e2e.phase_remove_agent import hosts_file_problem, names_address, ruleset_problem
from tests.e2e.phase_shrink import remove_host_lines

GONE = Member("agent3", "10.0.1.13")
KEPT = Member("agent1", "10.0.1.11")
HOSTS = """127.0.0.1 localhost
# BEGIN pyinfra-mesos cluster members
10.0.0.11 master1
10.0.1.11 agent1
10.0.1.130 agent30
# END pyinfra-mesos cluster members
"""
TABLE = """table inet pyinfra_mesos {
	set members {
		type ipv4_addr
		elements = { 10.0.0.11, 10.0.1.11, 10.0.1.130 }
	}
}
"""


def test_an_address_is_named_only_as_a_whole() -> None:
    assert names_address("elements = { 10.0.1.13, 10.0.0.11 }", "10.0.1.13")
    assert names_address("10.0.1.13/32", "10.0.1.13")
    assert not names_address("10.0.1.130 110.0.1.13", "10.0.1.13")


def test_hosts_and_table_without_the_removed_agent_pass() -> None:
    assert hosts_file_problem("master1", HOSTS, GONE, KEPT) is None
    # The sandbox's boot-time lines, outside the deploy's block, are not the deploy's.
    assert hosts_file_problem("master1", "10.0.1.13\tagent3\n" + HOSTS, GONE, KEPT) is None
    assert ruleset_problem("master1", TABLE, GONE, KEPT) is None


def test_the_removed_agent_left_behind_is_named() -> None:
    stale = HOSTS.replace("10.0.1.130 agent30", "10.0.1.13 agent3")
    assert hosts_file_problem("master1", stale, GONE, KEPT) == (
        "master1: /etc/hosts still names the removed agent: '10.0.1.13 agent3'")
    other = HOSTS.replace("10.0.1.130 agent30", "10.9.9.9 agent3")
    assert "still names the removed agent" in hosts_file_problem("master1", other, GONE, KEPT)
    assert ruleset_problem("master1", TABLE.replace("10.0.1.130", "10.0.1.13"), GONE, KEPT) == (
        "master1: the firewall table still names the removed agent's 10.0.1.13")


def test_an_empty_read_is_not_a_pass() -> None:
    assert "has no '# BEGIN pyinfra-mesos cluster members' block" in hosts_file_problem(
        "master1", "", GONE, KEPT)
    empty_block = "\n".join(line for line in HOSTS.splitlines() if line.startswith(("#", "127")))
    assert "does not list agent1" in hosts_file_problem("master1", empty_block, GONE, KEPT)
    assert "does not name agent1" in ruleset_problem("master1", "", GONE, KEPT)


def test_the_agents_line_goes_from_the_inventory() -> None:
    text = ('agents = [\n    sandbox_host(SANDBOX, "agent1"),\n'
            '    sandbox_host(SANDBOX, "agent3"),\n]\n')
    assert remove_host_lines(text, ["agent3"]) == (
        'agents = [\n    sandbox_host(SANDBOX, "agent1"),\n]\n')
