"""BoundedFileDropper: the upload limit enforced on the server, whatever the chunks a client sends claim."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from inventory_panel.ui.upload import BoundedFileDropper

LIMIT = 1000


def chunk(name: str, number: int, total: int, data: bytes) -> SimpleNamespace:
    return SimpleNamespace(
        event_name="upload_event",
        data={"name": name, "chunk": number, "total_chunks": total, "data": data, "type": "text/csv"},
    )


def send(dropper: BoundedFileDropper, name: str, content: bytes) -> None:
    """As the browser does: ceil((size + 1) / chunk_size) chunks."""
    total = math.ceil((len(content) + 1) / dropper.chunk_size)
    for i in range(total):
        dropper._process_event(
            chunk(name, i + 1, total, content[i * dropper.chunk_size : (i + 1) * dropper.chunk_size])
        )


@pytest.fixture
def dropper() -> BoundedFileDropper:
    return BoundedFileDropper(max_bytes=LIMIT, chunk_size=300)


def test_a_file_within_the_limit_arrives_as_bytes_and_replaces_the_previous_one(dropper):
    send(dropper, "a.csv", b"x" * 900)
    send(dropper, "b.csv", b"y" * 1000)
    assert dropper.value == {"b.csv": b"y" * 1000} and dropper.refused is None
    assert dropper._file_buffer == {}


def test_a_declared_size_past_the_limit_is_refused_at_the_first_chunk(dropper):
    dropper._process_event(chunk("big.csv", 1, 100, b"x" * 300))
    assert dropper.refused and "larger than" in dropper.refused
    assert dropper._file_buffer == {}
    dropper._process_event(chunk("big.csv", 2, 100, b"x" * 300))  # later chunks are dropped
    assert dropper._file_buffer == {} and dropper.value == {}


def test_chunks_larger_than_declared_are_refused_once_the_limit_is_passed(dropper):
    dropper._process_event(chunk("lie.csv", 1, 3, b"x" * 600))
    assert dropper.refused is None and sum(map(len, dropper._file_buffer["lie.csv"])) == 600
    dropper._process_event(chunk("lie.csv", 2, 3, b"x" * 600))
    assert dropper.refused and dropper._file_buffer == {}
    dropper._process_event(chunk("lie.csv", 3, 3, b"x"))
    assert dropper.value == {}


def test_out_of_order_foreign_and_malformed_chunks_are_dropped(dropper):
    dropper._process_event(chunk("a.csv", 1, 3, b"a" * 300))
    dropper._process_event(chunk("a.csv", 3, 3, b"a"))  # chunk 2 skipped
    dropper._process_event(chunk("other.csv", 2, 3, b"o" * 300))  # never started
    assert list(dropper._file_buffer) == ["a.csv"] and len(dropper._file_buffer["a.csv"]) == 1
    dropper._process_event(SimpleNamespace(event_name="upload_event", data={"name": "a.csv", "chunk": "2"}))
    assert dropper._file_buffer == {} and dropper.value == {}


def test_a_new_upload_and_release_drop_an_unfinished_one(dropper):
    dropper._process_event(chunk("a.csv", 1, 3, b"a" * 300))
    dropper._process_event(chunk("b.csv", 1, 2, b"b" * 300))
    assert list(dropper._file_buffer) == ["b.csv"]
    dropper.release()
    assert dropper._file_buffer == {}
    dropper._process_event(chunk("b.csv", 2, 2, b"b"))  # the rest of a released upload is dropped
    assert dropper.value == {}
