"""An import never switches the process's garbage collector off.

It used to pause the cyclic collector process-wide (``gc.disable()``) while each chunk was read and written, which
in a served app also paused it for every session's thread. Measured on 100,000 rows it saved nothing measurable
(docs/workarounds.md, "The import's gc.disable()"), so it went; this test keeps it from coming back, on both
databases, at every stage of the import, in the reading thread and in the writing worker.
"""

from __future__ import annotations

import gc

import inventory_panel as ip


def test_the_collector_stays_on_during_an_import(db_url, tmp_path):
    rows = "\n".join(f"Item {i},Tools,{i % 7},{i}.50" for i in range(3000))
    source = tmp_path / "items.csv"
    source.write_text("item_name,category,quantity,unit_price\n" + rows + "\n", encoding="utf-8")
    inv = ip.connect(db_url, user="gc@example.com", role="admin")
    seen: list[tuple[str, bool]] = []
    try:
        assert gc.isenabled()
        report = inv.import_csv(source, progress=lambda stage, fraction, text: seen.append((stage, gc.isenabled())))
    finally:
        inv.close()
    assert report.inserted == 3000
    assert {stage for stage, _ in seen} >= {"parse", "validate", "write"}
    assert all(enabled for _, enabled in seen), [stage for stage, enabled in seen if not enabled][:5]
    assert gc.isenabled()
