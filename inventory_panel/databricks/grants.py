"""PostgreSQL grants for the app's role on tables another role owns (docs/security.md, section 8).

The recommended deployment lets an owner (a person or group) run the migrations and gives the app's service
principal only what it needs, so the app cannot drop the audit trigger or rewrite the audit trail:

- ``USAGE`` on the schema;
- ``SELECT, INSERT, UPDATE, DELETE`` on the items, movements and stats tables;
- ``SELECT, INSERT`` on the audit table — and never ``UPDATE``, ``DELETE`` or ``TRUNCATE``;
- ``SELECT`` on the migration version table (the app reads it at start);
- ``USAGE, SELECT`` on every sequence in the schema (ids).

``missing_grants`` and ``forbidden_grants`` read PostgreSQL's own answer (``has_*_privilege``, which counts
memberships and ownership), and ``apply_grants`` sends a ``GRANT``/``REVOKE`` only for what differs, so running
it again sends nothing. ``inventory-panel init-db --grant-to`` and ``inventory-panel databricks setup`` call it
after the migrations, so tables a new migration creates get their grants too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from ..storage.tables import Tables

Kind = Literal["schema", "table", "sequence"]
WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")
NEVER_ON_AUDIT = ("UPDATE", "DELETE", "TRUNCATE")
NEVER_ON_VERSION = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")


@dataclass(frozen=True, order=True)
class Privilege:
    """One privilege on one object: ``SELECT on table "s"."t"`` (``relation`` is None for the schema itself)."""

    kind: Kind
    schema: str
    relation: str | None
    privilege: str

    @property
    def name(self) -> str:
        return quote(self.schema) if self.relation is None else f"{quote(self.schema)}.{quote(self.relation)}"

    def __str__(self) -> str:
        return f"{self.privilege} on {self.kind} {self.name}"

    def sql(self, verb: Literal["GRANT", "REVOKE"], role: str) -> str:
        on = {"schema": "SCHEMA", "table": "TABLE", "sequence": "SEQUENCE"}[self.kind]
        direction = "TO" if verb == "GRANT" else "FROM"
        return f"{verb} {self.privilege} ON {on} {self.name} {direction} {quote(role)}"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def wanted(tables: Tables, sequences: list[str]) -> tuple[list[Privilege], list[Privilege]]:
    """(the privileges the app needs, those it must not have) for ``tables`` and the schema's ``sequences``."""
    schema = tables.schema or ""
    need = [Privilege("schema", schema, None, "USAGE")]
    for table in (tables.items, tables.movements, tables.stats):
        need += [Privilege("table", schema, table.name, p) for p in WRITE]
    audit, version = tables.audit.name, tables.version_table
    need += [Privilege("table", schema, audit, p) for p in ("SELECT", "INSERT")]
    need.append(Privilege("table", schema, version, "SELECT"))
    need += [Privilege("sequence", schema, seq, p) for seq in sequences for p in ("USAGE", "SELECT")]
    never = [Privilege("table", schema, audit, p) for p in NEVER_ON_AUDIT]
    never += [Privilege("table", schema, version, p) for p in NEVER_ON_VERSION]
    return need, never


# The system catalogs, not information_schema: they show every object to every role, so a role that lacks USAGE
# on the schema is still told precisely what it lacks instead of "permission denied for schema".
def sequences(conn: sa.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relkind = 'S' ORDER BY c.relname"
        ),
        {"s": schema},
    )
    return [name for (name,) in rows]


def role_exists(conn: sa.Connection, role: str) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is not None


def _has(conn: sa.Connection, role: str, p: Privilege) -> bool:
    if p.kind == "schema":
        sql = "SELECT has_schema_privilege(:role, oid, :privilege) FROM pg_namespace WHERE nspname = :schema"
    else:  # by oid: a name would have to be looked up through the schema, which needs USAGE on it
        function = "has_table_privilege" if p.kind == "table" else "has_sequence_privilege"
        sql = (
            f"SELECT {function}(:role, c.oid, :privilege) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relname = :relation"
        )
    return bool(
        conn.execute(
            sa.text(sql), {"role": role, "privilege": p.privilege, "schema": p.schema, "relation": p.relation}
        ).scalar()
    )


@dataclass(frozen=True)
class GrantReport:
    """What ``role`` lacks, what it has but must not, and whether it owns the tables (then grants mean nothing)."""

    role: str
    missing: tuple[Privilege, ...]
    forbidden: tuple[Privilege, ...]
    owner: bool

    @property
    def ok(self) -> bool:
        return not (self.missing or self.forbidden or self.owner)


def check(conn: sa.Connection, tables: Tables, role: str) -> GrantReport:
    """Compare ``role``'s privileges with what the app needs; the schema and tables must exist (run migrations)."""
    assert tables.schema is not None, "grants exist on PostgreSQL only"
    need, never = wanted(tables, sequences(conn, tables.schema))
    owner = conn.execute(
        sa.text("SELECT pg_has_role(:r, tableowner, 'USAGE') FROM pg_tables WHERE schemaname = :s AND tablename = :t"),
        {"r": role, "s": tables.schema, "t": tables.audit.name},
    ).scalar()
    return GrantReport(
        role,
        tuple(p for p in need if not _has(conn, role, p)),
        tuple(p for p in never if _has(conn, role, p)),
        bool(owner),
    )


def apply_grants(conn: sa.Connection, tables: Tables, role: str) -> list[str]:
    """GRANT what ``role`` lacks and REVOKE what it must not have; returns the statements sent (none: unchanged)."""
    report = check(conn, tables, role)
    statements = [p.sql("GRANT", role) for p in report.missing] + [p.sql("REVOKE", role) for p in report.forbidden]
    for statement in statements:
        conn.exec_driver_sql(statement)
    return statements
