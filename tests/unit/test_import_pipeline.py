"""Pipeline plumbing that needs no database: the garbage-collector pause around chunks."""

from __future__ import annotations

import gc
import threading

from inventory_panel.importing.pipeline import _PausedGC


def test_collector_pause_nests_and_restores_the_previous_state():
    pause = _PausedGC()
    assert gc.isenabled()
    with pause:
        assert not gc.isenabled()
        with pause:
            assert not gc.isenabled()
        assert not gc.isenabled(), "an inner pause must not end the outer one"
    assert gc.isenabled()
    gc.disable()
    try:
        with pause:
            pass
        assert not gc.isenabled(), "a collector someone else disabled stays disabled"
    finally:
        gc.enable()


def test_collector_comes_back_when_the_last_of_several_threads_ends():
    pause = _PausedGC()
    inside, release = threading.Barrier(3), threading.Event()

    def worker() -> None:
        with pause:
            inside.wait()
            release.wait()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    assert not gc.isenabled()
    release.set()
    for t in threads:
        t.join()
    assert gc.isenabled()
