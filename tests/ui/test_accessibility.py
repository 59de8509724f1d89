"""WCAG 2.2 AA in real Chromium: axe-core on every screen in the light and the dark theme, and keyboard use.

axe-core comes bundled in ``axe-playwright-python`` (pinned in requirements-dev.txt). It runs with the WCAG 2.0,
2.1 and 2.2 A/AA rules on every tab, the item panel, the delete confirmation, the edit conflict ("Save mine
anyway" with its warning toast), a hovered table row and the import preview; a serious or critical violation
fails the test, named by screen, rule and element. One served app and one browser for the module; each theme's
test works on its own items, so the two can run in either order.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import expect

from bench.chromium import VIEWPORT
from tests.ui.conftest import open_app
from tests.ui.test_app_inventory import cell, item_by_name

pytestmark = pytest.mark.ui

TIMEOUT_MS = 30_000
# The success criteria of WCAG 2.2 level A and AA (axe's tags; "wcag22aa" adds 2.5.8 target size).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}


# Animations that end (a dialog fading in, a toast sliding in): axe measures colours as drawn, mid-fade they blend.
FINISH_ANIMATIONS = """() => Promise.all(document.getAnimations()
  .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity).map(a => a.finished.catch(() => null)))"""


# axe's findings as plain data: each node's element named by its tag, classes and a few telling attributes (axe's
# own selectors through these deep shadow trees took most of its time).
RUN_AXE = """async options => {
  const name = el => el.tagName.toLowerCase() + [...el.classList].map(c => '.' + c).join('') +
    ['id', 'role', 'type', 'tabulator-field'].filter(a => el.hasAttribute(a))
      .map(a => `[${a}="${el.getAttribute(a)}"]`).join('');
  const result = await axe.run(document, {...options, selectors: false, elementRef: true});
  return result.violations.flatMap(v => v.nodes.map(n => ({
    rule: v.id, impact: v.impact, element: name(n.element),
    why: [...n.any, ...n.all, ...n.none].map(c => c.message).join('; ')})));
}"""

# Violations from library internals that no style sheet or attribute of ours can change, by rule and the class of
# the element axe reports: each has its section in docs/workarounds.md and a test below that fails once it is gone.
KNOWN = {("aria-required-children", "pnx-tabulator")}


def known(problem: dict[str, str]) -> bool:
    return any(problem["rule"] == rule and f".{cls}" in problem["element"] for rule, cls in KNOWN)


def axe_findings(page: Any, rules: list[str] | None = None) -> list[dict[str, str]]:
    """axe's serious and critical findings on the page as it is now (WCAG 2.x A/AA, or only ``rules``)."""
    page.evaluate(FINISH_ANIMATIONS)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": WCAG_TAGS}
    found = page.evaluate(RUN_AXE, {"resultTypes": ["violations"], "runOnly": only})
    return [problem for problem in found if problem["impact"] in BLOCKING]


def violations(page: Any) -> list[str]:
    """Serious and critical violations, less the known ones: ``rule (impact): element — why``, one per node."""
    return [
        f"{p['rule']} ({p['impact']}): {p['element']} — {p['why'][:150]}" for p in axe_findings(page) if not known(p)
    ]


def summary(found: dict[str, list[str]]) -> str:
    """Per screen: how many nodes break each rule, then each node."""
    lines = []
    for screen, problems in found.items():
        counts = Counter(problem.split(" ", 1)[0] for problem in problems)
        lines.append(f"{screen}: " + ", ".join(f"{rule} ×{n}" for rule, n in sorted(counts.items())))
        lines += [f"    {problem}" for problem in problems]
    return "\n".join(lines)


@pytest.fixture(params=["light", "dark"])
def theme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def themed_page(browser: Any, theme: str) -> Iterator[Any]:
    """A page in its own context, the browser's colour scheme matching the app's theme."""
    # Reduced motion: Panel's dialog then appears without its fade (axe would measure its colours mid-fade).
    context = browser.new_context(viewport=VIEWPORT, color_scheme=theme, reduced_motion="reduce")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def open_themed(page: Any, server: Any, theme: str) -> None:
    page.goto(server.url + ("?theme=dark" if theme == "dark" else ""))
    page.locator('[data-card="items"]').wait_for()
    expect(page.locator(".tabulator-row").first).to_be_visible()


def show_tab(page: Any, title: str) -> None:
    page.locator(".bk-tab", has_text=re.compile(f"^{title}$")).click()


def row(page: Any, name: str) -> Any:
    return page.locator(".tabulator-row", has_text=name)


def write_csv(path: Path, prefix: str) -> Path:
    path.write_text(
        "item_name,category,quantity,unit_price,sku\n"
        f"Cordless Drill,Tools,12,89.90,{prefix}-1\n"
        f"Safety Goggles,Safety Equipment,-3,7.50,{prefix}-2\n",
        encoding="utf-8",
    )
    return path


# Each theme's test edits its own sample item (the conflict) and imports its own SKUs.
ITEMS = {"light": "Standing Desk 160x80", "dark": "Ergonomic Office Chair"}


def test_no_serious_violations_on_any_screen(served_app: Any, theme: str, themed_page: Any, tmp_path: Path) -> None:
    page = themed_page
    open_themed(page, served_app, theme)
    found: dict[str, list[str]] = {}
    name = ITEMS[theme]
    row(page, name).hover()  # a hovered row keeps its text and its "Open ›" link readable
    found["Inventory (a row hovered)"] = violations(page)

    row(page, name).locator('[tabulator-field="open"]').click()
    quantity = page.get_by_label("Quantity *")
    expect(quantity).to_be_visible()
    page.get_by_role("button", name="Delete item…").click()
    keep = page.get_by_role("button", name="Keep it")
    expect(keep).to_be_visible()
    found["Item panel, delete confirmation"] = violations(page)
    keep.click()
    expect(keep).to_be_hidden()

    # An edit conflict: someone else saves the item while this form has unsaved changes.
    quantity.fill("77")
    item = served_app.inventory.query(search=name, limit=1).rows.iloc[0]
    served_app.inventory.update(int(item["id"]), {"quantity": 5}, int(item["version"]))
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("button", name="Save mine anyway")).to_be_visible()
    found["Item panel, edit conflict"] = violations(page)

    show_tab(page, "Import")
    page.locator("input[type=file]").set_input_files(str(write_csv(tmp_path / "delivery.csv", f"A11Y-{theme}")))
    expect(page.locator('[data-count="rejected"]')).to_be_visible()
    found["Import preview"] = violations(page)

    show_tab(page, "Low stock")
    expect(page.get_by_role("button", name="Download reorder list")).to_be_visible()
    expect(page.locator(".tabulator-row:visible").first).to_be_visible()
    found["Low stock"] = violations(page)

    show_tab(page, "Analytics")
    expect(page.get_by_text("Units in stock by location")).to_be_visible()
    expect(page.locator(".bk-Canvas canvas").nth(3)).to_be_visible()
    found["Analytics"] = violations(page)

    show_tab(page, "Dashboard")
    expect(page.get_by_text("Connect a Databricks AI/BI dashboard")).to_be_visible()
    found["Dashboard"] = violations(page)

    show_tab(page, "Audit")
    expect(page.get_by_text("Audit log", exact=True)).to_be_visible()
    expect(page.locator(".tabulator-row:visible").first).to_be_visible()
    found["Audit"] = violations(page)

    report = {screen: problems for screen, problems in found.items() if problems}
    if report:
        pytest.fail(summary(report), pytrace=False)


# The element that has keyboard focus, looked up through the shadow roots: the field of its table cell, else its tag.
FOCUSED = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return null;
  const c = el.closest('.tabulator-cell');
  return c ? 'cell:' + c.getAttribute('tabulator-field') : el.tagName.toLowerCase();
}"""


def test_tab_from_an_edited_cell_saves_it_and_moves_on(served_app: Any, page: Any) -> None:
    open_app(page, served_app)
    name = "Safety Helmet EN 397"
    target = cell(page, name, "quantity")
    target.click()
    editor = target.locator("input")
    editor.fill("23")
    editor.press("Tab")
    expect(target.locator("input")).to_have_count(0)  # the edit is closed ...
    expect(target).to_have_text("23")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while item_by_name(served_app.inventory, name)["quantity"] != 23 and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # ... and saved: polled until the server has written it
    assert item_by_name(served_app.inventory, name)["quantity"] == 23
    focused = page.evaluate(FOCUSED)
    assert focused not in (None, "body", "cell:quantity"), focused  # focus moved on, not lost to the page

    # The save reloads the page from the database; the browser already shows every cell of it, so the next cell's
    # editor stays open: typing there and Tab again saves that field too. (Before, the reload redrew the table
    # about a second after the save, closing the editor and dropping focus to the page.)
    expect(page.locator(".notyf__message", has_text=f"Saved quantity of {name}.")).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_timeout(2_000)  # the reload follows the save at once; give it time to arrive
    assert page.evaluate(FOCUSED) == focused
    field = focused.removeprefix("cell:")
    typed = {"unit_price": "25.50", "minimum_stock": "15"}.get(field, "Typed by keyboard")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(typed)
    page.keyboard.press("Tab")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while str(item_by_name(served_app.inventory, name)[field]) != typed and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert str(item_by_name(served_app.inventory, name)[field]) == typed


# The focused element's outline, looked up through the shadow roots.
FOCUS_OUTLINE = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  const style = getComputedStyle(el);
  return {text: el.textContent.trim(), style: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def test_keyboard_focus_is_visible_on_a_button(served_app: Any, page: Any) -> None:
    open_app(page, served_app)
    add = page.get_by_role("button", name="+ Add item")
    add.focus()
    page.keyboard.press("Shift+Tab")  # away and back by keyboard: the browser shows focus as for a keyboard user
    page.keyboard.press("Tab")
    outline = page.evaluate(FOCUS_OUTLINE)
    assert outline["text"] == "+ Add item", outline
    assert outline["style"] != "none" and outline["width"] >= 2, outline


def test_tabulator_still_puts_a_focusable_holder_in_its_grid(served_app: Any, page: Any) -> None:
    """docs/workarounds.md, "Tabulator 6.4.0: a focusable scroll holder inside role=grid": when this fails, axe finds
    no such violation any more and KNOWN's entry can go."""
    open_app(page, served_app)
    found = axe_findings(page, ["aria-required-children"])
    assert any(known(problem) for problem in found), found


def test_panel_fast_theme_still_hides_focus_and_names_no_switch() -> None:
    """docs/workarounds.md, "Panel 1.9.4 Fast design": fails once Panel keeps focus outlines and names the switch."""
    import panel

    root = Path(panel.__file__).parent
    fast_css = (root / "theme" / "css" / "fast.css").read_text(encoding="utf-8")
    template = (root / "template" / "fast" / "list" / "fast_list_template.html").read_text(encoding="utf-8")
    assert re.search(r"\.bk-btn-primary:focus,[^{]*\{\s*outline: none;", fast_css)
    switch = re.search(r"<fast-switch id=\"theme-switch\"[^>]*>", template)
    assert switch and "aria-label" not in switch.group(0)


def test_bokeh_checkbox_still_draws_its_text_outside_a_label() -> None:
    """docs/workarounds.md, "Bokeh 3.9.2 Checkbox": fails once Bokeh's checkbox text is a <label>."""
    import bokeh

    widgets_js = Path(bokeh.__file__).parent / "server" / "static" / "js" / "bokeh-widgets.js"
    source = widgets_js.read_text(encoding="utf-8")
    assert "this.label_el = (0, dom_1.div)({ class: toggle_input_css.label }" in source
    assert "this.shadow_el.append(this.checkbox_el, this.label_el)" in source
