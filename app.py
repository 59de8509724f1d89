"""Entry point of ``panel serve app.py`` (and of ``inventory-panel serve``): one ``InventoryApp`` per session.

The database connection is opened once per server process and shared; each session gets an ``Inventory`` acting
as the person who opened it (Databricks Apps headers, Panel auth, or the local user). If the app cannot start —
a bad setting, an unreachable database — the page explains it instead of showing a traceback.
"""

import faulthandler
import logging
import os
import signal

import panel as pn

from inventory_panel.ui.gc_pauses import manage_session
from inventory_panel.ui.serve import session_page

logging.getLogger("inventory_panel").setLevel(os.environ.get("INVENTORY_LOG_LEVEL", "INFO").upper())
# `kill -USR1 <pid>` writes the stack of every thread to the server log: how a stuck request is diagnosed.
if hasattr(signal, "SIGUSR1"):
    faulthandler.register(signal.SIGUSR1, all_threads=True)
pn.extension("tabulator", "filedropper", "modal", notifications=True, disconnect_notification=(
    "Connection to the server was lost. Reload the page to continue."), ready_notification="")

session_page().servable(title="Lakebase Inventory")
manage_session()
