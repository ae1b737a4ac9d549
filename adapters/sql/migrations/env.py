"""Alembic environment: migrations run on the connection handed in by catalyst_adapters.sql.migrate."""

from alembic import context

from catalyst_adapters.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through catalyst_adapters.sql.migrate (or `catalyst migrate`)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
