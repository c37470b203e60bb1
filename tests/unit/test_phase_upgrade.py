"""The pure parts of the e2e upgrade phase (tests/e2e/phase_upgrade.py): what pyinfra's output
says restarted, in which order, and whether the cluster runs the target versions."""

from __future__ import annotations

import importlib

upgrade = importlib.import_module("tests.e2e.phase_upgrade")

M, A, R = upgrade.MASTER_RESTART, upgrade.AGENT_RESTART, upgrade.MARATHON_RESTART
TARGET = upgrade.Target("upgrade", ("mesos_version=1.11.0-0.8.0",), "1.11.0-0.8.0",
                        "v1.11.0-0.8.0", "reg:5000/m:1.10.17", "1.10.17")


def turn(prefix: str, member: str, k: int, restarted: str | None) -> list[str]:
    lines = [f"--> Starting serial operation: tasks/x.py | {prefix} (x): {member} ({k} of 3), "
             "unless it leads"]
    for host in ("m1", "m2", "m3"):
        lines.append(f"    [{host}] " + ("Success" if host == restarted else "No change"))
    return lines


def last(prefix: str, restarted: str) -> list[str]:
    return [f"--> Starting serial operation: tasks/x.py | {prefix} (x): the leader, last",
            *(f"    [{h}] " + ("Success" if h == restarted else "No change")
              for h in ("m1", "m2", "m3"))]


def agents(*hosts: str) -> list[str]:
    return [f"--> Starting serial operation: tasks/a.py | {A} (config), one at a time",
            *(f"    [{h}] Success" for h in hosts)]


def run_output(agents_first: bool = False, master_leader: str = "m2") -> str:
    masters = (turn(M, "m1", 1, "m1" if master_leader != "m1" else None)
               + turn(M, "m2", 2, "m2" if master_leader != "m2" else None)
               + turn(M, "m3", 3, "m3" if master_leader != "m3" else None)
               + last(M, master_leader))
    marathon = turn(R, "m1", 1, "m1") + turn(R, "m2", 2, "m2") + turn(R, "m3", 3, None) + \
        last(R, "m3")
    parts = (agents("a1", "a2") + masters) if agents_first else (masters + agents("a1", "a2"))
    return "\n".join(["--> Starting operation: tasks/p.py | Move aventer-mesos", "    [m1] Success",
                      *parts, *marathon, "--> Disconnecting from hosts..."])


def problems(output: str, mesos: bool = True, marathon: bool = True) -> list[str]:
    sequence = upgrade.restart_sequence(output, (M, A, R))
    return upgrade.order_problems(sequence, ["m1", "m2", "m3"], ["a1", "a2"], "m2",
                                  ["m1", "m2", "m3"], "m3", mesos, marathon)


def test_restart_sequence_reads_successes_in_printed_order() -> None:
    sequence = upgrade.restart_sequence(run_output(), (M, A, R))
    assert [(p, h) for p, _, h in sequence] == [
        (M, "m1"), (M, "m3"), (M, "m2"), (A, "a1"), (A, "a2"), (R, "m1"), (R, "m2"), (R, "m3")]
    assert sequence[2][1].endswith(": the leader, last")


def test_upstream_order_has_no_problems() -> None:
    assert problems(run_output()) == []


def test_an_agent_before_the_last_master_is_a_problem() -> None:
    found = problems(run_output(agents_first=True))
    assert len(found) == 1 and found[0].startswith("an agent restarted before the last master")


def test_the_leader_must_restart_last() -> None:
    found = problems(run_output(master_leader="m1"))
    assert found == ["masters: the leader m2 must restart in the last turn, alone; the last "
                     "turn restarted ['m1']"]


def test_a_component_that_does_not_move_must_not_restart() -> None:
    found = problems(run_output(), mesos=True, marathon=False)
    assert found == ["Marathon: restarted ['m1', 'm2', 'm3'], want each of [] once"]


def test_version_problems_name_each_host_still_on_the_old_build() -> None:
    dpkg = {"m1": "1.11.0-0.8.0+standin1", "a1": "1.11.0-0.7.1+standin1"}
    reported = {"m1:5050": {"git_tag": "v1.11.0-0.8.0"}, "a1:5051": {"git_tag": "v1.11.0-0.7.1"}}
    images = {"m1": "reg:5000/m:1.10.17"}
    assert upgrade.version_problems(dpkg, reported, images, "1.10.17", TARGET) == [
        "a1: aventer-mesos 1.11.0-0.7.1+standin1, want 1.11.0-0.8.0*",
        "a1:5051: /version git_tag 'v1.11.0-0.7.1', want 'v1.11.0-0.8.0' (the process "
        "predates the package?)"]
    done = {"a1": "1.11.0-0.8.0+standin1"}
    assert upgrade.version_problems(done, {"a1:5051": {"git_tag": "v1.11.0-0.8.0"}}, images,
                                    "1.10.26", TARGET) == [
        "Marathon /v2/info version '1.10.26', want '1.10.17'"]


def test_marathon_release_from_either_image_name() -> None:
    assert upgrade.marathon_release("198.51.100.1:5000/pyinfra-mesos/marathon-standin:1.10.17") \
        == "1.10.17"
    assert upgrade.marathon_release("mesosphere/marathon:v1.10.26") == "1.10.26"
