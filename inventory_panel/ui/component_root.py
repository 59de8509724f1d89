"""The root every public component returns from ``__panel__``: its own look and its own message area.

A component shown alone in a notebook cell must look as it does inside the app, so each one carries the app's CSS
variables (``styles.VARIABLES``) on its root rather than inheriting them from ``InventoryApp``. The sheet is a
string: Panel builds a fresh style sheet model per document from it, so nothing is shared between documents.
"""

from __future__ import annotations

from typing import Any

import panel as pn

from . import panel_fixes, styles
from .messages import InlineMessages

panel_fixes.install()  # every component's updates stay in their own document (see panel_fixes)


def component_root(content: Any, messages: InlineMessages | None = None, **params: Any) -> pn.Column:
    """``content`` (a component's layout) under its message area, with the app's variables set on the root."""
    objects = [content] if messages is None else [messages, content]
    params = {"sizing_mode": "stretch_width", "margin": 0, **params}
    return pn.Column(*objects, stylesheets=[styles.VARIABLES], **params)
