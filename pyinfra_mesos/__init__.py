"""pyinfra-mesos: the pure logic behind the deploy (topology, validation, flags, Marathon, HAProxy).

Nothing in this package connects to a host; tasks/ and deploy.py call it.
"""

__version__ = "0.1.0"
