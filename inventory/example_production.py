# Example production inventory: 3 masters, 3 agents. Copy it, change names and addresses, then
#     python -m pyinfra_mesos check inventory/<yours>.py      # offline: refuses a bad inventory
#     pyinfra inventory/<yours>.py deploy.py                   # converge the cluster
#
# How pyinfra reads this file: every module-level list is a group of hosts; an entry is a host
# name (what SSH connects to) or ("name", {data}). The file name is a group too
# ("example_production"), so it can have its own group_data/example_production.py.
#
# Where settings go (pyinfra precedence, highest first):
#   --data KEY=VALUE on the command line  >  per-host data here  >  group_data/<group>.py  >
#   group_data/all.py (every default, documented). Data given to a whole group in this file,
#   `agents = ([...], {...})`, is OUTRANKED by group_data/agents.py when that file sets the same
#   key: `check` warns about it. Put per-host values here and cluster-wide ones in group_data/.
#
# SSH: pyinfra uses your ~/.ssh/config and agent; SSH host-key checking stays on (pyinfra's
# default "accept-new"). Set ssh_user / ssh_key per host here or in group_data if you need to.

# masters: ZooKeeper + Mesos master + Marathon run on each of these (the default co-location).
# Use 1, 3 or 5 hosts: the quorum is more than half (3 masters -> quorum 2), so an even number
# adds no fault tolerance and is refused.
masters = [
    # zookeeper_id: this node's ZooKeeper myid, 1..255, unique. Never renumber a deployed node.
    # ip: the address the other cluster hosts use for it (never 127.x: Debian maps the host's own
    #     name to 127.0.1.1, and a master advertising that is unreachable).
    ("mesos-master-1.prod.example.internal", {"ip": "10.20.0.11", "zookeeper_id": 1}),
    ("mesos-master-2.prod.example.internal", {"ip": "10.20.0.12", "zookeeper_id": 2}),
    ("mesos-master-3.prod.example.internal", {"ip": "10.20.0.13", "zookeeper_id": 3}),
]

# agents: Docker + Mesos agent + HAProxy (the load balancer for Marathon's service ports).
# To add an agent, add one line and re-run the deploy; nothing else changes.
agents = [
    # mesos_attributes: labels for Marathon constraints, e.g. ["rack", "UNIQUE"] or
    #     ["zone", "GROUP_BY"]; names and text values use letters, digits and _ . / -
    # mesos_resources: what the agent offers; leave out to let Mesos detect it. cpus and mem (MB)
    #     are numbers; ports defaults to mesos_agent_ports ("[31000-32000]"), which must stay
    #     clear of Marathon's service ports (10000-20000).
    # Changing attributes or resources of a running agent makes Mesos refuse to recover it
    # ("Incompatible agent info"); the deploy stops and asks for
    # --data mesos_allow_agent_checkpoint_reset=true (its running tasks are then lost).
    ("mesos-agent-1.prod.example.internal", {
        "ip": "10.20.1.21",
        "mesos_attributes": {"rack": "r1", "zone": "a"},
        "mesos_resources": {"cpus": 8, "mem": 30720},
    }),
    ("mesos-agent-2.prod.example.internal", {
        "ip": "10.20.1.22",
        "mesos_attributes": {"rack": "r2", "zone": "b"},
        "mesos_resources": {"cpus": 8, "mem": 30720},
    }),
    ("mesos-agent-3.prod.example.internal", {
        "ip": "10.20.1.23",
        "mesos_attributes": {"rack": "r3", "zone": "c"},
        # An explicit ports range: keep it outside 10000-20000 and the cluster's own ports.
        "mesos_resources": {"cpus": 16, "mem": 61440, "ports": "[31000-33000]"},
    }),
    # ("mesos-agent-4.prod.example.internal", {"ip": "10.20.1.24"}),   # <- a new agent
]

# Optional groups (uncomment to move a role off its default hosts):
# zookeepers = [("zk-1", {"ip": "10.20.2.31", "zookeeper_id": 1}), ...]   # instead of masters
# marathon = [...]          # Marathon elsewhere than on the masters
# load_balancers = [...]    # HAProxy elsewhere than on the agents
# registry = [("registry-1", {"ip": "10.20.3.41"})]   # a private Docker registry (port 5000)
