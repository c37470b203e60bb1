"""The Mesos agent (tasks/mesos_agent.py): its env file and drop-in, and its checkpoint.

The agent's flags are computed in flags.py (flag_tables.AGENT); resources and attributes in
agent_data.py; the files both roles share, and the package, are mesos_package.py's.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyinfra_mesos.deploy.refused import DeployRefused
from pyinfra_mesos.flags import AGENT_INFO_FLAGS

MESOS_AGENT_ENV = "/etc/default/mesos-agent"
MESOS_AGENT_SERVICE = "mesos-agent.service"


MESOS_AGENT_DOCKER_DROPIN = "/etc/systemd/system/mesos-agent.service.d/docker.conf"


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
