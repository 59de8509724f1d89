"""Fixtures of the notebook tests: one JupyterLab server and one headless Chromium per module (see lab.py).

``lab`` is the running ``JupyterLab``; ``open_notebook(cells)`` opens a new notebook with a fresh kernel in a
fresh browser context and closes both (kernel shut down) after the test. ``notebook_env`` is the environment
the kernels get: a temporary SQLite database and a local user, never a Databricks runtime unless a test says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.notebook.lab import JupyterLab, LabSession
from tests.ui.conftest import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab_browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def notebook_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("nbdb") / "inventory.db"
    return {
        "INVENTORY_DATABASE_URL": f"sqlite:///{db}",
        "INVENTORY_USER": "analyst@example.com",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory, lab_browser: Any, notebook_env: dict[str, str]
) -> Iterator[JupyterLab]:
    server = JupyterLab(tmp_path_factory.mktemp("lab"), lab_browser, env=notebook_env)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def open_notebook(lab: JupyterLab) -> Iterator[Callable[..., LabSession]]:
    sessions: list[LabSession] = []

    def make(cells: list[str], name: str | None = None) -> LabSession:
        session = lab.open(cells, name)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
