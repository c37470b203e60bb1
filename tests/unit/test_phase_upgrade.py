"""The pure parts of the e2e upgrade phase (tests/e2e/phase_upgrade.py): what pyinfra's output
says restarted, in which order, and whether the cluster runs the target versions."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

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


# -- the backup the deploy takes before an upgrade ----------------------------------------------


def jute(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(4, "big") + raw


def snapshot(*paths: str) -> bytes:
    """A snapshot-like buffer: header, then each path as jute writes it, a node record's bytes
    after each (with a `/` in them that is no path), then the end marker `/`."""
    body = b"ZKSN" + (2).to_bytes(4, "big") + bytes(8)
    for path in ("", *paths):
        body += jute(path) + b"\x00\x00\x00\x07a/b data" + bytes(20)
    return body + jute("/")


def test_zookeeper_paths_finds_every_jute_path_and_no_stray_slash() -> None:
    data = snapshot("/mesos", "/mesos/log_replicas", "/marathon", "/marathon/state/apps")
    assert upgrade.zookeeper_paths(data) == {
        "/", "/mesos", "/mesos/log_replicas", "/marathon", "/marathon/state/apps"}
    assert upgrade.zookeeper_paths(b"/mesos" + bytes(10)) == set()  # no length before it


def test_tree_problems_names_each_missing_tree() -> None:
    paths = upgrade.zookeeper_paths(snapshot("/mesos2", "/marathon/leader"))
    assert upgrade.tree_problems(paths, ["/mesos", "/marathon"]) == ["no node of the /mesos tree"]
    assert upgrade.tree_problems({"/mesos"}, ["/mesos"]) == []


def test_backup_lines_reads_the_deploys_line() -> None:
    output = ("    [m1] Success\n"
              f"{upgrade.DONE}/p/backups/c/20260102T030405Z (12.5 s, 1048576 bytes)\n"
              f"{upgrade.DONE}FAILED: x\n")
    assert upgrade.backup_lines(output) == [("/p/backups/c/20260102T030405Z", 12.5, 1048576)]


def write_backup(directory: Path, files: dict[str, bytes]) -> None:
    directory.mkdir(mode=0o700)
    directory.chmod(0o700)
    for name, data in files.items():
        (directory / name).write_bytes(data)
        (directory / name).chmod(0o600)
    manifest = {"files": [{"name": n, "size": len(d)} for n, d in files.items()]}
    (directory / upgrade.MANIFEST).write_text(json.dumps(manifest))
    (directory / upgrade.MANIFEST).chmod(0o600)


def test_backup_problems_pins_modes_manifest_and_trees(tmp_path: Path) -> None:
    roots = ["/mesos", "/marathon"]
    good = tmp_path / "good"
    write_backup(good, {"snapshot.10": snapshot("/mesos/a"), "log.11": snapshot("/marathon/b")})
    assert upgrade.backup_problems(good, roots) == []
    assert upgrade.backup_dirs(tmp_path) == {good}

    bad = tmp_path / "bad"
    write_backup(bad, {"snapshot.10": snapshot("/mesos/a")})
    bad.chmod(0o755)
    (bad / "snapshot.10").chmod(0o644)
    (bad / "log.11").write_bytes(b"")
    (bad / "log.11").chmod(0o600)
    problems = upgrade.backup_problems(bad, roots)
    assert problems[0] == f"{bad}: mode 0755, want 0700"
    assert any(p.startswith(f"{bad / 'log.11'}: want a non-empty 0600 file") for p in problems)
    assert any(p.startswith(f"{bad / 'snapshot.10'}: want a non-empty 0600 file (mode 0644")
               for p in problems)
    assert any("the manifest lists" in p for p in problems)
    assert problems[-1] == f"{bad}: no node of the /marathon tree"


Z = upgrade.ZOOKEEPER_RESTART


def zookeeper_turns(leader: str) -> str:
    lines = []
    for k, member in enumerate(("m1", "m2", "m3"), 1):
        lines += turn(Z, member, k, member if member != leader else None)
    return "\n".join(lines + last(Z, leader))


def test_zookeeper_members_restart_once_each_the_leader_last() -> None:
    sequence = upgrade.restart_sequence(zookeeper_turns("m1"), (M, A, R, Z))
    assert [h for _, _, h in sequence] == ["m2", "m3", "m1"]
    args = (sequence, ["m1", "m2", "m3"], ["a1", "a2"], None, ["m1", "m2", "m3"], None,
            False, False, ["m1", "m2", "m3"])
    assert upgrade.order_problems(*args, "m1", True) == []
    assert upgrade.order_problems(*args, "m2", True) == [
        "ZooKeeper: the leader m2 must restart in the last turn, alone; the last turn "
        "restarted ['m1']"]
    assert upgrade.order_problems(*args, "m1", False) == [
        "ZooKeeper: restarted ['m1', 'm2', 'm3'], want each of [] once"]


def test_version_problems_name_each_member_off_the_zookeeper_target() -> None:
    target = upgrade.Target("move", (), "1.11.0-0.8.0", None, "reg:5000/m:1.10.17", "1.10.17",
                            "3.8.0-11+deb12u1")
    dpkg = {"m1": "1.11.0-0.8.0+standin1"}
    images = {"m1": "reg:5000/m:1.10.17"}
    zookeepers = {"m1": "3.8.0-11+deb12u1", "m2": "3.8.0-11+deb12u2"}
    assert upgrade.version_problems(dpkg, {}, images, "1.10.17", target, zookeepers) == [
        "m2: zookeeperd 3.8.0-11+deb12u2, want 3.8.0-11+deb12u1*"]
    # A target that does not move ZooKeeper does not look at it.
    assert upgrade.version_problems(dpkg, {}, images, "1.10.17", TARGET, zookeepers) == []


def test_other_version_is_the_newest_apt_offers_besides_the_installed_one() -> None:
    madison = (" zookeeperd | 3.8.0-11+deb12u2 | http://m.example.org/debian bookworm/main "
               "amd64 Packages\n"
               " zookeeperd | 3.8.0-11+deb12u1 | http://m.example.org/debian-security "
               "bookworm-security/main amd64 Packages\n"
               " zookeeperd | 3.8.0-9 | http://m.example.org/debian old/main amd64 Packages\n")
    assert upgrade.other_version(madison, "3.8.0-11+deb12u2") == "3.8.0-11+deb12u1"
    assert upgrade.other_version(madison, "3.8.0-9") == "3.8.0-11+deb12u2"
    only = " zookeeperd | 3.8.0-11+deb12u2 | http://m.example.org/debian bookworm/main\n"
    assert upgrade.other_version(only, "3.8.0-11+deb12u2") is None
    assert upgrade.other_version("", "3.8.0-11+deb12u2") is None
