"""Finish what a killed run left half-done in dpkg, before the next apt operation.

A deploy killed during an apt operation closes its SSH channel: apt-get and dpkg, which run
without a terminal, die on the next write to the closed pipe (SIGPIPE), and the host is left
with packages unpacked but not configured. Every later `apt-get install` then refuses with
"dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem"
(apt-pkg/deb/debsystem.cc, apt 2.6 on Debian 12). dpkg marks that state two ways: pending
journal entries in /var/lib/dpkg/updates/ (dpkg(1), FILES), and packages `dpkg --audit` lists
as half-installed, unpacked or half-configured.

`DpkgInterrupted` (deploy_facts.py) reads both in one round trip; `dpkg_configure_pending` runs
`dpkg --configure -a` only then (`host.noop` otherwise), retrying while another dpkg still holds
the lock (a killed run's apt-get may still be finishing), bounded by `timeout_s`.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation

from pyinfra_mesos.deploy.planning_facts import read_kept
from pyinfra_mesos.deploy.planning_reads import dpkg_unfinished


def configure_pending_command(timeout_s: int, interval_s: int = 2) -> StringCommand:
    """`dpkg --configure -a`, retried every `interval_s` while it fails (the lock held by a
    still-running dpkg), at most `timeout_s` seconds; exits 1 with dpkg's last error then."""
    tries = max(1, timeout_s // interval_s)
    script = (f"i=0; while :; do out=$(DEBIAN_FRONTEND=noninteractive dpkg --configure -a "
              f"--force-confdef --force-confold 2>&1) && exit 0; i=$((i+1)); "
              f"if [ $i -ge {tries} ]; then echo \"$out\" >&2; exit 1; fi; "
              f"sleep {interval_s}; done")
    return StringCommand("sh", "-c", QuoteString(script))


@operation()
def dpkg_configure_pending(timeout_s: int = 300):
    """Run `dpkg --configure -a` when a killed run left dpkg unfinished (DpkgInterrupted);
    `host.noop` on a clean host.

    + timeout_s: how long to retry while another dpkg holds the lock (seconds)
    """
    # Made ahead with the host's planning reads (deploy/planning_reads.py), and kept only while
    # no operation of this host has run a command before this one (else read again here).
    # Read that early, an apt run of the host's own (unattended-upgrades) can show as
    # unfinished: `dpkg --configure -a` then waits for its lock and finds nothing to do.
    unfinished = read_kept(host, dpkg_unfinished())
    if not unfinished:
        host.noop("dpkg has nothing unfinished")
        return
    yield configure_pending_command(timeout_s)
