"""What every operation of one ``Inventory`` works with: its unit of work, acting user, settings and permission
check. The service modules are functions of a ``Session``; the facade holds one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..auth import User
from ..settings import Settings
from ..storage.dialects import Backend
from ..storage.tables import Tables
from ..storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Session:
    uow: UnitOfWork
    user: User
    settings: Settings
    require: Callable[[str], None]  # raises PermissionDeniedError (and audits it) unless the user may do the action

    @property
    def tables(self) -> Tables:
        return self.uow.tables

    @property
    def backend(self) -> Backend:
        return self.uow.backend
