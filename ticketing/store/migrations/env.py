"""Alembic environment: migrates the engine handed in by ticketing.store.db, or DATABASE_URL."""

from alembic import context

# Imported for its tables: Base.metadata holds a model's table once its module is imported.
import ticketing.store.case_models  # noqa: F401
from ticketing.cases.search import is_search_index
from ticketing.config import load_settings
from ticketing.store.db import make_engine
from ticketing.store.models import Base

engine = context.config.attributes.get("engine") or make_engine(load_settings().database_url)

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table by copy, drop and rename; with foreign keys enforced,
        # dropping a table other rows point to fails. SQLite only honours this pragma
        # outside a transaction, hence on the driver's connection before anything begins.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=sqlite,
        compare_type=True,
        # The search index is built by hand in migration 0008; the models do not describe it.
        include_name=lambda name, kind, parent: not is_search_index(name),
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"a migration left rows pointing nowhere: {broken[:5]}")
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
