"""The harness itself: Panel renders in JupyterLab from the wheels' files, and every kind of fault is caught."""

from __future__ import annotations

import pytest


def test_panel_renders_offline_from_the_installed_wheels(open_notebook):
    session = open_notebook(
        [
            "import pandas as pd\nimport panel as pn\npn.extension('tabulator')",
            "pn.widgets.Tabulator(pd.DataFrame({'sku': ['A-1', 'B-2']}))",
        ]
    )
    session.run_all()
    session.output(1).locator(".tabulator-cell:has-text('B-2')").wait_for(timeout=20_000)
    assert any("cdn.bokeh.org" in url for url in session.served)  # Bokeh's JS came from the routed wheel file
    assert any("tabulator" in url for url in session.served)
    session.check()


def test_the_harness_reports_cell_errors_and_kernel_log_errors(open_notebook):
    session = open_notebook(
        [
            "import logging, sys\nlogging.basicConfig(stream=sys.__stderr__)\n"
            "logging.getLogger('probe').error('Models must be owned by only a single document')",
            "raise RuntimeError('boom')",
        ]
    )
    session.run_all()
    problems = session.problems()
    assert any("boom" in text for text in problems["cell errors/stderr"])
    assert any("single document" in line for line in problems["server/kernel log errors"])
    with pytest.raises(AssertionError):
        session.check()
