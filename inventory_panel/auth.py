"""Users and roles: who is acting, and what each role may do.

The service checks ``User.can`` before every operation; the UI only hides what a role may not do.
Where identity comes from (Databricks Apps headers, Panel auth, notebook, local) is decided by the entry point,
which hands a ``User`` to the service; ``resolve_role`` maps an e-mail to a role from settings.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from .settings import Settings

PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read", "export"}),
    "editor": frozenset({"read", "export", "add", "edit", "adjust", "import"}),
    "admin": frozenset({"read", "export", "add", "edit", "adjust", "import", "delete", "audit", "settings"}),
}
ACTION_WORDS = {
    "read": "read the inventory",
    "export": "export items",
    "add": "add items",
    "edit": "edit items",
    "adjust": "adjust stock",
    "import": "import CSV files",
    "delete": "delete items",
    "audit": "view the audit log",
    "settings": "change settings",
}


@dataclass(frozen=True)
class User:
    """The person acting. ``source`` says where the identity came from (shown in the header)."""

    name: str
    role: str
    source: str = "local"

    def can(self, action: str) -> bool:
        return action in PERMISSIONS.get(self.role, frozenset())


def local_user_name(settings: Settings) -> str:
    if settings.local_user:
        return settings.local_user
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "local"


def resolve_role(name: str, settings: Settings, *, local: bool) -> str:
    """Role of ``name``: listed admins/editors first, then ``INVENTORY_DEFAULT_ROLE``.

    Without a default, the single local user (a developer on their own machine, a notebook) is admin and anyone
    else — e.g. an unknown user of a deployed app — is a viewer.
    """
    key = name.strip().lower()
    if key in settings.admins:
        return "admin"
    if key in settings.editors:
        return "editor"
    if settings.default_role:
        return settings.default_role
    return "admin" if local else "viewer"


def make_user(name: str | None, settings: Settings, *, source: str = "local", role: str | None = None) -> User:
    # Inside a deployed Databricks App nobody is "the single local user": a missing identity must not become admin.
    local = source in ("local", "notebook") and not settings.is_databricks_app
    name = name or local_user_name(settings)
    if role is not None and role not in PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; use viewer, editor or admin")
    return User(name=name, role=role or resolve_role(name, settings, local=local), source=source)
