"""The served page's weight (``ui/served/page_weight.py``): no MathJax for a page without math, one model walk.

The last test tells when the MathJax workaround can go (docs/workarounds.md): it asserts Panel's own rule still asks
for MathJax for an HTML pane whose math is off.
"""

from __future__ import annotations

import panel as pn
import panel.io.resources
import pytest
from bokeh.document import Document
from bokeh.document.models import DocumentModelManager
from bokeh.resources import Resources
from panel.io.state import set_curdoc

from inventory_panel.ui.app import InventoryApp
from inventory_panel.ui.served import page_weight

PANEL_RULE = panel.io.resources._panel_use_mathjax  # Panel's own, saved before any test installs the fix


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fix installed for one test; Panel's rule back afterwards (monkeypatch restores the module attribute)."""
    monkeypatch.setattr(panel.io.resources, "_panel_use_mathjax", PANEL_RULE)
    monkeypatch.setattr(page_weight, "_installed", False)
    page_weight.install()


def _scripts(doc: Document) -> list[str]:
    """The scripts the served HTML page of ``doc`` loads (what ``panel serve`` puts in the page for a session)."""
    with set_curdoc(doc):
        return [str(s) for s in panel.io.resources.bundle_resources(doc.roots, Resources(mode="server")).js_files]


def _app_document(inv) -> Document:
    doc = Document()
    with set_curdoc(doc):
        InventoryApp(inventory=inv).template().server_doc(doc)
    return doc


def test_the_served_app_page_loads_no_mathjax(inv, fixed):
    scripts = _scripts(_app_document(inv))
    assert any("bokeh.min.js" in s for s in scripts)
    assert not [s for s in scripts if "mathjax" in s]


def test_a_pane_that_renders_math_still_gets_mathjax(fixed):
    doc = Document()
    with set_curdoc(doc):  # a root of its own: Panel looks at the document's roots only
        pn.pane.Markdown("The area is $$\\pi r^2$$").server_doc(doc)
    assert [s for s in _scripts(doc) if "bokeh-mathjax" in s]


def test_the_template_is_added_with_one_walk_of_the_models(monkeypatch: pytest.MonkeyPatch):
    walks: list[int] = []
    recompute = DocumentModelManager.recompute

    def counted(self: DocumentModelManager) -> None:
        walks.append(1)
        recompute(self)

    monkeypatch.setattr(DocumentModelManager, "recompute", counted)
    doc = Document()

    class Page:
        """What ``servable`` does in a session: the template's roots added one by one (five for the app's)."""

        def servable(self, title: str) -> None:
            doc.title = title
            for text in ("header", "main", "sidebar", "modal", "notifications"):
                doc.add_root(pn.pane.HTML(text).get_root(doc))

    with set_curdoc(doc):
        page_weight.add_frozen(Page(), title="Lakebase Inventory")
    assert len(doc.roots) == 5 and doc.title == "Lakebase Inventory"
    assert len(walks) == 1


def test_panel_still_asks_for_mathjax_for_html_without_math():
    """Workaround: ``page_weight.install``. Panel 1.9.4 loads MathJax (1.8 MB) for any Panel HTML model, even one
    with ``disable_math=True`` (every ``pn.pane.HTML`` by default). When this fails, Panel's rule looks at the model
    and the workaround can go."""
    doc = Document()
    with set_curdoc(doc):
        root = pn.pane.HTML("<b>No math here</b>").get_root(doc)
    assert root.disable_math
    assert PANEL_RULE([root])
