"""Refused: IPv6 addresses (issue 9, case ipv6-addresses): ZooKeeper server lines and zk://
URLs would come out unbracketed; the deploy supports IPv4 only and says so per host."""

masters = [
    ("mesos-master-1.example.net", {"ip": "2001:db8::11", "zookeeper_id": 1}),
    ("mesos-master-2.example.net", {"ip": "2001:db8::12", "zookeeper_id": 2}),
    ("mesos-master-3.example.net", {"ip": "2001:db8::13", "zookeeper_id": 3}),
]
agents = [("mesos-agent-1.example.net", {"ip": "2001:db8::21"})]
