"""Shared infrastructure of the SQL backends (PostgreSQL with psycopg2,
SQLite with the standard library driver), on SQLAlchemy Core.

The whole API a backend needs::

    from kinto.core import sql

    class Storage(StorageBase):
        def __init__(self, database: sql.Database): ...

        def get(self, ...):
            def work(connection):          # a sqlalchemy Connection
                return connection.execute(...).first()
            row = self.database.run(work, write=False)

        def initialize_schema(self, dry_run=False):
            self.database.initialize_schema("storage", dry_run=dry_run)

    def load_from_config(config):
        database = sql.get_database(config.get_settings(), "storage_")
        database.check_schema("storage")   # fails start-up: "run 'kinto migrate'"
        return Storage(database)

* :func:`get_database(settings, prefix) <kinto.core.sql.database.get_database>`
  builds (or reuses) the engine of ``<prefix>url`` with the ``<prefix>pool_*``
  settings (:mod:`kinto.core.sql.engines`). Backends with the same URL and
  options share one :class:`Database`, hence one pool and, during a request,
  one database transaction.
* :meth:`Database.run(work, write=..., idempotent=...)
  <kinto.core.sql.database.Database.run>` runs ``work(connection)`` in the
  request's transaction when a request is current (committed or aborted with
  it), otherwise in its own short transaction; ``write=False`` for reads.
  A read request (GET, HEAD) opens no database transaction (each statement
  stands alone, no ``BEGIN``/``ROLLBACK`` round trips) and its writes commit
  on their own. :meth:`Database.run_standalone` always uses its own
  transaction. ``Database.dialect`` is ``"postgresql"`` or ``"sqlite"``.
* On PostgreSQL, ``BEGIN``, ``SAVEPOINT`` and ``RELEASE SAVEPOINT`` travel
  with the next statement and ``COMMIT``/``ROLLBACK`` are sent only when a
  transaction is open (:mod:`kinto.core.sql.engines`).
* :mod:`kinto.core.sql.fast` runs a hot statement on the driver's cursor
  (``fast.fetch_one(connection, fast.RawStatement(sql), params)``) inside
  the work function, without SQLAlchemy's per-execution cost, with the same
  error translation.
* Driver errors come out as :class:`kinto.core.storage.BackendError` (503)
  or :class:`kinto.core.storage.IntegrityError` (409)
  (:mod:`kinto.core.sql.errors`).
* Migrations (:mod:`kinto.core.sql.migrations`): one Alembic environment per
  kind in ``kinto/core/<kind>/migrations/`` (``env.py`` calls
  ``kinto.core.sql.migrations.run_environment()``; scripts in
  ``versions/``), version table ``kinto_<kind>_version``.
  :meth:`Database.initialize_schema(kind, dry_run)` and
  :meth:`Database.check_schema(kind)`; :func:`schema_check_skipped` lets
  ``kinto migrate`` build the application of an unmigrated database.
"""

from kinto.core.sql.database import Database, dispose_all, get_backend_database, get_database
from kinto.core.sql.engines import POSTGRESQL, SQLITE, held_lists
from kinto.core.sql.migrations import SchemaError, schema_check_skipped

__all__ = [
    "POSTGRESQL",
    "SQLITE",
    "Database",
    "SchemaError",
    "dispose_all",
    "get_backend_database",
    "get_database",
    "held_lists",
    "schema_check_skipped",
]
