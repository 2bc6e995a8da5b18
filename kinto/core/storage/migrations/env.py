"""Alembic entry point of the storage migrations."""

from kinto.core.sql.migrations import run_environment

run_environment()
