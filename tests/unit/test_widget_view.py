"""The container ``show`` returns on Databricks (``databricks/widget_view.py``): the app's widget goes in only once
the probe has a view in the browser; a probe without one is added again on a schedule, and in the end the container
says why nothing is drawn. The browser is played by setting ``_view_count`` as the front end does."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets
import panel as pn

from inventory_panel.databricks.widget_view import GAVE_UP, UNCOUNTED_AFTER, ProbedView, probed_widget


class Clock:
    """A scheduler that runs callbacks only when the test says so."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        self.pending.append((delay, callback))

    def tick(self) -> float:
        delay, callback = self.pending.pop(0)
        callback()
        return delay


def without_uncounted_check(clock: Clock) -> Clock:
    """Drop the check scheduled at creation (for a front end that never reports views), run it in its own test."""
    assert clock.pending[0][0] == UNCOUNTED_AFTER
    clock.pending.pop(0)
    return clock


def make(delays: tuple[float, ...] = (1.0, 2.0, 5.0)) -> tuple[ProbedView, Clock, ipywidgets.Widget, list[tuple]]:
    clock = Clock()
    probe, app = ipywidgets.HTML("probe"), ipywidgets.HTML("app")
    view = ProbedView(app, probe, delays=delays, schedule=clock)
    without_uncounted_check(clock)
    sent: list[tuple] = []
    view.box.observe(lambda change: sent.append(tuple(change["new"])), "children")
    return view, clock, app, sent


def test_the_app_replaces_the_probe_as_soon_as_the_probe_has_a_view() -> None:
    view, clock, app, sent = make()
    assert view.box.children == (view.probe,)  # nothing that needs a drawn app before the browser proved it can
    view.box._view_count = 1
    view.probe._view_count = 1
    assert view.box.children == (app,)
    while clock.pending:  # the check scheduled when the container appeared finds nothing to do
        clock.tick()
    assert sent == [(app,)]


def test_a_probe_without_a_view_is_added_again_until_it_has_one() -> None:
    view, clock, app, sent = make()
    view.box._view_count = 1  # the container is on screen; the probe's view failed (BokehJS still loading)
    assert clock.tick() == 1.0
    assert sent == [(), (view.probe,)]  # removed and added: the browser creates a new view of it
    assert clock.tick() == 2.0
    view.probe._view_count = 1  # this time it drew
    assert view.box.children == (app,)
    clock.tick()
    assert view.box.children == (app,)


def test_after_the_last_try_the_container_says_why_nothing_is_drawn() -> None:
    view, clock, _app, _sent = make(delays=(1.0, 1.0))
    view.box._view_count = 1
    clock.tick()
    clock.tick()
    (message,) = view.box.children
    assert isinstance(message, ipywidgets.HTML) and message.value == GAVE_UP
    assert "could not be drawn" in GAVE_UP and "run this cell again" in GAVE_UP
    assert not clock.pending


def test_checks_start_once_however_often_the_container_is_shown() -> None:
    view, clock, _app, _sent = make()
    view.box._view_count = 1
    view.box._view_count = 2  # shown twice (the output copied to another view)
    view.box._view_count = 0
    view.box._view_count = 1
    assert len(clock.pending) == 1


def test_probed_widget_builds_the_apps_widget_in_the_cell() -> None:
    """Building the Bokeh models happens in ``show``'s cell, where a failure is seen, not later in a comm handler."""
    from jupyter_bokeh.widgets import BokehModel

    pn.config.comms = "ipywidgets"
    try:
        box = probed_widget(pn.pane.Markdown("hello"))
    finally:
        pn.config.comms = "default"
    (probe,) = box.children
    assert isinstance(probe, BokehModel) and box._view_count == 0 and probe._view_count == 0
    assert isinstance(box.content, BokehModel) and box.content is not probe


def test_a_front_end_that_never_reports_views_gets_the_app_directly() -> None:
    clock = Clock()
    probe, app = ipywidgets.HTML("probe"), ipywidgets.HTML("app")
    view = ProbedView(app, probe, delays=(1.0,), schedule=clock)
    assert clock.tick() == UNCOUNTED_AFTER  # no word from the browser about the container in that time
    assert view.box.children == (app,)


def test_a_container_reported_in_time_is_left_to_the_probe() -> None:
    clock = Clock()
    probe, app = ipywidgets.HTML("probe"), ipywidgets.HTML("app")
    view = ProbedView(app, probe, delays=(1.0,), schedule=clock)
    view.box._view_count = 1
    clock.tick()  # the uncounted check: the browser did report, so nothing changes
    assert view.box.children == (probe,)
