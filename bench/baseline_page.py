"""The served-app benchmark's baseline: the smallest Panel page that shows the app's first page of items.

``panel serve bench/baseline_page.py`` on the same database as the app: the same Panel extensions as ``app.py``,
one Tabulator of the first 25 items by name (one query), no page template, nothing else. Its time to the first rows
is what Panel, Bokeh and Tabulator cost in this browser on this machine, so the app's time is reported against it
(``bench_served``), loaded alternately with the app in the same browser.
"""

import panel as pn

from inventory_panel.ui.serve import process_inventory

pn.extension("tabulator", "filedropper", "modal", notifications=True)

rows = process_inventory().query(limit=25).rows
pn.widgets.Tabulator(
    rows.astype({"unit_price": str}), show_index=False, pagination=None, disabled=True, sizing_mode="stretch_width"
).servable(title="Baseline")
