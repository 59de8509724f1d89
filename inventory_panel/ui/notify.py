"""Telling the person what happened: ``notify`` for every success and failure, ``report_error`` for a failure.

Served with notifications enabled, messages appear as toasts (``pn.state.notifications``). Where a toast cannot
show (a notebook, ipywidgets comms: ``messages.toasts_unavailable``) the component the person acted in shows the
message itself (``messages.InlineMessages``); with no component on screen (a script, a unit test) it is only
logged. Either way every message is logged, and an unexpected exception is logged with its traceback while the
person reads one plain sentence — never a traceback.

``report_error`` is the one place that policy is written: an action catches what it cannot handle itself and hands
it over (``except Exception as exc: report_error("Saving the item", exc)``), then decides how it goes on.
"""

from __future__ import annotations

import html
import logging
from typing import Any, Literal

from ..errors import InventoryError

log = logging.getLogger("inventory_panel.ui")

Kind = Literal["success", "error", "warning", "info"]

# Toasts stay long enough to read a sentence; errors stay until the person has had time to act on them.
DURATIONS_MS: dict[str, int] = {"success": 3000, "info": 4000, "warning": 8000, "error": 12000}
_LOG_LEVELS = {"success": logging.INFO, "info": logging.INFO, "warning": logging.WARNING, "error": logging.WARNING}


def notify(kind: Kind, message: str, duration: int | None = None) -> None:
    """Show ``message`` to the person as a toast of ``kind`` (when a notification area exists) and log it."""
    if kind not in DURATIONS_MS:
        raise ValueError(f"kind must be one of {', '.join(DURATIONS_MS)}, got {kind!r}")
    log.log(_LOG_LEVELS[kind], "notify %s: %s", kind, message)
    if _shown_inline(kind, message):
        return
    area = _notification_area()
    if area is None:
        return
    try:
        # The toast library sets the message as innerHTML; messages quote user text (item names), so escape it.
        getattr(area, kind)(html.escape(message), duration=DURATIONS_MS[kind] if duration is None else duration)
    except Exception:  # a failed toast must never break the action that produced it
        log.exception("could not show a notification")


def _shown_inline(kind: Kind, message: str) -> bool:
    try:
        from . import messages

        return messages.toasts_unavailable() and messages.deliver(kind, message)
    except Exception:  # a failed message must never break the action that produced it
        log.exception("could not show a message in the component")
        return False


def _notification_area() -> Any:
    try:
        import panel as pn

        return pn.state.notifications
    except Exception:  # noqa: BLE001 - no Panel session (tests, scripts): the log is the only channel
        return None


def error_message(action: str, exc: BaseException) -> str:
    """The sentence a person reads when ``action`` failed with ``exc``."""
    if isinstance(exc, InventoryError):
        return f"{action} failed: {exc}"
    return f"{action} failed because of an unexpected error. The details are in the server log."


def report_error(action: str, exc: BaseException) -> str:
    """Notify the person that ``action`` failed and log the details; returns the message shown."""
    message = error_message(action, exc)
    if isinstance(exc, InventoryError):
        log.info("%s failed: %s", action, exc)
    else:
        log.error("%s failed", action, exc_info=exc)
    notify("error", message)
    return message
