"""`python -m pyinfra_mesos check|status|backup|restore ...`: see pyinfra_mesos/cli.py."""

import sys

from pyinfra_mesos.cli import main

sys.exit(main())
