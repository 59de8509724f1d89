"""The ipywidget ``show`` returns on Databricks: a Panel object drawn by jupyter_bokeh only once the browser has
proved that BokehJS and Panel's models are loaded.

jupyter_bokeh 4.1's ``BokehView`` needs BokehJS and Panel's models in the page the moment the browser creates it,
and never tries again (docs/workarounds.md: "jupyter_bokeh 4.1.0: a widget shown before BokehJS has loaded stays
broken"). A notebook run with Run All shows the widget while the first cell's ``pn.extension(...)`` may still be
loading Panel's JavaScript. So the cell shows a container holding a *probe*: a one-element Panel widget whose view
needs the same JavaScript as the app and takes milliseconds to draw. The browser counts a widget's views
(``_view_count``, sent back to the kernel): when the probe has one, the container swaps it for the app, whose view
is then created in a page that can draw it. A probe without a view some time after the container appeared failed,
so it is added again, which makes the browser try again; after ``RETRY_DELAYS`` the container says in words why
nothing is drawn. Whether the first view failed or is merely slow never matters: only the probe is ever retried,
and it is cheap. A front end that never reports the container's views (one that does not count them) gets the app
after ``UNCOUNTED_AFTER`` seconds, as plain jupyter_bokeh would show it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

# Seconds from the container's appearance to each check of the probe: quick at first (a load is usually a second
# or two away), then patient, about two minutes in all for a slow network.
RETRY_DELAYS: tuple[float, ...] = (1.0, 1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 10.0, 10.0, 15.0, 30.0, 30.0)

GAVE_UP = (
    "<div role='alert' style='padding:12px;border:1px solid #b42318;border-radius:6px;color:#7a1a12'>"
    "<strong>The inventory could not be drawn.</strong> Panel's JavaScript (BokehJS) did not load in this browser "
    "tab. Check that the page may load https://cdn.bokeh.org and https://cdn.holoviz.org, then run this cell again."
    "</div>"
)

# Seconds after which a container the browser never reported is taken as a front end that does not count views
# (then the app goes in directly, as jupyter_bokeh alone would show it).
UNCOUNTED_AFTER = 10.0

Scheduler = Callable[[float, Callable[[], None]], None]


def call_later(delay: float, callback: Callable[[], None]) -> None:
    """Run ``callback`` after ``delay`` seconds on the kernel's event loop (where comm messages are handled), or
    on a timer thread where no loop runs."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        timer = threading.Timer(delay, callback)
        timer.daemon = True
        timer.start()
    else:
        loop.call_later(delay, callback)


def views(widget: Any) -> int:
    """How many views the browser has of ``widget`` (``_view_count``; None while nobody counts)."""
    return widget._view_count or 0


class ProbedView:
    """A container that shows ``widget`` once ``probe`` (both jupyter_bokeh widgets) has a view.

    ``widget`` is built beforehand (in the cell, where a failure shows); the browser creates its model at once, and
    its view, the part that needs BokehJS, only when the container holds it.
    """

    def __init__(
        self,
        widget: Any,
        probe: Any,
        *,
        delays: Sequence[float] = RETRY_DELAYS,
        schedule: Scheduler = call_later,
    ) -> None:
        import ipywidgets

        self.widget = widget
        self.probe = probe
        self.delays = list(delays)
        self.schedule = schedule
        self.attempts = 0
        self.shown = False
        self.box = ipywidgets.VBox([probe], layout=ipywidgets.Layout(width="100%"))
        self.box.content = widget  # what the box shows once it can (its Bokeh model: ``box.content._model``)
        self.box._view_count = 0  # the browser counts the container's views from now on
        self.probe._view_count = 0
        self.box.observe(self._on_box_views, "_view_count")
        self.probe.observe(self._on_probe_views, "_view_count")
        self.schedule(UNCOUNTED_AFTER, self._uncounted)

    def _on_box_views(self, change: dict[str, Any]) -> None:
        if change["new"] and not change["old"] and not self.shown and self.attempts == 0:
            self._next()

    def _on_probe_views(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self._show()

    def _uncounted(self) -> None:
        if self.attempts == 0 and not views(self.box):
            self._show()

    def _show(self) -> None:
        if not self.shown:
            self.shown = True
            self.box.children = (self.widget,)

    def _next(self) -> None:
        if self.attempts >= len(self.delays):
            import ipywidgets

            self.box.children = (ipywidgets.HTML(GAVE_UP),)
            return
        delay = self.delays[self.attempts]
        self.attempts += 1
        self.schedule(delay, self._check)

    def _check(self) -> None:
        if self.shown:
            return
        # A view that failed never counts; the probe added again gets a new one from the browser.
        self.box.children = ()
        self.box.children = (self.probe,)
        self._next()


def probed_widget(obj: Any) -> Any:
    """The ipywidget that shows the Panel object ``obj`` once the browser can draw it."""
    import panel as pn

    probe = pn.ipywidget(pn.pane.HTML("", height=0, margin=0, sizing_mode="stretch_width"))
    return ProbedView(pn.ipywidget(obj), probe).box
