"""Schema migrations with Alembic: one migration environment per backend
kind, each with its own version table, so that storage, permission and cache
may share one database or not.

A kind's environment is the package directory named in :data:`LOCATIONS`
(``kinto/core/storage/migrations/``...), holding ``versions/*.py`` and an
``env.py`` that only calls :func:`run_environment`. Migration scripts write
dialect-specific DDL where needed (``op.get_context().dialect.name``).

* :func:`upgrade` (``Database.initialize_schema``) migrates to the latest
  revision, idempotently; with ``dry_run`` it prints the SQL that would run
  (Alembic's offline mode, from the database's current revision) and changes
  nothing.
* :func:`check` (``Database.check_schema``), called by the backends'
  ``load_from_config``, raises :class:`SchemaError` naming ``kinto migrate``
  when the database is not at the latest revision. Inside
  :func:`schema_check_skipped` (used by ``kinto migrate`` while it builds
  the application) it does nothing.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from pyramid.exceptions import ConfigurationError
from sqlalchemy.engine import Connection

from kinto.core.storage import BackendError

if TYPE_CHECKING:
    from kinto.core.sql.database import Database

#: Alembic script locations by backend kind.
LOCATIONS = {
    "storage": "kinto.core.storage:migrations",
    "permission": "kinto.core.permission:migrations",
    "cache": "kinto.core.cache:migrations",
}

# Serialises concurrent ``kinto migrate`` runs on one PostgreSQL database
# (an arbitrary constant for pg_advisory_xact_lock).
_PG_LOCK_KEY = 0x4B494E54

logger = logging.getLogger(__name__)

_scripts: dict[str, ScriptDirectory] = {}
_skip_depth = 0
_skip_lock = threading.Lock()


class SchemaError(ConfigurationError):
    """The database schema is missing or not at the expected revision."""


def version_table(kind: str) -> str:
    """Name of the Alembic version table of ``kind``."""
    return f"kinto_{kind}_version"


def _config(database: Database, kind: str, connection: Connection | None) -> Config:
    if kind not in LOCATIONS:
        raise ValueError(f"Unknown backend kind {kind!r}")
    config = Config()
    config.set_main_option("script_location", LOCATIONS[kind])
    config.attributes.update(
        connection=connection,
        version_table=version_table(kind),
        dialect_name=database.dialect,
    )
    return config


def script_directory(kind: str) -> ScriptDirectory:
    """The (cached) Alembic scripts of ``kind``."""
    scripts = _scripts.get(kind)
    if scripts is None:
        if kind not in LOCATIONS:
            raise ValueError(f"Unknown backend kind {kind!r}")
        config = Config()
        config.set_main_option("script_location", LOCATIONS[kind])
        scripts = _scripts[kind] = ScriptDirectory.from_config(config)
    return scripts


def head_revision(kind: str) -> str | None:
    return script_directory(kind).get_current_head()


def current_revision(database: Database, kind: str) -> str | None:
    """The revision the database is at for ``kind`` (None if never
    migrated)."""

    table = version_table(kind)

    def read(connection: Connection) -> str | None:
        # Read directly (not through an Alembic context, which logs).
        if not sa.inspect(connection).has_table(table):
            return None
        versions = sa.table(table, sa.column("version_num"))
        return connection.execute(sa.select(versions.c.version_num)).scalar()

    return database.run_standalone(read, write=False)


def upgrade(
    database: Database, kind: str, dry_run: bool = False, output: TextIO | None = None
) -> None:
    """Migrate ``kind`` to the latest revision (see the module docstring);
    the dry run's SQL goes to ``output`` (default: standard output)."""
    if dry_run:
        current = current_revision(database, kind)
        if current == head_revision(kind):
            logger.info("The %s schema is up to date (revision %s).", kind, current)
            return
        config = _config(database, kind, None)
        config.attributes["output"] = output or sys.stdout
        target = "head" if current is None else f"{current}:head"
        _command().upgrade(config, target, sql=True)
        return

    if (current := current_revision(database, kind)) == head_revision(kind):
        logger.info("The %s schema is up to date (revision %s).", kind, current)
        return

    def migrate(connection: Connection) -> None:
        if database.dialect == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        _command().upgrade(_config(database, kind, connection), "head")

    database.run_standalone(migrate, write=True)


def _command():
    """``alembic.command``, imported when a migration runs (it loads and
    logs Alembic's plugins)."""
    from alembic import command

    return command


def check(database: Database, kind: str) -> None:
    """Raise :class:`SchemaError` unless ``kind`` is at the latest revision
    (see the module docstring)."""
    if _skip_depth:
        return
    try:
        current = current_revision(database, kind)
    except BackendError as e:
        raise SchemaError(f"Cannot check the {kind} schema of {database.url}: {e}") from e
    head = head_revision(kind)
    if current == head:
        return
    if current is None:
        state = "has no schema"
    elif script_directory(kind).get_revision(current) is None:  # pragma: no cover
        state = f"is at an unknown revision {current!r} (newer code?)"
    else:
        state = f"is at revision {current!r}, not {head!r}"
    raise SchemaError(f"The {kind} database {database.url} {state}: run 'kinto migrate' first.")


@contextlib.contextmanager
def schema_check_skipped() -> Iterator[None]:
    """Within this block, :func:`check` does nothing (for ``kinto
    migrate``, which must build the application of an unmigrated
    database)."""
    global _skip_depth
    with _skip_lock:
        _skip_depth += 1
    try:
        yield
    finally:
        with _skip_lock:
            _skip_depth -= 1


def run_environment() -> None:
    """Body of every kind's ``env.py``: run the migrations online on the
    connection given by :func:`upgrade`, or offline (SQL printed)."""
    from alembic import context

    attributes = context.config.attributes
    options = {
        "version_table": attributes["version_table"],
        "transactional_ddl": True,
    }
    if context.is_offline_mode():
        context.configure(
            dialect_name=attributes["dialect_name"],
            literal_binds=True,
            output_buffer=attributes.get("output") or sys.stdout,
            **options,
        )
    else:
        context.configure(connection=attributes["connection"], **options)
    with context.begin_transaction():
        context.run_migrations()
