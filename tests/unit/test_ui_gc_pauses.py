"""gc_pauses: a built session's objects leave the collector's reach; ended sessions are collected in one pass."""

from __future__ import annotations

import gc
import weakref

import pytest

from inventory_panel.ui import gc_pauses


@pytest.fixture(autouse=True)
def _thawed():
    gc_pauses._ended = 0
    yield
    gc.unfreeze()
    gc_pauses._ended = 0


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_a_built_session_is_frozen_and_its_cycles_are_collected_after_it_ended():
    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle, as a Bokeh document and its models make
    gc_pauses.session_built()
    assert gc.get_freeze_count() > 0
    alive = weakref.ref(a)
    del a, b
    gc.collect()
    assert alive() is not None  # frozen: even a full collection leaves the cycle alone...
    frozen = gc.get_freeze_count()
    assert gc_pauses.collect_ended_sessions() == 0  # nothing ended: no collection, still frozen
    assert gc.get_freeze_count() == frozen and alive() is not None
    gc_pauses.session_ended(None)
    assert gc_pauses.collect_ended_sessions() >= 2
    assert alive() is None  # ...until a session has ended: then it is freed
    assert gc.get_freeze_count() > 0  # and what is still alive is frozen again
    assert gc_pauses._ended == 0


def test_outside_a_served_session_nothing_is_frozen():
    gc_pauses.manage_session()
    assert gc.get_freeze_count() == 0
