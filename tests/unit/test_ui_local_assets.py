"""The workarounds behind issue 15's "no request leaves the app's origin" and the clickable summary cards, each with
the check that tells when it can go (docs/workarounds.md). The browser test of the whole session is
tests/ui/test_look_and_feel.py."""

from __future__ import annotations

import panel as pn
from panel.theme.fast import Fast
from panel.util import HTML_SANITIZER

from inventory_panel.ui.app import InventoryApp
from inventory_panel.ui.local_assets import LocalFast


def _css(resources: dict) -> str:
    return " ".join(str(url) for url in resources["css"].values())


def test_panel_fast_still_declares_a_web_font():
    """When this fails, Panel's Fast design no longer asks fonts.googleapis.com: local_assets can go."""
    assert "fonts.googleapis.com" in _css(Fast(theme=pn.theme.DefaultTheme).resolve_resources())
    assert any("googleapis" in url for url in Fast._resources["font"].values())


def test_the_app_page_and_the_error_page_name_no_web_font(inv):
    assert "googleapis" not in _css(LocalFast(theme=pn.theme.DarkTheme).resolve_resources())
    assert LocalFast._resources["font"] == {}
    page = InventoryApp(inventory=inv, live=False).template()
    assert "googleapis" not in _css(page.resolve_resources())
    assert "googleapis" not in str(type(page._design)._resources.get("font", {}))  # what Resources.css_files reads
    assert page.font.startswith("system-ui")


def test_panel_still_sanitizes_reactive_html_strings():
    """When this fails, a ReactiveHTML string parameter keeps buttons and classes: the summary cards could be sent as
    markup (summary.card_data and the script drawing them could give way to cards HTML)."""
    assert HTML_SANITIZER.clean('<button type="button" class="card">7</button>') == "7"
