"""A view that reloads on data changes only while it is on screen, and catches up when shown again.

Hidden tabs would otherwise query the database on every change anywhere in the app.
"""

from __future__ import annotations

import panel as pn
import param

from .model import InventoryModel


class LazyView(pn.viewable.Viewer):
    """Base of the tab views: subclasses implement ``reload()``."""

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state; its inventory is queried.")
    active = param.Boolean(default=True, doc="Whether the view is on screen; a hidden view reloads when shown.")
    stale = param.Boolean(default=False, doc="The data changed while the view was hidden.")

    def reload(self) -> None:
        raise NotImplementedError

    @param.depends("model.data_version", watch=True)
    def _data_changed(self) -> None:
        if self.active:
            self.reload()
        else:
            self.stale = True

    @param.depends("active", watch=True)
    def _shown(self) -> None:
        if self.active and self.stale:
            self.reload()
