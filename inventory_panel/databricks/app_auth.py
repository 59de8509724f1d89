"""Bokeh auth hooks of the Databricks App: ``panel serve app.py --auth-module inventory_panel/databricks/app_auth.py``.

``get_user`` is ``identity.request_user``: it refuses a websocket that would join a session opened by another
person (docs/security.md, "Identity in a Databricks App"). Bokeh loads this file by path when the server starts,
before any app code has put the checkout on ``sys.path``, so it does that itself.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from inventory_panel.databricks.identity import request_user as get_user  # noqa: E402

__all__ = ["get_user", "login_url"]

# Bokeh requires a login URL once get_user is given. Nobody is sent there: get_user refuses only websocket
# upgrades (Panel answers those with 403), never a page request.
login_url = "/"
