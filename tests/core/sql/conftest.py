"""Database fixtures of the SQL infrastructure tests."""

import pytest

from kinto.core.sql import get_database
from tests.sql_support import postgresql_url, sqlite_url  # noqa: F401


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    """A migrated database of each dialect, with a scratch table ``items``
    (dropped afterwards)."""
    url = request.getfixturevalue(f"{request.param}_url")
    database = get_database({"storage_url": url}, "storage_")
    database.run_standalone(
        lambda c: c.exec_driver_sql("CREATE TABLE IF NOT EXISTS items (name TEXT PRIMARY KEY)")
    )
    database.run_standalone(lambda c: c.exec_driver_sql("DELETE FROM items"))
    # Each test starts with every connection in the pool (none idle from
    # the read requests of earlier tests).
    database.idle_reads.close_all()
    yield database
    database.run_standalone(lambda c: c.exec_driver_sql("DROP TABLE items"))
