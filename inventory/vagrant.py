# Inventory for the VMs the Vagrantfile makes (VirtualBox or libvirt, Debian 12):
#     MESOS_MASTERS=3 MESOS_AGENTS=2 vagrant up
#     python -m pyinfra_mesos check inventory/vagrant.py
#     pyinfra inventory/vagrant.py deploy.py
# Use the same MESOS_MASTERS / MESOS_AGENTS values for both commands (defaults 3 and 2): this file
# and the Vagrantfile compute the same names and addresses from them.
#
# Addresses (a host-only / private network, 192.168.56.0/24, VirtualBox's default range):
#   masters master1..N at 192.168.56.11.., agents agent1..N at 192.168.56.21..
#
# SSH: as the `vagrant` user with the per-machine key Vagrant generates at
# .vagrant/machines/<name>/<provider>/private_key (the provider is found from which key exists,
# else VAGRANT_DEFAULT_PROVIDER, else virtualbox). Host-key checking stays on ("accept-new"),
# with keys recorded in .vagrant/pyinfra_known_hosts instead of your ~/.ssh/known_hosts. After
# `vagrant destroy`, delete that file: new VMs on the same addresses have new host keys.
#
# Names starting with "_" are helpers, not groups (pyinfra ignores them).

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
_MASTERS = int(os.environ.get("MESOS_MASTERS", "3"))
_AGENTS = int(os.environ.get("MESOS_AGENTS", "2"))
# Same limits as the Vagrantfile, so the two address blocks never overlap.
if not 1 <= _MASTERS <= 9 or not 0 <= _AGENTS <= 79:
    raise ValueError("MESOS_MASTERS must be 1..9 and MESOS_AGENTS 0..79")


def _vm(name: str, ip: str, **data: object) -> tuple[str, dict[str, object]]:
    machine = _ROOT / ".vagrant" / "machines" / name
    providers = [p for p in ("virtualbox", "libvirt") if (machine / p / "private_key").exists()]
    provider = providers[0] if providers else os.environ.get("VAGRANT_DEFAULT_PROVIDER",
                                                             "virtualbox")
    return name, {
        "ssh_hostname": ip,
        "ssh_user": "vagrant",
        "ssh_key": str(machine / provider / "private_key"),
        "ssh_known_hosts_file": str(_ROOT / ".vagrant" / "pyinfra_known_hosts"),
        "_sudo": True,  # the vagrant user is a passwordless sudoer
        "ip": ip,
        **data,
    }


# Masters: ZooKeeper + Mesos master + Marathon. zookeeper_id follows the master's number.
masters = [_vm(f"master{i}", f"192.168.56.{10 + i}", zookeeper_id=i)
           for i in range(1, _MASTERS + 1)]

# Agents: Docker + Mesos agent + HAProxy. One more agent: MESOS_AGENTS=3 vagrant up, then rerun.
agents = [_vm(f"agent{i}", f"192.168.56.{20 + i}") for i in range(1, _AGENTS + 1)]
