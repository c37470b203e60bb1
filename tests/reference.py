"""Where the upstream reference examples live for tests.

Verbatim JSON from the upstream docs and tests (see each folder's README for the source of every
file), copied from the project's shared reference so the tests need nothing outside the repo.
"""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent / "data" / "reference" / "examples"
MARATHON_EXAMPLES = EXAMPLES / "marathon"
MESOS_EXAMPLES = EXAMPLES / "mesos"
