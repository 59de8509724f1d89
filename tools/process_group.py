"""A server started as its own process group and stopped with everything it spawned, for the screenshot tools and
the tests that run ``panel serve`` / ``inventory-panel serve`` as a user would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def process_group(
    cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: IO[Any], grace: float = 10.0
) -> Iterator[subprocess.Popen]:
    """``cmd`` in a new session, its output (stdout and stderr) to ``log``; at the end its whole process group is
    sent SIGTERM, then SIGKILL if it has not exited ``grace`` seconds later. Only the group started here is hit."""
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(grace)
