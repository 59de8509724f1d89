"""SQLAlchemy table definitions, derived from the field spec.

Names come from settings: the items table is ``POSTGRES_TABLE`` and its companions are ``<table>_movements``,
``<table>_audit`` and ``<table>_stats``, all in ``POSTGRES_SCHEMA`` on PostgreSQL (SQLite has no schemas).

``<table>_stats`` holds per-category totals (items, units, value in cents, low and out of stock) kept exact by
triggers on the items table in the writing transaction itself (migration 0002), so the summary and the counts of
unfiltered/category/status pages are a few-row read instead of a scan of every item. On SQLite there is one row
per category; on PostgreSQL the triggers append delta rows (no row is ever a hot spot that concurrent writers
queue on) and fold them together now and then; readers always sum per category.

Ids are never reused (migration 0003): SQLite's items, movements and audit are ``AUTOINCREMENT`` tables, and on
both databases triggers refuse an item whose id belonged to a deleted item (``ix_<table>_audit_deleted`` finds
those) or a change of an item's id, so a stale (id, version) can only ever match the item it was read from.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .. import stock_status
from ..fields import FIELDS, Field, search_fields
from .types import Money, UTCDateTime

ACTOR_LENGTH = 320  # an e-mail address at its longest
# PostgreSQL's search document: the searched fields joined by chr(31), which neither a field nor a search can
# contain, so a match never spans two fields (columns unqualified: only used in queries on the items table alone).
# Migration 0002 indexes it for pg_trgm; a test holds the two equal, so changing the searched fields needs a migration
# that rebuilds the indexes.
SEARCH_DOCUMENT_SQL = " || chr(31) || ".join(
    f.name if f.required else f"coalesce({f.name}, '')" for f in search_fields()
)
# Its words, as migration 0005's GIN index holds them ('simple': lower case, no stemming, no stop words; chr(31)
# separates words like a space). A test holds it equal to 0005's frozen copy.
SEARCH_VECTOR_SQL = f"to_tsvector('simple'::regconfig, {SEARCH_DOCUMENT_SQL})"


def _column_type(field: Field) -> sa.types.TypeEngine:
    if field.kind == "integer":
        return sa.Integer()
    if field.kind == "decimal":
        return Money()
    if field.max_length and field.max_length > 255:
        return sa.Text()
    return sa.String(field.max_length)


def _field_columns() -> list[sa.Column]:
    return [sa.Column(f.name, _column_type(f), nullable=not f.required) for f in FIELDS]


def _field_checks(table: str) -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint(f"{f.name} >= 0", name=f"ck_{table}_{f.name}_nonneg")
        for f in FIELDS
        if f.is_numeric and f.minimum is not None and f.minimum == 0
    ]


@dataclass(frozen=True)
class Tables:
    """The three tables of one inventory, bound to one MetaData."""

    metadata: sa.MetaData
    items: sa.Table
    movements: sa.Table
    audit: sa.Table
    stats: sa.Table
    schema: str | None

    @property
    def version_table(self) -> str:
        return f"{self.items.name}_alembic_version"


def build_tables(table: str = "inventory_items", schema: str | None = None) -> Tables:
    """Table objects for ``table`` in ``schema`` (``None`` on SQLite)."""
    md = sa.MetaData(schema=schema)
    items = sa.Table(
        table,
        md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        *_field_columns(),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(ACTOR_LENGTH), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(ACTOR_LENGTH), nullable=False),
        *_field_checks(table),
        sa.UniqueConstraint("sku", name=f"uq_{table}_sku"),
        sa.Index(f"ix_{table}_item_name", "item_name", "id"),
        sa.Index(f"ix_{table}_category", "category", "item_name"),
        # (location, quantity): location filters count and units per location sum inside the index.
        sa.Index(f"ix_{table}_location_quantity", "location", "quantity"),
        sa.Index(f"ix_{table}_supplier", "supplier"),
        sa.Index(f"ix_{table}_unit_price", "unit_price", "id"),
        sa.Index(f"ix_{table}_quantity", "quantity", "id"),
        sa.Index(f"ix_{table}_updated_at", "updated_at"),
        sqlite_autoincrement=True,
    )
    # The partial indexes' conditions are the very expressions the queries use (stock_status), which is what lets
    # SQLite and PostgreSQL prove that an index applies to a status filter.
    low = stock_status.status_condition(items, "low")
    sa.Index(f"ix_{table}_low_stock", items.c.item_name, items.c.id, sqlite_where=low, postgresql_where=low)
    # Stock value (the top items chart, sorting by value) and shortage (the Low stock view, only short items).
    sa.Index(f"ix_{table}_value", items.c.quantity * items.c.unit_price, items.c.id)
    # Surplus (quantity - minimum) ascending is shortage descending; an expression index declared DESC would not
    # compare equal to its reflection in the migration check.
    short = stock_status.short_condition(items)
    sa.Index(
        f"ix_{table}_shortage",
        stock_status.surplus(items),
        items.c.item_name,
        items.c.id,
        sqlite_where=short,
        postgresql_where=short,
    )
    # The words of the search document, for word searches on PostgreSQL (migration 0005, ``Backend.word_match``);
    # SQLite has no such index. (0002's trigram index exists only where pg_trgm does, so it is not declared here.)
    sa.Index(f"ix_{table}_search_words", sa.text(SEARCH_VECTOR_SQL), postgresql_using="gin").ddl_if(
        dialect="postgresql"
    )
    movements = sa.Table(
        f"{table}_movements",
        md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        # No foreign key: the movement history of a deleted item is kept.
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("quantity_after", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(ACTOR_LENGTH), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.CheckConstraint("kind IN ('receive', 'issue', 'count', 'import')", name=f"ck_{table}_movements_kind"),
        sa.Index(f"ix_{table}_movements_item", "item_id", "at"),
        sqlite_autoincrement=True,
    )
    audit = sa.Table(
        f"{table}_audit",
        md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(ACTOR_LENGTH), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("changes", sa.Text(), nullable=True),  # JSON: {"field": [old, new]} or the deleted row
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Index(f"ix_{table}_audit_item", "item_id", "id"),
        # The ids of deleted items, which no new item may take (the trigger of migration 0003 probes this).
        sa.Index(
            f"ix_{table}_audit_deleted",
            "item_id",
            sqlite_where=sa.text("action = 'delete'"),
            postgresql_where=sa.text("action = 'delete'"),
        ),
        sqlite_autoincrement=True,
    )
    stats = sa.Table(
        f"{table}_stats",
        md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("value_cents", sa.BigInteger().with_variant(sa.Numeric(38, 0), "postgresql"), nullable=False),
        sa.Column("low_stock", sa.BigInteger(), nullable=False),
        sa.Column("out_of_stock", sa.BigInteger(), nullable=False),
        sa.Index(f"ix_{table}_stats_category", "category"),
    )
    return Tables(md, items, movements, audit, stats, schema)
