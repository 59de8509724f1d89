"""The index budget (issue 16): every index pays for itself in the queries that need it against its bulk-load cost.

Measured cost per index (``bench/index_budget.py``, table in ``docs/benchmarks.md``: a COPY of 130,000 rows into a
table with only that index against none):

- ``ix_<table>_audit_at`` is dropped: no query filters or sorts the audit by its time (the audit log, its export
  and live updates go by id, an item's history by ``ix_<table>_audit_item``), yet every import wrote one entry per
  imported row into it.

Every SQL text and constant here is a frozen copy, not imported from the live code, so later edits cannot change
what this revision did.

Revision ID: 0004
Revises: 0003
"""

from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables = context.config.attributes["tables"]
    schema = tables.schema
    t = tables.items.name
    op.drop_index(f"ix_{t}_audit_at", f"{t}_audit", schema=schema)
