"""Alembic migration environment of the SQL storage backends (see
:mod:`kinto.core.sql.migrations`)."""
