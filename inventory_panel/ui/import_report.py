"""What an import's report says, as the import view and ``ValidationReport`` show it: the counts as cards, the
parse -> validate -> write steps, the problem rows for the table, and one sentence about the run.

Pure functions of an ``ImportReport`` (and fixed text of ours): every user-typed value is escaped here or shown in a
plain-text cell.
"""

from __future__ import annotations

import pandas as pd

from ..importing import ImportReport
from ..words import count_of, plural
from . import styles
from .formatting import esc, fmt_int

STAGES = (("parse", "Parse"), ("validate", "Validate"), ("write", "Write"))
MAX_SHOWN_ERRORS = 1000  # the table lists this many problems; the error file has more (up to its cap)
ERROR_TITLES = {"row": "Row", "column": "Column", "value": "Value", "message": "Problem"}
ERROR_WIDTHS = {"row": 80, "column": 150, "value": 280}

CSS = (
    styles.BASE
    + """
.intro { color: var(--inv-text); font-size: 14px; line-height: 1.5; }
.intro .muted, .muted { color: var(--inv-muted); font-size: 13px; }
.intro code { background: color-mix(in srgb, var(--inv-text) 8%, transparent); padding: 0 4px; border-radius: 4px;
              font-size: 12.5px; }
.section { font-size: 15px; font-weight: 600; color: var(--inv-text); margin: 0 0 2px; }
.steps { display: flex; align-items: center; gap: 8px; font-size: 13px; color: var(--inv-muted); flex-wrap: wrap; }
.steps .step { border: 1px solid var(--inv-border); border-radius: 999px; padding: 2px 12px; white-space: nowrap; }
.steps .step.done { color: var(--inv-accent-text); border-color: var(--inv-accent); }
.steps .step.current { color: white; background: var(--inv-accent); border-color: var(--inv-accent);
                       font-weight: 600; }
.steps .msg { margin-left: 8px; color: var(--inv-text); }
.counts { display: flex; gap: 12px; flex-wrap: wrap; margin: 4px 0; }
.count { min-width: 120px; border: 1px solid var(--inv-border); border-radius: 10px; padding: 8px 14px;
         background: var(--inv-surface); }
.count .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--inv-muted); }
.count .value { font-size: 22px; font-weight: 600; color: var(--inv-text); }
.count.bad .value { color: var(--inv-out); }
.count.good .value { color: var(--inv-accent); }
"""
)


def counts_html(report: ImportReport) -> str:
    """The counts of a (dry or real) run as small cards; numbers only, nothing user-typed."""
    verb = "To " if report.dry_run else ""
    cards = [
        ("Rows read", report.rows, ""),
        (f"{verb}add" if verb else "Added", report.inserted, "good"),
        (f"{verb}update" if verb else "Updated", report.updated, "good"),
        ("Rejected", report.skipped, "bad" if report.skipped else ""),
    ]
    if report.unchanged:
        cards.insert(3, ("Unchanged", report.unchanged, ""))
    return (
        '<div class="counts">'
        + "".join(
            f'<div class="count {css}" data-count="{label.lower().replace(" ", "-")}"><div class="label">{label}</div>'
            f'<div class="value">{fmt_int(value)}</div></div>'
            for label, value, css in cards
        )
        + "</div>"
    )


def steps_html(stage: str | None, message: str = "", finished: bool = False) -> str:
    """The parse -> validate -> write steps with the current one highlighted, and the engine's latest message."""
    names = [name for name, _label in STAGES]
    current = names.index(stage) if stage in names else -1
    chips = []
    for index, (_name, label) in enumerate(STAGES):
        state = "done" if finished or index < current else "current" if index == current else ""
        chips.append(f'<span class="step {state}">{index + 1} · {label}</span>')
    return f'<div class="steps">{" › ".join(chips)}<span class="msg">{esc(message)}</span></div>'


def error_rows(report: ImportReport) -> pd.DataFrame:
    """The first ``MAX_SHOWN_ERRORS`` problems for the table (row, column, value, message)."""
    frame = report.errors.head(MAX_SHOWN_ERRORS)
    return pd.DataFrame(
        {
            "row": frame["row"].astype("int64").to_numpy(),
            "column": frame["column"].astype(str).to_numpy(),
            "value": frame["value"].astype(str).to_numpy(),
            "message": frame["message"].astype(str).to_numpy(),
        }
    )


def problems_title(report: ImportReport) -> str:
    """The title over the problems table: "Problems found in 1 row", "… in 12 rows"."""
    return f"Problems found in {count_of(report.skipped, 'row')}"


def import_button_label(importable: int) -> str:
    """The confirm button: "Import 1 row", "Import 12 rows", or "Nothing to import"."""
    return f"Import {count_of(importable, 'row')}" if importable else "Nothing to import"


def summary_sentence(report: ImportReport) -> str:
    """One sentence about a run, for the banner and the notification (no file name: that is user text)."""
    rejected = count_of(report.skipped, "row")
    have = plural(report.skipped, "has", "have")
    if report.dry_run:
        if report.atomic and report.skipped:
            return (
                f"{rejected} {have} errors, so with “all or nothing” nothing would be imported. Fix the rows "
                "(download the error file) or turn the option off."
            )
        if not report.inserted and not report.updated:
            if report.skipped:
                return "No row can be imported. Fix the rows (download the error file) and check the file again."
            return "The file holds no change to import."
        head = (
            f"Ready to add {count_of(report.inserted, 'item')} and update {count_of(report.updated, 'item')}."
            if report.inserted and report.updated
            else f"Ready to add {count_of(report.inserted, 'item')}."
            if report.inserted
            else f"Ready to update {count_of(report.updated, 'item')}."
        )
        return head + (f" {rejected} {have} errors and will be skipped." if report.skipped else " Every row is valid.")
    if report.atomic and report.skipped:
        return (
            f"Nothing was imported: {rejected} had errors and the import was all or nothing. Fix the rows "
            "(download the error file) and import again."
        )
    was = plural(report.skipped, "was", "were")
    tail = f" {rejected} {was} rejected; download the error file to fix and import them." if report.skipped else ""
    return f"Imported: {count_of(report.inserted, 'item')} added, {report.updated:,} updated.{tail}"
