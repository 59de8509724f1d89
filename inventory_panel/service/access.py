"""Permission checks and the audit of denials: who may do what is ``auth.User.can``; this decides what a refusal
writes to the audit trail."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..auth import ACTION_WORDS, User
from ..errors import PermissionDeniedError
from ..storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

DENIAL_WINDOW = 60.0  # seconds: denials of one action in one session past the burst are coalesced over this long
DENIAL_BURST = 3  # denials of one action audited one by one per window (a person retrying a button or two)


@dataclass
class _DenialWindow:
    """Denials of one action in one session since ``start`` (monotonic seconds)."""

    start: float
    written: int = 0  # audited one by one
    held: int = 0  # counted, not yet written


class AccessGuard:
    """The permission check of one session (one ``Inventory``): ``clock`` gives monotonic seconds."""

    def __init__(self, user: User, uow: UnitOfWork, clock: Callable[[], float]):
        self.user = user
        self.uow = uow
        self.clock = clock
        self._denials: dict[str, _DenialWindow] = {}  # action -> this session's current denial window
        self._lock = threading.Lock()

    def require(self, action: str) -> None:
        """Raise ``PermissionDeniedError`` (and audit the denial) unless the user may do ``action``.

        Denials are audited per action and session: the first ``DENIAL_BURST`` of a ``DENIAL_WINDOW`` each get a
        row; the rest of that window are counted and written as one row with ``{"count": n}`` at the next denial
        after the window, or by ``flush_denials`` (``close`` calls it). A script clicking a refused button 15 times a
        second thus writes a few rows a minute, not 15 a second, and the rows still add up to every denial. The
        error is raised every time.
        """
        if self.user.can(action):
            return
        with self._lock:
            window = self._denials.get(action)
            now = self.clock()
            rows: list[tuple[str, int]] = []
            if window is None or now - window.start >= DENIAL_WINDOW:
                if window is not None and window.held:
                    rows.append((action, window.held))
                window = self._denials[action] = _DenialWindow(now)
            if window.written < DENIAL_BURST:
                window.written += 1
                rows.append((action, 0))
            else:
                window.held += 1
            self._audit_denials(rows)
        raise PermissionDeniedError(self.user.name, self.user.role, ACTION_WORDS.get(action, action))

    def flush_denials(self) -> None:
        """Write the counts of denials still held back (end of a session)."""
        with self._lock:
            rows = [(action, w.held) for action, w in self._denials.items() if w.held]
            self._denials.clear()
            self._audit_denials(rows)

    def _audit_denials(self, rows: list[tuple[str, int]]) -> None:
        """One ``denied`` row per (action, held count): 0 is a single denial, n > 0 that many coalesced ones."""
        if not rows:
            return
        try:
            with self.uow.transaction() as conn:
                for action, held in rows:
                    detail = f"{action} refused for role {self.user.role}"
                    if held:
                        self.uow.audit.record(
                            conn,
                            "denied",
                            changes={"count": held},
                            detail=f"{detail}: {held} more times within {DENIAL_WINDOW:g} s",
                        )
                    else:
                        self.uow.audit.record(conn, "denied", detail=detail)
        except Exception:
            log.exception("could not audit a permission denial")
