"""The page shown instead of the app when it cannot start (bad setting, database unreachable).

The person reads what is wrong and what to do; the traceback, if any, is in the server log only.
"""

from __future__ import annotations

import panel as pn

from ..errors import ConfigurationError, DatabaseUnavailableError
from . import styles
from .formatting import esc

HINTS = {
    ConfigurationError: "Fix the setting named above (an environment variable, or app.yaml when running as a "
    "Databricks App) and restart the app.",
    DatabaseUnavailableError: "Check that the database is running and reachable, and that the app's credentials "
    "are valid; then reload this page.",
}
GENERIC = "The app could not start because of an unexpected error. The details are in the server log."


def startup_error_page(exc: BaseException) -> pn.viewable.Viewable:
    """A calm, complete explanation of why the app is not available."""
    hint = next((text for kind, text in HINTS.items() if isinstance(exc, kind)), None)
    message = str(exc) if hint else GENERIC
    hint_html = f"<p>{esc(hint)}</p>" if hint else ""
    return pn.pane.HTML(
        f'<div class="problem" role="alert"><h2>The inventory is not available</h2><p>{esc(message)}</p>'
        f"{hint_html}</div>",
        stylesheets=[styles.ERROR_PAGE],
        sizing_mode="stretch_width",
    )
