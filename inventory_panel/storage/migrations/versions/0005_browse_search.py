"""Word search without pg_trgm (issue 16): a GIN index of the search document's words on PostgreSQL.

The embedded PostgreSQL of the tests has no ``pg_trgm``, and even with it a common word's trigrams have long
posting lists (a search for "Drill Cable" at a million items read ten of them, about 100,000 entries each). The
service now finds a word search (letters and digits, single spaces: ``dialects/postgres.py``, ``word_match``) by
its words in this index, ``to_tsvector('simple', document)`` (lower case, no stemming, no stop words), the last word
as a prefix, and then checks the phrase as a case-insensitive substring, so it finds the rows the substring search
finds wherever the match begins a word.

The statistics are refreshed at once (``ANALYZE``): the planner estimates a ``@@`` match on an expression from the
expression index's own statistics, which only ANALYZE gathers; without them it guesses and may walk the sort index.

Nothing changes on SQLite. The jump to a deep page (the other plan of issue 16) needs no new index: its deferred
join reads the ids from ``ix_<table>_unit_price`` (unit_price, id) and friends, index-only once VACUUM has set the
visibility map.

Every SQL text and constant here is a frozen copy, not imported from the live code, so later edits cannot change
what this revision did.

Revision ID: 0005
Revises: 0004
"""

from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SEARCH_DOCUMENT_SQL = (
    "item_name || chr(31) || coalesce(sku, '') || chr(31) || coalesce(supplier, '') || chr(31) "
    "|| coalesce(description, '')"
)
SEARCH_VECTOR_SQL = f"to_tsvector('simple'::regconfig, {SEARCH_DOCUMENT_SQL})"
# A GIN build sorts its entries in memory: the default 64 MB spills a million items' words to disk several times.
BUILD_MEMORY = "256MB"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    tables = context.config.attributes["tables"]
    table = f'"{tables.schema}"."{tables.items.name}"'
    op.execute(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")
    op.execute(f'CREATE INDEX "ix_{tables.items.name}_search_words" ON {table} USING gin (({SEARCH_VECTOR_SQL}))')
    op.execute(f"ANALYZE {table}")
