"""The served app: ``serve_session()`` builds one browser session's page; this file is also the script that
``inventory-panel serve`` hands to ``panel serve``.

It lives in the package (not only as the checkout's ``app.py``) so that ``inventory-panel serve`` works after
``pip install``, and is named ``app.py`` so that the page is at ``/app`` there as in a Databricks App. The
repository's ``app.py`` (what a Databricks App runs, app.yaml) calls ``serve_session()`` too.
The database connection is opened once per server process and shared; each session gets an ``Inventory`` acting as
the person who opened it (Databricks Apps headers, Panel auth, or the local user). If the app cannot start — a bad
setting, an unreachable database — the page explains it instead of showing a traceback.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal

import panel as pn

from inventory_panel.ui.gc_pauses import manage_session
from inventory_panel.ui.notify import place_toasts
from inventory_panel.ui.serve import session_page
from inventory_panel.ui.served import page_weight, session_sync


def serve_session() -> None:
    """Build the current session's page and hook the session's collection policy (called once per session)."""
    logging.getLogger("inventory_panel").setLevel(os.environ.get("INVENTORY_LOG_LEVEL", "INFO").upper())
    # `kill -USR1 <pid>` writes the stack of every thread to the server log: how a stuck request is diagnosed.
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    pn.extension(
        "tabulator",
        "filedropper",
        "modal",
        notifications=True,
        disconnect_notification=("Connection to the server was lost. Reload the page to continue."),
        ready_notification="",
    )
    place_toasts(pn.state.notifications)  # the notification policy's place for toasts (ui/notify.py)
    session_sync.install()  # no change stranded in Panel's write queue, no model re-sent by the page
    # No MathJax on a page without math, and one walk of the document's models (page_weight: what they cost).
    page_weight.install()
    page_weight.add_frozen(session_page(), title="Lakebase Inventory")
    manage_session()


# Run as `panel serve .../inventory_panel/ui/served/app.py`, Bokeh executes this file as a fresh module per session
# (named bokeh_app_<id>); imported as `inventory_panel.ui.served.app` (by app.py) it only defines serve_session.
if __name__ != "inventory_panel.ui.served.app":
    serve_session()
