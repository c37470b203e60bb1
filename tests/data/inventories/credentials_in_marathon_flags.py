"""Refused: Marathon's HTTP credentials given as Marathon documents them (--http_credentials),
through the generic flag dict, instead of marathon_http_credentials (issue 9, case
credentials-in-marathon-flags). The secret itself must not be printed."""

masters = (
    [("mesos-master-1.example.net", {"ip": "203.0.113.11", "zookeeper_id": 1})],
    {"marathon_flags": {"http_credentials": "admin:s3cret-in-flags"}},
)
agents = [("mesos-agent-1.example.net", {"ip": "203.0.113.21"})]
