"""ImportView without a server: check (dry run) -> preview -> confirm -> result, refusals, options, roles, limits.

Without a server ``pn.state.execute`` runs the view's coroutines to completion on a private event loop, so an
upload or a click is fully processed when the assignment returns; the import itself still runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging

import pytest

import inventory_panel as ip
from inventory_panel.settings import load_settings
from inventory_panel.ui.import_report import steps_html, summary_sentence
from inventory_panel.ui.importer import ImportView, upload_bytes
from inventory_panel.ui.model import InventoryModel

HEADER = "item_name,category,quantity,unit_price,sku\n"
GOOD_AND_BAD = (
    HEADER + "Drill,Tools,3,19.90,T-1\n"
    "Goggles,Safety,-1,7.50,S-1\n"
    "<img src=x onerror=alert(1)>,Tools,2,abc,T-2\n"
    "Tape,Tools,5,1.25,T-3\n"
)


@pytest.fixture
def make_view(sqlite_url):
    made = []

    def make(role="admin", env=None):
        inventory = ip.connect(sqlite_url, user=f"{role}@example.com", role=role, settings=load_settings(env or {}))
        made.append(inventory)
        model = InventoryModel(inventory=inventory)
        return ImportView(model=model), inventory

    yield make
    for inventory in made:
        inventory.close()


def upload(view, content, name="items.csv"):
    view.dropper.value = {name: content}


def test_preview_lists_bad_rows_and_writes_nothing(make_view, caplog):
    view, inv = make_view()
    before = inv.change_token()
    upload(view, GOOD_AND_BAD)
    assert view.step == "preview" and view.report.dry_run
    assert (view.report.rows, view.report.inserted, view.report.skipped) == (4, 2, 2)
    errors = view.errors.value
    assert errors[["row", "column", "value"]].values.tolist() == [[3, "quantity", "-1"], [4, "unit_price", "abc"]]
    assert view.errors.visible and "Problems found in 2 rows" in view._errors_head.object
    assert 'data-count="to-add"' in view.counts.object and "Ready to add 2" in view.banner.object
    assert "<b>items.csv</b>" in view.banner.object
    assert (
        view.import_button.visible and not view.import_button.disabled and view.import_button.label == "Import 2 rows"
    )
    assert view.error_file.visible
    assert inv.summary()["items"] == 0 and inv.change_token() == before  # not even an audit row


def test_confirm_imports_reports_counts_and_tells_every_view(make_view, caplog):
    view, inv = make_view()
    upload(view, GOOD_AND_BAD)
    version = view.model.data_version
    with caplog.at_level(logging.INFO, logger="inventory_panel.ui"):
        view.import_button.clicks += 1
    assert view.step == "done" and not view.report.dry_run
    assert (view.report.inserted, view.report.skipped) == (2, 2)
    assert sorted(inv.query().rows["item_name"]) == ["Drill", "Tape"]
    assert view.model.data_version == version + 1 and view.model.summary["items"] == 2
    assert "Imported: 2 items added, 0 updated. 2 rows were rejected" in caplog.text
    assert "Import finished." in view.banner.object and 'data-count="added"' in view.counts.object
    assert not view.import_button.visible and view.again_button.visible and view.error_file.visible
    rejected = list(csv.DictReader(io.StringIO(view._error_file_content().read())))
    assert [r["item_name"] for r in rejected] == ["Goggles", "<img src=x onerror=alert(1)>"]
    assert rejected[0]["error"] == "Quantity must be 0 or greater"


def test_confirm_twice_does_not_import_twice(make_view):
    view, inv = make_view()
    upload(view, GOOD_AND_BAD)
    view.import_button.clicks += 1
    asyncio.run(view.confirm())  # a second click that arrives after the import is ignored
    assert inv.summary()["items"] == 2


def test_user_text_is_escaped_in_the_page(make_view):
    view, _inv = make_view()
    upload(view, HEADER + "A,Tools,1,1,<b>\n", name="<img src=x onerror=alert(1)>.csv")
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in view.banner.object
    assert "<img" not in view.banner.object
    assert view.errors.formatters["value"] == {"type": "plaintext"}  # Tabulator escapes plaintext cells


def test_all_or_nothing_with_errors_offers_nothing_to_import(make_view):
    view, inv = make_view()
    view.atomic = True
    upload(view, GOOD_AND_BAD)
    assert view.report.atomic and view.report.inserted == 0
    assert view.import_button.disabled and view.import_button.label == "Nothing to import"
    assert "nothing would be imported" in view.banner.object
    view.atomic = False  # changing an option checks the file again
    assert view.step == "preview" and not view.report.atomic and view.report.inserted == 2
    assert inv.summary()["items"] == 0


def test_upsert_mode_updates_by_sku(make_view):
    view, inv = make_view()
    item = inv.add({"item_name": "Drill", "category": "Tools", "quantity": 1, "unit_price": "19.90", "sku": "T-1"})
    view._mode.value = "upsert"
    upload(view, HEADER + "Drill,Tools,7,19.90,T-1\nSaw,Tools,2,9.00,T-9\n")
    assert (view.report.inserted, view.report.updated) == (1, 1)
    assert 'data-count="to-update"' in view.counts.object
    view.import_button.clicks += 1
    assert inv.get(item["id"])["quantity"] == 7 and inv.summary()["items"] == 2


def test_a_refused_file_is_explained_and_nothing_is_offered(make_view, caplog):
    view, inv = make_view()
    with caplog.at_level(logging.INFO, logger="inventory_panel.ui"):
        upload(view, "colour,size\nred,XL\n", name="shirts.csv")
    assert view.step == "preview" and view.report is None
    assert "the file was refused" in view.banner.object and "item_name" in view.refusal
    assert not view.import_button.visible and view.again_button.visible
    assert "Checking the file failed: the file was refused" in caplog.text
    view.again_button.clicks += 1
    assert view.step == "choose" and not view.result.visible
    assert inv.summary()["items"] == 0


def test_a_one_line_upload_is_content_never_a_server_path(make_view, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(HEADER + "Stolen,Secrets,1,1,X-1\n", encoding="utf-8")
    view, _inv = make_view()
    upload(view, str(secret))  # a file whose whole text is a path on the server
    assert view.report is None and view.refusal and "Stolen" not in view.refusal
    assert upload_bytes("é\n") == "é\n".encode()


def test_the_upload_limit_is_shown_and_enforced(make_view):
    view, inv = make_view(env={"INVENTORY_MAX_UPLOAD_MB": "1"})
    assert view.dropper.max_file_size == "1048KB"
    assert "<b data-limit>1 MB</b>" in view._file_help.object
    upload(view, HEADER + "Drill,Tools,3,19.90,\n" * 60_000)
    assert view.report is None and "limited to 1 MB" in view.refusal
    assert inv.summary()["items"] == 0


def test_viewers_see_why_they_cannot_import(make_view):
    view, _inv = make_view(role="viewer")
    assert not view.allowed and not hasattr(view, "dropper")
    assert "Importing needs the editor role" in view._layout[1].object
    assert view.template_csv.callback().read().startswith("item_name,category,quantity,unit_price")


def test_progress_reaches_the_bar_through_the_stages(make_view, monkeypatch):
    view, _inv = make_view()
    monkeypatch.setattr("inventory_panel.ui.importer.PROGRESS_INTERVAL", 0.0)
    seen = []
    view.param.watch(lambda e: seen.append((view.stage, e.new)), "progress")
    upload(view, GOOD_AND_BAD)
    stages = [stage for stage, _fraction in seen]
    assert {"parse", "validate", "write"} <= set(stages)
    fractions = [fraction for _stage, fraction in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert view._bar.value == 100


def test_steps_and_sentences(make_view):
    html = steps_html("validate", "Checked <5> rows")
    assert '<span class="step done">1 · Parse</span>' in html and '<span class="step current">2 · Validate' in html
    assert "Checked &lt;5&gt; rows" in html
    assert steps_html(None, "", finished=True).count('class="step done"') == 3
    view, _inv = make_view()
    upload(view, GOOD_AND_BAD, name="secret-name.csv")
    assert "secret-name" not in summary_sentence(view.report)  # toasts carry no user text


def test_unexpected_failures_become_one_sentence(make_view, monkeypatch, caplog):
    view, _inv = make_view()

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("inventory_panel.inventory.Inventory.import_csv", broken)
    with caplog.at_level(logging.INFO, logger="inventory_panel.ui"):
        upload(view, GOOD_AND_BAD)
    assert view.step == "choose" and view.report is None and not view.result.visible
    assert "Checking the file failed because of an unexpected error" in caplog.text
    assert "disk on fire" not in view.banner.object


def test_a_file_dropped_during_a_check_is_the_one_previewed(make_view, monkeypatch):
    view, _inv = make_view()
    from inventory_panel.inventory import Inventory

    real = Inventory.import_csv
    second = (HEADER + "Only,Tools,1,1,Z-1\n").encode()

    def first_call_sees_a_new_upload(inv, source, **kwargs):
        if source != second:
            view._source, view.file_name = second, "second.csv"  # what load() does when a file arrives
        return real(inv, source, **kwargs)

    monkeypatch.setattr(Inventory, "import_csv", first_call_sees_a_new_upload)
    upload(view, GOOD_AND_BAD, name="first.csv")
    assert view.step == "preview" and view.report.rows == 1 and view.report.file == "second.csv"


def test_results_are_alerts_and_a_refusal_hides_the_last_files_warnings(make_view):
    view, _inv = make_view()
    upload(view, HEADER.rstrip("\n") + ",colour\nDrill,Tools,1,19.90,T-1,red\n")
    assert view.banner.alert_type == "info" and view.warnings.visible
    assert "Unknown columns ignored: colour" in view.warnings.object
    upload(view, "colour,size\nred,XL\n", name="shirts.csv")
    assert view.banner.alert_type == "danger" and "the file was refused" in view.banner.object
    assert not view.warnings.visible  # an Alert shows its box even when empty
