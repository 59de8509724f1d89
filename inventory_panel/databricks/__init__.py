"""Databricks integration: Lakebase credentials, Apps identity, dashboard embedding, notebooks, workspace setup.

Modules are imported on demand (``from inventory_panel.databricks import lakebase``) so that the local app and the
Python API never pay for databricks-sdk unless they use Databricks.
"""
