"""SQLite cache backend (``cache_backend = kinto.core.cache.sqlite``).

Settings: ``cache_url`` (``sqlite:///path/to/kinto.db``), ``cache_prefix``
and the ``cache_pool_*`` options of :mod:`kinto.core.sql.engines`. The
queries are those of :mod:`kinto.core.cache.sql`; expiry follows
``julianday('now')`` (millisecond precision).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, literal_column
from sqlalchemy.dialects.sqlite import insert

from kinto.core import sql
from kinto.core.cache.sql import Cache
from kinto.core.cache.sql import load_from_config as _load

__all__ = ["Cache", "load_from_config"]

#: Epoch milliseconds of the system clock (2440587.5 is the Julian day of
#: the Unix epoch).
NOW = literal_column("CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)", BigInteger())


def load_from_config(config) -> Cache:
    """Backend factory; see :func:`kinto.core.cache.sql.load_from_config`."""
    return _load(config, sql.SQLITE, insert, NOW)
