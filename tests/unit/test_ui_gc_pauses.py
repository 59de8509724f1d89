"""gc_pauses: a built session's objects leave the collector's reach; ended sessions are collected in one pass."""

from __future__ import annotations

import gc
import weakref

import pytest

from inventory_panel.ui import gc_pauses


@pytest.fixture(autouse=True)
def _thawed(monkeypatch):
    monkeypatch.setattr(gc_pauses, "_ended", 0)
    monkeypatch.setattr(gc_pauses, "_first_ended_at", None)
    monkeypatch.setattr(gc_pauses, "_last_busy", 0.0)
    yield
    gc.unfreeze()


@pytest.fixture
def clock(monkeypatch):
    """gc_pauses' monotonic clock, set by the test."""
    now = [1000.0]
    monkeypatch.setattr(gc_pauses.time, "monotonic", lambda: now[0])
    return now


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_a_built_session_is_frozen_and_its_cycles_are_collected_after_it_ended(monkeypatch):
    # Counted by spying on unfreeze: the freeze count itself also drops whenever any frozen object is freed.
    unfrozen: list[int] = []
    real_unfreeze = gc.unfreeze
    monkeypatch.setattr(gc, "unfreeze", lambda: (unfrozen.append(1), real_unfreeze())[1])
    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle, as a Bokeh document and its models make
    gc_pauses.session_built()
    assert gc.get_freeze_count() > 0
    alive = weakref.ref(a)
    del a, b
    gc.collect()
    assert alive() is not None  # frozen: even a full collection leaves the cycle alone...
    assert gc_pauses.collect_ended_sessions() == 0  # nothing ended: no collection, still frozen
    assert unfrozen == [] and gc.get_freeze_count() > 0 and alive() is not None
    gc_pauses.session_ended(None)
    assert gc_pauses.collect_ended_sessions() >= 2 and unfrozen == [1]
    assert alive() is None  # ...until a session has ended: then it is freed
    assert gc.get_freeze_count() > 0  # and what is still alive is frozen again
    assert gc_pauses._ended == 0


def test_outside_a_served_session_nothing_is_frozen():
    gc_pauses.manage_session()
    assert gc.get_freeze_count() == 0


def ended_session() -> weakref.ref:
    """A frozen reference cycle whose session has ended: alive until collect_ended_sessions collects."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    gc_pauses.session_built()
    gc_pauses.session_ended(None)
    return weakref.ref(a)


def test_the_collection_waits_for_a_quiet_moment(clock):
    alive = ended_session()
    gc_pauses.note_activity()
    assert gc_pauses.collect_ended_sessions(busy=True) == 0  # an event is being handled
    clock[0] += 0.5
    gc_pauses.note_activity()
    assert gc_pauses.collect_ended_sessions() == 0  # the last event ended moments ago
    assert gc_pauses._ended == 1 and alive() is not None
    clock[0] += gc_pauses.QUIET_SECONDS
    assert gc_pauses.collect_ended_sessions() >= 2
    assert gc_pauses._ended == 0 and alive() is None


def test_without_a_quiet_moment_the_collection_runs_when_overdue(clock):
    alive = ended_session()
    for _ in range(int(gc_pauses.MAX_DELAY_SECONDS) // 5 - 1):  # an event every 5 s, each busy when checked
        clock[0] += 5
        gc_pauses.note_activity()
        assert gc_pauses.collect_ended_sessions(busy=True) == 0
    assert alive() is not None
    clock[0] += 5
    assert gc_pauses.collect_ended_sessions(busy=True) >= 2  # waited MAX_DELAY_SECONDS: collected anyway
    assert alive() is None and gc_pauses._ended == 0 and gc_pauses._first_ended_at is None


def test_many_ended_sessions_are_collected_without_waiting(clock):
    alive = ended_session()
    for _ in range(gc_pauses.MAX_PENDING - 2):
        gc_pauses.session_ended(None)
    gc_pauses.note_activity()
    assert gc_pauses.collect_ended_sessions(busy=True) == 0 and alive() is not None
    gc_pauses.session_ended(None)
    assert gc_pauses.collect_ended_sessions(busy=True) >= 2 and alive() is None
