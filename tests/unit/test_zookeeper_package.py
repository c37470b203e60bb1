"""ZooKeeper's version pin and move (pyinfra_mesos/zookeeper_package.py) and how
tasks/zookeeper.py plans them (pyinfra's @fake connector, as test_tasks_deploy.py)."""

from __future__ import annotations

import subprocess

import pytest
from test_tasks_deploy import cluster
from test_tasks_harness import op_named, plan

from pyinfra_mesos.zookeeper_package import (
    ZOOKEEPER_PIN_FILE,
    move_command,
    zookeeper_moves,
    zookeeper_packages,
    zookeeper_pin_text,
    zookeeper_version_problems,
)

U1, U2 = "3.8.0-11+deb12u1", "3.8.0-11+deb12u2"


def test_the_pin_holds_the_three_packages_that_move_together() -> None:
    assert zookeeper_packages("zookeeperd") == ["zookeeperd", "zookeeper", "libzookeeper-java"]
    assert zookeeper_packages("zookeeper") == ["zookeeper", "libzookeeper-java"]
    text = zookeeper_pin_text(zookeeper_packages("zookeeperd"), U1)
    assert text.splitlines()[1:] == [
        "Package: zookeeperd zookeeper libzookeeper-java", f"Pin: version {U1}*",
        "Pin-Priority: 1001"]
    assert text.startswith("# Managed by pyinfra-mesos (tasks/common.py)")
    # No version: a file apt reads as no pin (comments only), so the set needs no "absent".
    assert all(line.startswith("#") for line in zookeeper_pin_text(["zookeeperd"], "").splitlines())


@pytest.mark.parametrize("value", ["", U1, "3.8.0", "1:3.8.0-1"])
def test_usable_versions(value: str) -> None:
    assert zookeeper_version_problems(value, "group_data/all.py") == []


@pytest.mark.parametrize("value", ["x", "3.8.0 -1", "3.8;reboot", "3.8\n", 3, None, ["3.8"]])
def test_refused_versions_name_the_field(value: object) -> None:
    [problem] = zookeeper_version_problems(value, "inventory/prod.py")
    assert problem.format().startswith("error: inventory/prod.py: zookeeper_version: ")


def test_moves_only_an_installed_package_off_a_set_pin() -> None:
    installed = {"zookeeperd": [U2], "zookeeper": [U2]}
    assert zookeeper_moves(installed, "zookeeperd", U1)
    assert not zookeeper_moves(installed, "zookeeperd", U2)
    assert not zookeeper_moves(installed, "zookeeperd", "3.8.0")  # a prefix that admits U2
    assert not zookeeper_moves(installed, "zookeeperd", "")  # no pin: stays where it is
    assert not zookeeper_moves({}, "zookeeperd", U1)  # the first install takes the pin


def run_move(tmp_path, version: str, apt_rc: int, installed: str) -> tuple[int, list[str], str]:
    """move_command run by sh with stand-ins for systemctl, apt-get and dpkg-query (which
    prints `installed`): (status, the stand-ins' calls, stderr)."""
    log = tmp_path / "log"
    log.write_text("")
    for name, rc, out in (("systemctl", 0, ""), ("apt-get", apt_rc, ""),
                          ("dpkg-query", 0, installed)):
        tool = tmp_path / name
        tool.write_text(f"#!/bin/sh\necho {name} \"$@\" >> {log}\nprintf %s '{out}'\n"
                        f"exit {rc}\n")
        tool.chmod(0o755)
    result = subprocess.run(["sh", "-c", move_command("zookeeper.service",
                                                      ["zookeeperd", "zookeeper"], version)],
                            env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, capture_output=True,
                            text=True, check=False)
    return result.returncode, log.read_text().splitlines(), result.stderr


def test_the_move_masks_around_apt_and_keeps_apt_gets_status(tmp_path) -> None:
    command = move_command("zookeeper.service", ["zookeeperd", "zookeeper"], U1)
    assert command.startswith("systemctl mask zookeeper.service && ")
    assert "--allow-downgrades" in command and "zookeeperd zookeeper;" in command
    # Unmasked again even when apt-get fails, and the command's status is then apt-get's.
    rc, calls, _ = run_move(tmp_path, U1, 100, U2)
    assert rc == 100
    assert calls[0] == "systemctl mask zookeeper.service"
    assert calls[1].startswith("apt-get install -y --allow-downgrades")
    assert calls[2:] == ["systemctl unmask zookeeper.service"]
    rc, calls, _ = run_move(tmp_path, U1, 0, U1)
    assert rc == 0 and calls[2] == "systemctl unmask zookeeper.service"
    assert calls[3] == "dpkg-query -W -f ${Version} zookeeperd"


def test_a_move_apt_could_not_make_fails_with_one_line(tmp_path) -> None:
    # apt-get exits 0 and installs nothing when its sources offer no version the pin admits
    # (seen with apt 2.6: "already the newest version"); without a check the move and its backup
    # would come back on every run with ZooKeeper never at the pin.
    rc, calls, stderr = run_move(tmp_path, "3.8.0-11+deb12u9", 0, U2)
    assert rc == 1 and "systemctl unmask zookeeper.service" in calls
    assert stderr.splitlines() == [
        "zookeeperd is not at 3.8.0-11+deb12u9* after apt-get: its apt sources offer no such "
        "version (apt-cache policy zookeeperd)"]
    # A prefix admits the builds it starts, in any case, as apt's pin does.
    assert run_move(tmp_path, "3.8.0-11", 0, U2)[0] == 0
    assert run_move(tmp_path, "3.8.0-11+DEB12U1", 0, U1)[0] == 0
    assert run_move(tmp_path, "3.8.0-11+deb12u1", 0, "3.8.0-11+DEB12U1")[0] == 0


def test_a_pin_admits_what_apt_admits_so_a_reached_pin_moves_nothing() -> None:
    # Debian/apt apt-pkg/versionmatch.cc MatchVer: a prefix compared with stringcasecmp.
    installed = {"zookeeperd": [U1]}
    assert not zookeeper_moves(installed, "zookeeperd", "3.8.0-11+DEB12U1")
    assert zookeeper_moves(installed, "zookeeperd", "3.8.0-11+DEB12U2")


def ops_of(responses: dict | None = None, **data: object) -> list:
    groups = cluster(3, master_responses=responses)
    for fake in groups["masters"]:
        fake[1].update(data)
    return plan(groups, ["tasks/common.py", "tasks/zookeeper.py"])["m1"]


def pin_upload(ops: list) -> str:
    return op_named(ops, "apt waits for the dpkg lock").uploads[ZOOKEEPER_PIN_FILE]


def test_no_version_means_a_pin_file_that_pins_nothing_and_no_move() -> None:
    installed = {"dpkg -l": [f"ii  zookeeperd  {U2}  all  init"]}
    ops = ops_of(installed)
    assert "no ZooKeeper pin" in op_named(ops, "apt waits for the dpkg lock").name
    assert "Pin:" not in pin_upload(ops)
    assert not any(op.name.startswith("Move ZooKeeper") for op in ops)


def test_agents_get_no_zookeeper_pin() -> None:
    groups = cluster(3)
    for fake in groups["agents"]:
        fake[1].update(zookeeper_version=U1)
    ops = plan(groups, ["tasks/common.py"])["a1"]
    assert ZOOKEEPER_PIN_FILE not in op_named(ops, "apt waits for the dpkg lock").uploads


INSTALLED = {"dpkg -l": [f"ii  zookeeperd  {U2}  all  init", f"ii  zookeeper  {U2}  all  server"]}
RUNNING = {"systemctl show --all --property Id --property SubState zookeeper.service":
           ["Id=zookeeper.service", "SubState=running"]}


def test_a_changed_version_pins_then_moves_with_the_unit_masked() -> None:
    ops = ops_of({**INSTALLED, **RUNNING}, zookeeper_version=U1)
    names = [op.name for op in ops]

    def first(prefix: str) -> int:
        return next(i for i, n in enumerate(names) if n.startswith(prefix))

    pin = first("apt waits for the dpkg lock (bounded), ZooKeeper pinned to " + U1)
    assert f"Pin: version {U1}*" in pin_upload(ops)
    move, backup = first(f"Move ZooKeeper to the pinned {U1}"), first("Back up ZooKeeper")
    restart = first("Restart ZooKeeper")
    assert pin < backup < move < restart
    assert "systemctl mask zookeeper.service" in ops[move].commands[0]


def test_a_zookeeperd_from_the_image_moves_without_a_backup_before_any_ensemble_runs() -> None:
    # A first deploy (README, backup_before_upgrade): nothing runs yet, so nothing to back up,
    # and a backup would fail there (no member serves), stopping the first deploy.
    ops = ops_of(INSTALLED, zookeeper_version=U1)
    names = [op.name for op in ops]
    assert any(n.startswith(f"Move ZooKeeper to the pinned {U1}") for n in names)
    assert not any(n.startswith("Back up ZooKeeper") for n in names)


def test_a_fresh_host_installs_at_the_pin_without_a_move() -> None:
    ops = ops_of(None, zookeeper_version=U1)
    names = [op.name for op in ops]
    assert f"Pin: version {U1}*" in pin_upload(ops)
    pin = next(i for i, n in enumerate(names) if n.startswith("apt waits for the dpkg lock"))
    install = next(i for i, n in enumerate(names) if n.startswith("Install this host's packages"))
    assert pin < install and "zookeeperd" in " ".join(ops[install].commands)
    assert not any(n.startswith("Move ZooKeeper") for n in names)


def test_the_mesos_move_checks_the_pin_the_same_way(tmp_path) -> None:
    """aventer-mesos's move (tasks/mesos_package.py) shares dpkg.pin_reached_check."""
    from pyinfra_mesos.dpkg import pinned_move_command

    def run(installed: str, apt_rc: int = 0) -> tuple[int, str]:
        for name, rc, out in (("apt-get", apt_rc, ""), ("dpkg-query", 0, installed)):
            tool = tmp_path / name
            tool.write_text(f"#!/bin/sh\nprintf %s '{out}'\nexit {rc}\n")
            tool.chmod(0o755)
        result = subprocess.run(["sh", "-c", pinned_move_command("aventer-mesos", "1.11.0-0.8.0")],
                                env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, capture_output=True,
                                text=True, check=False)
        return result.returncode, result.stderr

    assert run("1.11.0-0.8.0+standin1") == (0, "")
    rc, stderr = run("1.11.0-0.7.1+standin1")
    assert rc == 1 and stderr.startswith("aventer-mesos is not at 1.11.0-0.8.0* after apt-get")
    assert run("1.11.0-0.7.1", apt_rc=100)[0] == 100
