"""The script ``panel serve`` runs (``app.py`` here, so the page is at ``/app`` locally as in a Databricks App)."""
