"""Alembic entry point of the permission migrations."""

from kinto.core.sql.migrations import run_environment

run_environment()
