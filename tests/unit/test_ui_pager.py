"""``Pager`` alone, over a plain Parameterized: the range it shows, Previous / Next, the page-size menu, and pages
set without an event (a reset that goes with the query) shown once the rows arrive."""

from __future__ import annotations

import param

from inventory_panel.ui.pager import Pager, page_count, range_html


class Source(param.Parameterized):
    page = param.Integer(default=0, doc="Current page.")
    page_size = param.Integer(default=10, doc="Rows a page.")
    total = param.Integer(default=0, doc="Rows in all.")
    total_exact = param.Boolean(default=True, doc="Whether total is the full count.")
    rows = param.List(default=[], doc="The rows of the page (stands for a DataFrame).")


def test_range_and_page_count():
    assert page_count(0, 10) == 1 and page_count(21, 10) == 3 and page_count(20, 10, exact=False) == 3
    assert range_html(0, 10, 0) == '<div class="range">Showing 0–0 of 0 · page 1 of 1</div>'
    assert "Showing 11–20 of more than 20 · page 2<" in range_html(1, 10, 20, exact=False)


def test_buttons_move_within_the_pages_and_follow_the_source():
    source = Source(total=25)
    pager = Pager(source=source)
    assert "Showing 1–10 of 25 · page 1 of 3" in pager.range_text.value
    assert pager.prev_button.disabled and not pager.next_button.disabled
    pager.next_button.clicks += 1
    pager.next_button.clicks += 1
    assert source.page == 2 and pager.next_button.disabled and not pager.prev_button.disabled
    assert "Showing 21–25 of 25 · page 3 of 3" in pager.range_text.value
    pager.go(7)
    assert source.page == 2  # kept within the pages there are
    source.total = 5  # the data shrank
    assert pager.next_button.disabled and "of 5 · page 3 of 1" in pager.range_text.value


def test_a_page_reset_without_an_event_shows_with_the_rows():
    source = Source(total=25, page=2)
    pager = Pager(source=source)
    with param.parameterized.discard_events(source):
        source.page = 0  # as InventoryModel.sort and the filters do: one query, not two
    source.rows = ["first page"]
    assert "Showing 1–10 of 25 · page 1 of 3" in pager.range_text.value and pager.prev_button.disabled


def test_the_page_size_menu_starts_again_at_the_first_page_and_follows_the_source():
    source = Source(total=100, page=3)
    pager = Pager(source=source, page_sizes=[10, 25])
    pager.size_menu.value = 25
    assert (source.page, source.page_size) == (0, 25)
    source.page_size = 10  # set from elsewhere (a notebook)
    assert pager.size_menu.value == 10
    source.page_size = 7  # a size the menu does not offer
    assert pager.size_menu.value == 10
    assert not hasattr(Pager(source=Source()), "size_menu")
