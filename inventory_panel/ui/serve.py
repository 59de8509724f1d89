"""Building one served session: the shared process-wide ``Inventory``, the session's user, the page.

``app.py`` calls ``session_page()`` once per browser session. Failures become a page a person can act on
(``startup_error_page``); their details go to the server log.
"""

from __future__ import annotations

import logging

import panel as pn

from ..auth import User
from ..errors import InventoryError
from ..inventory import Inventory, connect
from ..settings import load_settings
from . import plugins
from .startup_error import startup_error_page

log = logging.getLogger(__name__)

CACHE_KEY = "inventory_panel.inventory"


def process_inventory() -> Inventory:
    """The ``Inventory`` shared by every session of this server process (connected and migrated once).

    A failed connection is not cached, so the next session tries again (the database may have come back).
    """
    return pn.state.as_cached(CACHE_KEY, connect)


def session_user(inventory: Inventory) -> User:
    """The person behind the current session: as the platform plugged in says (``ui/plugins.py``; in a Databricks
    App the proxy's headers, ``databricks/identity.py``), else Panel's own sign-in or the local user."""
    return plugins.session_user(inventory.settings)


def error_page(exc: BaseException) -> pn.viewable.Viewable:
    """The explanation in the app's frame, so a person knows which app is talking."""
    from . import styles
    from .app import TITLE
    from .local_assets import FONT, LocalFast

    return pn.template.FastListTemplate(
        title=TITLE,
        main=[startup_error_page(exc)],
        accent=styles.ACCENT,
        theme_toggle=False,
        design=LocalFast,  # nothing from another origin (local_assets.py)
        font=FONT,
    )


def session_page() -> pn.viewable.Viewable:
    """The app for the current session in its template, or a page explaining why it cannot start."""
    try:
        load_settings()  # a bad setting is reported by name even if a cached connection exists
        shared = process_inventory()
        inventory = shared.as_user(session_user(shared))
        # Denials past the first few are counted, not written one by one: their count is written when the
        # session ends, so the audit still adds up to every refused attempt.
        pn.state.on_session_destroyed(lambda _context: inventory.flush_denials())
        from .app import InventoryApp

        return InventoryApp(inventory=inventory).template()
    except InventoryError as exc:
        log.warning("the app cannot start: %s", exc)
        return error_page(exc)
    except Exception as exc:  # the person gets one sentence; the traceback goes to the log
        log.exception("the app failed to start")
        return error_page(exc)
