"""Alembic's entry point: migrations run on the connection studyhall hands over
(:meth:`studyhall.core.database.Database.migrate`), never from an ini file."""

from alembic import context

from studyhall.core.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=True)  # SQLite alters a table by copying it
with context.begin_transaction():
    context.run_migrations()
