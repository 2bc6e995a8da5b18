"""Alembic entry point of the cache migrations."""

from kinto.core.sql.migrations import run_environment

run_environment()
