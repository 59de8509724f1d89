"""Alembic environment: runs on the connection and table names handed over by ``storage.migrate``."""

from alembic import context

tables = context.config.attributes["tables"]
connection = context.config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=tables.metadata,
    version_table=tables.version_table,
    version_table_schema=tables.schema,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
