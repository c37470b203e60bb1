"""Local throw-away hosts (systemd-nspawn) for the demo and the e2e tier.

Run as root: ``python -m sandbox up|down|status|ssh INVENTORY [HOST [COMMAND]]``.
``sandbox.inventory.sandbox_host`` is the only part inventories import; it stays light (stdlib
only, reads the state file) so pyinfra can load an inventory on any machine.
"""
