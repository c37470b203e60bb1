"""STAND-IN for Apache Mesos 1.11 (tests and the offline sandbox only; never the product)."""

VERSION = "1.11.0"
STANDIN_BANNER = "STAND-IN for Apache Mesos 1.11.0 (pyinfra-mesos test sandbox; NOT Apache Mesos)"
