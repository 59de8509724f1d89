"""Run one of our modules as ``python -m`` in a child process with a clean environment, as a user or a probe would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Settings a developer's shell may carry that would point the child at another database or workspace.
AMBIENT = ("INVENTORY_", "PG", "DATABRICKS_")


def run_module(
    module: str,
    *args: str,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    strip: tuple[str, ...] = AMBIENT,
) -> subprocess.CompletedProcess:
    """``python -m module *args`` (text output captured) without the variables starting with ``strip``, plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(strip)}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )
