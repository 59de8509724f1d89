"""What a new served session costs before its first rows: less script to evaluate, one model-graph walk.

Two measured costs of the served page that the bare one-table Panel page (``bench/baseline_page.py``) does not pay
(``docs/benchmarks.md``, "Served app"):

- **MathJax.** Panel 1.9.4 adds Bokeh's MathJax bundle (``bokeh-mathjax.min.js``, 1.8 MB, the largest script of
  the page) to every page whose document has a Panel ``HTML`` model among its roots (the template's header pane is
  one), whether or not that model renders math — and every ``pn.pane.HTML`` turns math off by default. Bokeh's own
  rule asks for MathJax only where a model may render TeX. ``install()`` makes Panel's rule the same: such a root
  asks for MathJax only if its math is on and its text holds a TeX delimiter. The app shows no math, so its pages
  no longer load it. Registered in docs/workarounds.md; ``tests/unit/test_served_page_weight.py`` tells when it
  can go.
- **The document's model graph.** Adding the template's roots one by one makes Bokeh walk the whole model graph
  after each (nine walks for the app's page). ``add_frozen`` adds them under one freeze: one walk.
"""

from __future__ import annotations

from typing import Any

_installed = False


def needs_mathjax(roots: Any) -> bool:
    """Whether a Panel ``HTML`` model in ``roots`` may render math (Bokeh's rule for its own ``Div``)."""
    from bokeh.embed.bundle import _any
    from bokeh.embed.util import contains_tex_string
    from panel.models.markup import HTML

    return bool(
        _any(
            roots,
            lambda obj: (
                isinstance(obj, HTML)
                and not obj.disable_math
                and isinstance(obj.text, str)
                and contains_tex_string(obj.text)
            ),
        )
    )


def install() -> None:
    """Replace Panel's "any HTML model needs MathJax" rule in this process (idempotent; served sessions only)."""
    global _installed
    if _installed:
        return
    import panel.io.resources

    panel.io.resources._panel_use_mathjax = needs_mathjax
    _installed = True


def add_frozen(page: Any, title: str) -> None:
    """``page.servable(title=title)`` with the session's document frozen: Bokeh walks its models once, at the end."""
    import panel as pn

    doc = pn.state.curdoc
    if doc is None:
        page.servable(title=title)
        return
    with doc.models.freeze():
        page.servable(title=title)
