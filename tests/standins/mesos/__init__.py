"""Mesos 1.11 stand-in: the aventer-mesos package layout with small Python master/agent programs.

`mesos_standin/` is installed verbatim into the .deb (/usr/lib/mesos-standin/mesos_standin), so it
may use only the Python stdlib and kazoo (python3-kazoo 2.9 on Debian 12 hosts).
"""
