"""Alembic environment: the connection is passed in by opencall.migrate."""

from __future__ import annotations

from alembic import context

from opencall.models import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always driven by opencall.migrate
    raise RuntimeError("run migrations through `opencall db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
