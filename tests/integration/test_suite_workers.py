"""The suite's own parallel set-up (Makefile: ``pytest -n 3 --dist loadfile``; docs/workarounds.md).

``--dist loadgroup`` would let modules that share no fixture spread their tests over the workers, but with pytest
9.2 and pytest-xdist 3.8.0 it silently stops grouping (pytest-xdist issue 1386): the group goes into the test's
old ``_nodeid`` field, which pytest 9.2 no longer reads. This test fails once an upgrade fixes that; loadgroup
(with ``xdist_group`` marks for the tests that share a module-scoped fixture) can then replace loadfile.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GROUPED = """
import os

import pytest


@pytest.mark.xdist_group("one")
@pytest.mark.parametrize("i", range(4))
def test_grouped(i):
    with open(os.environ["WORKERS_FILE"], "a") as fh:
        fh.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
"""


def test_loadgroup_still_spreads_a_group_over_workers(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "WORKERS_FILE": str(tmp_path / "workers")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    workers = set((tmp_path / "workers").read_text().split())
    # Grouping fixed: all four on one worker. Then switch the Makefile to --dist loadgroup and delete this test.
    assert workers == {"gw0", "gw1"}, f"loadgroup groups again ({workers}): see docs/workarounds.md"
