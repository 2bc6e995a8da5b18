"""Alembic migration environment of the SQL permission backends (see
:mod:`kinto.core.sql.migrations`)."""
