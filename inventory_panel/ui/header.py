"""``HeaderBar``: who is signed in, with which role, and which database the app is using."""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from ..inventory import Inventory
from . import styles
from .formatting import esc

SOURCES = {
    "databricks-app": "signed in through Databricks Apps",
    "panel-auth": "signed in to this app",
    "notebook": "notebook user",
    "local": "local user",
}


def header_html(inventory: Inventory) -> str:
    user = inventory.user
    where = SOURCES.get(user.source, user.source)
    return (
        f'<div class="who">'
        f'<span class="name" title="{esc(where)}">{esc(user.name)}</span>'
        f'<span class="pill" title="Role">{esc(user.role)}</span>'
        f'<span class="db" title="Database in use: {esc(inventory.database_label)}">'
        f"{esc(inventory.database_label)}</span></div>"
    )


# However long the user's name or the database's label (a temporary file's path, a Lakebase host), the header keeps
# to its share of the title bar: the label ends in "…" (the whole of it in its tooltip), and on narrow windows the
# parts that matter least go first, so the title and the theme switch always stay on screen.
LAYOUT_CSS = """
.who .name, .who .db { min-width: 0; overflow: hidden; text-overflow: ellipsis; }
.who .name { max-width: 22vw; }
.who .db { max-width: min(360px, 24vw); }
@media (max-width: 900px) { .who .db { display: none; } }
@media (max-width: 600px) { .who .name { display: none; } }
@media (max-width: 560px) { .who { display: none; } }
"""


class HeaderBar(pn.viewable.Viewer):
    """User, role and database, in white for the app's coloured title bar."""

    inventory = param.ClassSelector(class_=Inventory, doc="The service acting as this session's user.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._pane = pn.pane.HTML(
            header_html(self.inventory), stylesheets=[styles.HEADER, LAYOUT_CSS], margin=(0, 10), align="center"
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane
