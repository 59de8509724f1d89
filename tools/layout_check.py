"""One geometry check of a rendered page, run inside the page (``page.evaluate(LAYOUT_CHECK)``): can every control be
reached, is any cut off, do any two overlap?

Used by the layout tests (tests/ui/test_layout_widths.py) and the screenshot driver (tools/screenshots.py). It walks
the whole document, shadow roots included (Panel renders every component in one), and looks at the controls a person
uses: buttons, inputs, selects, text areas, tabs, links and table column headers that are on screen (drawn with a
size, not hidden). For each it reports:

- ``unreachable``: part of it lies outside the window sideways, or outside an ancestor that clips it without
  scrolling (``overflow: hidden``), so no scrolling shows it. Inside an ancestor that scrolls (``overflow: auto``)
  it can be scrolled into view, which is fine as long as that ancestor itself is reachable. Below the window is
  fine: the page scrolls down. The page itself must not scroll sideways (``page_scroll_width``): a sideways page
  scroll bar is the off-screen toolbar of issue 15.
- ``truncated``: its own text does not fit it (a column header reading "Min st…", a button label cut off).
- ``overlaps``: two controls whose visible parts (after clipping by scrolling ancestors) cover each other by more
  than 2 px both ways, neither inside the other.

A Tabulator header clips its columns (``overflow: hidden``) but scrolls with the table body, so a table whose body
scrolls sideways counts as a scrolling ancestor of its header cells. While a dialog is open only its own controls
are looked at (the page under it cannot be used).
"""

from __future__ import annotations

import time
from typing import Any

LAYOUT_CHECK = r"""
() => {
  const W = window.innerWidth;
  const SELECTOR = 'button, input:not([type=hidden]):not([type=file]), select, textarea, a[href], [role=tab], '
    + '.bk-tab, .tabulator-col[tabulator-field]';
  const controls = [];
  const walk = root => {
    for (const el of root.querySelectorAll(SELECTOR)) controls.push(el);
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  const parentOf = el => el.parentElement || (el.parentNode && el.parentNode.host) || null;
  const shown = el => {
    for (let e = el; e; e = parentOf(e)) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || s.opacity === '0') return false;
    }
    const r = el.getBoundingClientRect();
    return r.width >= 2 && r.height >= 2;
  };
  const describe = el => {
    const text = (el.getAttribute('aria-label') || el.getAttribute('title') || el.innerText || el.value
      || el.getAttribute('placeholder') || el.getAttribute('tabulator-field') || '').trim().replace(/\s+/g, ' ');
    return `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : ''} "${text.slice(0, 40)}"`;
  };
  const scrollsX = e => {
    const c = e.classList;
    if (c && (c.contains('tabulator-header') || c.contains('tabulator-header-contents'))) {
      const table = e.closest('.tabulator');
      const holder = table && table.querySelector(':scope > .tabulator-tableholder');
      return !!holder && holder.scrollWidth > holder.clientWidth + 1;
    }
    const o = getComputedStyle(e).overflowX;
    return (o === 'auto' || o === 'scroll') && e.scrollWidth > e.clientWidth + 1;
  };
  const scrollsY = e => {
    const o = getComputedStyle(e).overflowY;
    return (o === 'auto' || o === 'scroll') && e.scrollHeight > e.clientHeight + 1;
  };
  const clipsX = e => getComputedStyle(e).overflowX !== 'visible';
  const clipsY = e => getComputedStyle(e).overflowY !== 'visible';
  const inter = (a, b) => ({left: Math.max(a.left, b.left), right: Math.min(a.right, b.right),
                            top: Math.max(a.top, b.top), bottom: Math.min(a.bottom, b.bottom)});
  const unreachable = [], truncated = [], overlaps = [], boxes = [];
  const contains = (a, b) => {
    for (let e = b; e; e = parentOf(e)) if (e === a) return true;
    return false;
  };
  // An open dialog covers the page: only its own controls can be used (and must fit) then.
  const dialogs = [];
  const findDialogs = root => {
    for (const el of root.querySelectorAll('.dialog-content')) if (shown(el)) dialogs.push(el);
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) findDialogs(el.shadowRoot);
  };
  findDialogs(document);
  const list = controls.filter(el => shown(el) && (!dialogs.length || dialogs.some(d => contains(d, el))));
  for (const el of list) {
    const r = el.getBoundingClientRect();
    let visible = {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
    let problem = null;
    // Up the composed tree: a clipping ancestor that does not scroll must contain the control; one that scrolls
    // may hold it out of view (that is what scrolling is for) and then must itself be reachable.
    let target = r;
    for (let e = parentOf(el); e && e !== document.documentElement && e !== document.body; e = parentOf(e)) {
      if (!(e instanceof Element)) continue;
      const b = e.getBoundingClientRect();
      const sx = scrollsX(e), sy = scrollsY(e);
      if (clipsX(e) && !sx && (target.left < b.left - 1 || target.right > b.right + 1) && b.width > 0) {
        problem = `cut off sideways by ${describe(e)} (${Math.round(target.left)}..${Math.round(target.right)} `
          + `outside ${Math.round(b.left)}..${Math.round(b.right)})`;
        break;
      }
      if (clipsY(e) && !sy && (target.top < b.top - 1 || target.bottom > b.bottom + 1) && b.height > 0) {
        problem = `cut off vertically by ${describe(e)} (${Math.round(target.top)}..${Math.round(target.bottom)} `
          + `outside ${Math.round(b.top)}..${Math.round(b.bottom)})`;
        break;
      }
      if (clipsX(e) || clipsY(e) || sx || sy) visible = inter(visible, b);
      if (sx || sy) target = b;  // scrolled into view there: from here on the container must be reachable
    }
    if (!problem && (target.left < -1 || target.right > W + 1)) {
      problem = `outside the window sideways (${Math.round(target.left)}..${Math.round(target.right)} of ${W})`;
    }
    if (problem) unreachable.push(`${describe(el)}: ${problem}`);
    const title = el.classList.contains('tabulator-col') ? el.querySelector('.tabulator-col-title') : null;
    // A button's own label (a text node of its own): icon buttons hide a label for screen readers on purpose.
    const ownText = [...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    const textBox = title || (el.tagName === 'BUTTON' && ownText ? el : null);
    if (textBox && textBox.scrollWidth > textBox.clientWidth + 1) {
      truncated.push(`${describe(el)}: text ${textBox.scrollWidth} px in ${textBox.clientWidth} px`);
    }
    if (visible.right - visible.left > 0 && visible.bottom - visible.top > 0) boxes.push([el, visible]);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      const o = inter(ra, rb);
      if (o.right - o.left > 2 && o.bottom - o.top > 2 && !contains(a, b) && !contains(b, a)) {
        overlaps.push(`${describe(a)} and ${describe(b)} overlap by ${Math.round(o.right - o.left)}x`
          + `${Math.round(o.bottom - o.top)} px`);
      }
    }
  }
  return {
    controls: list.length,
    dialog: dialogs.length > 0,
    page_scroll_width: document.documentElement.scrollWidth,
    width: W,
    unreachable, truncated, overlaps,
  };
}
"""


def problems(result: dict[str, object]) -> list[str]:
    """The findings of ``LAYOUT_CHECK`` as lines (empty when the layout is sound)."""
    lines: list[str] = []
    width, scroll = int(result["width"]), int(result["page_scroll_width"])  # type: ignore[call-overload]
    if scroll > width + 1:
        lines.append(f"the page scrolls sideways: {scroll} px wide in a {width} px window")
    for key in ("unreachable", "truncated", "overlaps"):
        lines += [f"{key}: {line}" for line in result[key]]  # type: ignore[attr-defined]
    return lines


def settled_problems(page: Any, settle: float = 15.0, stable: float = 2.0) -> list[str]:
    """``LAYOUT_CHECK`` on a Playwright ``page``, repeated while the layout still changes (Bokeh lays a view out in
    a few passes after it appears; FilePond fades its buttons in and out): its findings once there are none, or once
    the same ones have stood for ``stable`` seconds (at most ``settle`` seconds in all)."""
    start = time.monotonic()
    last: list[str] | None = None
    since = start
    while True:
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        found = problems(page.evaluate(LAYOUT_CHECK))
        now = time.monotonic()
        if found != last:
            last, since = found, now
        if not found or now - since > stable or now - start > settle:
            return found
