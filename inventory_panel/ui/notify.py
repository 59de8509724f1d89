"""Telling the person what happened: the one notification policy, written here and in docs/architecture.md
("Notifications"). Every view reports its outcomes through ``notify`` (and ``report_error`` for a failure).

- **A success is brief.** A success (or an info) is a toast at the top centre of the page, over the title bar's
  text and clear of every control below it, gone after ``BRIEF_MS``.
- **An error stays beside the thing that failed.** The caller names that place (``beside=``: the form's notice,
  the table's notice, the stock form's notice); the message stays there until the next result replaces it. An
  error with no place of its own goes to the message area under the app's title bar. Errors are never toasts in
  the app (they covered the form's fields, the Save buttons and the pager); a toast is the last resort of a lone
  component served without any message area.
- **A new result replaces the old.** Each result first dismisses the toasts shown before it; a success clears the
  place it is about and the app's message area, so no old error stays on screen after a later success.
- **Nothing is said twice.** A result the component already shows where it happened (the import's result banner,
  a form's list of invalid fields) passes ``shown=True``: it is logged and replaces older toasts, no toast repeats
  it.

Where a toast cannot show (a notebook, ipywidgets comms: ``messages.toasts_unavailable``) a success goes to the
message area of the component on screen (``messages.InlineMessages``), brief there too. With nothing on screen (a
script, a unit test) a message is only logged. Every message is logged, and an unexpected exception is logged with
its traceback while the person reads one plain sentence — never a traceback.
"""

from __future__ import annotations

import html
import logging
from typing import Any, Literal, Protocol

from ..errors import InventoryError

log = logging.getLogger("inventory_panel.ui")

Kind = Literal["success", "error", "warning", "info"]
KINDS: tuple[Kind, ...] = ("success", "error", "warning", "info")
BRIEF: frozenset[str] = frozenset({"success", "info"})  # the kinds that come and go; the others stay beside
BRIEF_MS = 3000  # a success toast: long enough to read one sentence
# A lone component served without a message area falls back to a toast for an error; it stays long enough to read.
FALLBACK_MS = 8000
# Top centre: over the title bar's text, clear of the toolbar, the form's buttons and the pager (bottom right
# covered all three). A toast is one sentence, so it does not reach the title bar's controls at the sides.
TOAST_POSITION = "top-center"
_LOG_LEVELS = {"success": logging.INFO, "info": logging.INFO, "warning": logging.WARNING, "error": logging.WARNING}


class Place(Protocol):
    """Where an outcome is shown beside the thing it is about: ``messages.Notice`` and ``InlineMessages`` are."""

    def show(self, kind: str, message: str) -> None: ...

    def clear(self) -> None: ...


def notify(kind: Kind, message: str, *, beside: Place | None = None, shown: bool = False) -> None:
    """Tell the person ``message``, as the policy above says for ``kind``; ``beside`` is the place of the thing
    the result is about, ``shown`` says the component already shows it there."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    log.log(_LOG_LEVELS[kind], "notify %s: %s", kind, message)
    try:
        _deliver(kind, message, beside, shown)
    except Exception:  # a failed message must never break the action that produced it
        log.exception("could not show a message")


def _deliver(kind: Kind, message: str, beside: Place | None, shown: bool) -> None:
    from . import messages

    area = _toast_area()
    if area is not None:
        area.clear()  # a new result replaces the old
    if kind in BRIEF:
        if beside is not None:
            beside.clear()
        messages.clear_areas()
    if shown:
        return
    if kind not in BRIEF:
        if beside is not None:
            beside.show(kind, message)
        elif not messages.deliver(kind, message) and area is not None:
            _toast(area, kind, message, FALLBACK_MS)
        return
    if messages.toasts_unavailable():
        messages.deliver(kind, message)
    elif area is not None:
        _toast(area, kind, message, BRIEF_MS)


def _toast(area: Any, kind: Kind, message: str, duration: int) -> None:
    # The toast library sets the message as innerHTML; messages quote user text (item names), so escape it.
    getattr(area, kind)(html.escape(message), duration=duration)


def _toast_area() -> Any:
    """The session's notification area, placed where the policy puts toasts; None without one (a notebook, a
    script, a test)."""
    try:
        import panel as pn

        from . import messages

        if messages.toasts_unavailable():
            return None
        area = pn.state.notifications
    except Exception:  # noqa: BLE001 - no Panel session (tests, scripts): the log is the only channel
        return None
    if area is not None:
        place_toasts(area)
    return area


def place_toasts(area: Any) -> None:
    """Put ``area``'s toasts where the policy says (called when a session starts, and again before each toast)."""
    if area.position != TOAST_POSITION:
        area.position = TOAST_POSITION


def error_message(action: str, exc: BaseException) -> str:
    """The sentence a person reads when ``action`` failed with ``exc``."""
    if isinstance(exc, InventoryError):
        return f"{action} failed: {exc}"
    return f"{action} failed because of an unexpected error. Try again; the details are in the server log."


def report_error(action: str, exc: BaseException, *, beside: Place | None = None, shown: bool = False) -> str:
    """Notify the person that ``action`` failed (beside ``beside``) and log the details; returns the message."""
    message = error_message(action, exc)
    if isinstance(exc, InventoryError):
        log.info("%s failed: %s", action, exc)
    else:
        log.error("%s failed", action, exc_info=exc)
    notify("error", message, beside=beside, shown=shown)
    return message
