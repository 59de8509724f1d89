"""Entry point of ``panel serve app.py`` (the Databricks App, app.yaml): one ``InventoryApp`` per session.

The session is built by ``inventory_panel.ui.served.app.serve_session`` — the same code ``inventory-panel serve`` runs
from the installed package.
"""

from inventory_panel.ui.served.app import serve_session

serve_session()
