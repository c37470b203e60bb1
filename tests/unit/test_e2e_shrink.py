"""tests/e2e/phase_shrink.py's inventory edit: the removed masters' lines go, nothing else."""

from __future__ import annotations

import pytest

from tests.e2e.phase_shrink import remove_host_lines

GROWN = '''masters = [
    sandbox_host(SANDBOX, "master1", zookeeper_id=1),
    sandbox_host(SANDBOX, "master2", zookeeper_id=2),
    sandbox_host(SANDBOX, "master3", zookeeper_id=3),
    sandbox_host(SANDBOX, "master4", zookeeper_id=4),
    sandbox_host(SANDBOX, "master5", zookeeper_id=5),
]
registry = [sandbox_host(SANDBOX, "master1", zookeeper_id=1)]
'''


def test_the_removed_masters_lines_go_and_the_rest_stays() -> None:
    shrunk = remove_host_lines(GROWN, ["master4", "master5"])
    assert shrunk == GROWN.replace('    sandbox_host(SANDBOX, "master4", zookeeper_id=4),\n', "") \
        .replace('    sandbox_host(SANDBOX, "master5", zookeeper_id=5),\n', "")
    assert '"master1"' in shrunk.splitlines()[-1]           # the registry line is kept


def test_a_name_without_a_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="master9"):
        remove_host_lines(GROWN, ["master9"])
