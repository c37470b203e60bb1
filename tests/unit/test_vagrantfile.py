"""The Vagrantfile is valid Ruby and makes exactly the hosts inventory/vagrant.py names.

Vagrant cannot run on the machines this project is built on; Ruby can, so the Vagrantfile is
loaded with a stub `Vagrant.configure` and its machine list compared with the inventory's.
"""

import os
import subprocess
from pathlib import Path

import pytest

from pyinfra_mesos.inventory_loader import load_inventory
from pyinfra_mesos.topology import topology_from_inventory

ROOT = Path(__file__).resolve().parents[2]
LIST_MACHINES = ('module Vagrant; def self.configure(*a); end; end; load "Vagrantfile"; '
                 'MACHINES.each { |name, ip, _| puts "#{name} #{ip}" }')


def test_vagrantfile_is_valid_ruby() -> None:
    result = subprocess.run(["ruby", "-c", "Vagrantfile"], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("masters,agents", [("3", "2"), ("1", "4"), ("5", "3")])
def test_vagrantfile_and_inventory_agree(masters: str, agents: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "MESOS_MASTERS": masters, "MESOS_AGENTS": agents}
    result = subprocess.run(["ruby", "-e", LIST_MACHINES], cwd=ROOT, capture_output=True,
                            text=True, timeout=30, env=env)
    assert result.returncode == 0, result.stderr
    vms = [tuple(line.split()) for line in result.stdout.splitlines()]
    monkeypatch.setenv("MESOS_MASTERS", masters)
    monkeypatch.setenv("MESOS_AGENTS", agents)
    topo = topology_from_inventory(load_inventory(str(ROOT / "inventory" / "vagrant.py")))
    assert vms == [(m.name, m.ip) for m in topo.masters + topo.agents]
