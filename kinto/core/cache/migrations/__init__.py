"""Alembic migration environment of the SQL cache backends (see
:mod:`kinto.core.sql.migrations`)."""
