"""`python -m pyinfra_mesos check INVENTORY`: see pyinfra_mesos/cli.py."""

import sys

from pyinfra_mesos.cli import main

sys.exit(main())
