"""The modules behind the ``Inventory`` facade (``inventory.py``), one job each.

- ``session``: what every operation works with (the unit of work, the user, the settings, the permission check);
- ``access``: permission checks and the audit of denials;
- ``arguments``: checks of the arguments the public API takes;
- ``model``: the read models handed out (``Page``, the item columns);
- ``commands``: add, update, delete, adjust stock, each with its audit rows, in one transaction;
- ``reads``: pages, items, figures, history, the audit trail;
- ``analytics``: low stock and the dashboard's aggregates;
- ``exports``: CSV, Excel, Parquet, DataFrames;
- ``imports``: files, frames and Unity Catalog tables through ``importing``, which sees only its port;
- ``connection``: ``connect``.

They import ``storage`` and the domain (``fields``, ``auth``, ``errors``), never Panel or ``databricks``.
"""
