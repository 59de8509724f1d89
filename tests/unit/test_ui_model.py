"""InventoryModel without a server or widgets: filters, paging, sorting, summary, change tracking, failures."""

from __future__ import annotations

import pytest

import inventory_panel as ip
from inventory_panel.ui.model import InventoryModel


def add(inv, name, quantity=5, category="Tools", minimum=None, **extra):
    return inv.add(
        {
            "item_name": name,
            "category": category,
            "quantity": quantity,
            "unit_price": "2.50",
            "minimum_stock": minimum,
            **extra,
        }
    )


@pytest.fixture
def stocked(inv):
    for i in range(23):
        add(
            inv,
            f"Item {i:02d}",
            quantity=i,
            category=("Tools", "Paint", "Wood")[i % 3],
            minimum=3,
            location=("Shed", "Dock")[i % 2],
        )
    return inv


def test_loads_the_first_page_summary_and_filter_menus(stocked):
    model = InventoryModel(inventory=stocked, page_size=10)
    assert model.total == 23 and len(model.rows) == 10 and model.page_count == 3
    assert model.rows["item_name"].tolist()[:2] == ["Item 00", "Item 01"]
    assert model.summary["items"] == 23 and model.summary["out_of_stock"] == 1 and model.summary["low_stock"] == 3
    assert model.categories == ["Paint", "Tools", "Wood"] and model.locations == ["Dock", "Shed"]
    assert not model.is_empty and not model.has_filters
    assert model.change_token == stocked.change_token()


def test_paging_reads_the_requested_page_from_the_database(stocked):
    model = InventoryModel(inventory=stocked, page_size=10)
    model.page = 2
    assert model.rows["item_name"].tolist() == ["Item 20", "Item 21", "Item 22"]
    assert model.total == 23


def test_flipping_one_page_seeks_from_the_page_shown_and_reads_the_same_rows(stocked, monkeypatch):
    model = InventoryModel(inventory=stocked, page_size=5, sort_by="quantity", descending=True)
    calls = []
    query = stocked.query
    monkeypatch.setattr(stocked, "query", lambda **kw: calls.append(kw) or query(**kw))
    seen = []
    for page in (1, 2, 3, 2, 1, 0):
        model.page = page
        seen.append(model.rows["item_name"].tolist())
        expected = query(offset=page * 5, limit=5, sort_by="quantity", descending=True).rows["item_name"].tolist()
        assert seen[-1] == expected
    assert [("after" in c, "before" in c) for c in calls] == [(True, False)] * 3 + [(False, True)] * 3
    assert model.total == 23
    calls.clear()
    model.page = 4  # a jump, not a flip: by offset
    model.page = 3
    model.search = "Item 1"  # other filters: by offset again
    assert [("after" in c or "before" in c) for c in calls] == [False, True, False]
    stocked.add({"item_name": "Item 00a", "category": "Tools", "quantity": 1, "unit_price": "1"})
    model.changed()
    calls.clear()
    model.page = 1  # the data changed since the page was read: its keys may be stale, so by offset
    assert [("after" in c or "before" in c) for c in calls] == [False]


def test_a_filter_goes_back_to_the_first_page(stocked):
    model = InventoryModel(inventory=stocked, page_size=5)
    model.page = 3
    model.category = "Paint"
    assert model.page == 0 and model.total == 8
    assert set(model.rows["category"]) == {"Paint"}
    model.param.update(category=None, status="low")
    assert model.total == 3 and set(model.rows["status"]) == {"low"}
    model.search = "item 1"
    assert model.has_filters and model.total == 0
    model.clear_filters()
    assert model.total == 23 and not model.has_filters


def test_filters_are_the_query_arguments(stocked):
    model = InventoryModel(inventory=stocked)
    model.param.update(search="  drill ", location="Shed", status="out")
    assert model.filters() == {
        "search": "drill",
        "category": None,
        "location": "Shed",
        "status": "out",
        "sort_by": "item_name",
        "descending": False,
    }


def test_sorting_happens_in_the_database_across_pages(stocked):
    model = InventoryModel(inventory=stocked, page_size=5)
    model.page = 2
    model.sort("quantity", descending=True)
    assert model.page == 0
    assert model.rows["quantity"].tolist() == [22, 21, 20, 19, 18]  # the largest of all, not of one page
    model.sort("value")
    assert model.rows["quantity"].tolist() == [0, 1, 2, 3, 4]


def test_changed_reloads_and_bumps_the_version_once(stocked):
    model = InventoryModel(inventory=stocked)
    versions: list[int] = []
    model.param.watch(lambda e: versions.append(e.new), "data_version")
    add(stocked, "Brand new", category="Glue", location="Loft")
    model.changed()
    assert versions == [1]
    assert model.total == 24 and "Glue" in model.categories and "Loft" in model.locations
    assert model.summary["items"] == 24


def test_a_page_past_the_end_moves_back_after_deletions(stocked):
    model = InventoryModel(inventory=stocked, page_size=10)
    model.page = 2
    for item_id in model.rows["id"]:
        stocked.delete(int(item_id), 1)
    model.changed()
    assert model.page == 1 and len(model.rows) == 10 and model.total == 20


def test_external_change_reloads_only_for_tokens_not_seen_yet(stocked):
    model = InventoryModel(inventory=stocked)
    seen_external: list[bool] = []
    model.param.watch(lambda _e: seen_external.append(model.external), "rows")
    assert model.external_change(model.change_token) is False  # this session's own write: nothing to do
    add(stocked, "From elsewhere")
    assert model.external_change(stocked.change_token()) is True
    assert seen_external == [True] and not model.external
    assert model.total == 24 and model.data_version == 1


def test_selection_is_kept_and_rows_can_be_looked_up(stocked):
    model = InventoryModel(inventory=stocked, page_size=5)
    first = int(model.rows["id"].iloc[0])
    model.selected_id = first
    model.page = 1
    assert model.selected_id == first  # selecting is not limited to the page on screen
    assert model.row(first) is None
    assert model.row(int(model.rows["id"].iloc[0]))["item_name"] == "Item 05"


def test_an_empty_inventory(inv):
    model = InventoryModel(inventory=inv)
    assert model.is_empty and model.total == 0 and model.rows.empty and model.page_count == 1


def test_a_failing_database_becomes_a_message_not_an_exception(stocked, monkeypatch, caplog):
    model = InventoryModel(inventory=stocked)
    rows_before = model.rows

    def broken(**_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(stocked, "query", broken)
    model.page_size = 10
    assert "unexpected error" in model.load_error and "disk on fire" not in model.load_error
    assert "disk on fire" in caplog.text  # the details are in the log
    assert model.rows is rows_before

    def unavailable(**_kwargs):
        raise ip.DatabaseUnavailableError("The database connection was lost. Please try again.")

    monkeypatch.setattr(stocked, "query", unavailable)
    model.refresh()
    assert model.load_error == "The database connection was lost. Please try again."
    monkeypatch.undo()
    model.refresh()
    assert model.load_error is None


def test_a_model_without_an_inventory_does_nothing(tmp_path):
    model = InventoryModel()
    model.refresh()
    model.changed()
    assert model.total == 0 and model.data_version == 0 and model.rows.empty


def test_a_common_search_counts_only_past_the_page_and_still_pages_to_the_end(stocked, monkeypatch):
    from inventory_panel.ui import model as model_module
    from inventory_panel.ui.table import ItemsTable

    monkeypatch.setattr(model_module, "SEARCH_COUNT_LIMIT", 5)
    model = InventoryModel(inventory=stocked, page_size=5)
    table = ItemsTable(model=model)
    assert model.total_exact and model.total == 23  # no search: the exact count
    model.search = "Item"
    assert (model.total, model.total_exact, model.page_count) == (5, False, 2)
    pager = table.pager
    assert "Showing 1–5 of more than 5 · page 1<" in pager.range_text.value and not pager.next_button.disabled
    for _ in range(4):
        pager.next_button.clicks += 1
    assert model.page == 4 and model.total_exact and model.total == 23  # the last page: counted to the end
    assert model.rows["item_name"].tolist() == ["Item 20", "Item 21", "Item 22"]
    assert "Showing 21–23 of 23 · page 5 of 5" in pager.range_text.value and pager.next_button.disabled
