"""PostgreSQL cache backend (``cache_backend = kinto.core.cache.postgresql``).

Settings: ``cache_url`` (``postgresql://user:password@host/db``),
``cache_prefix`` and the ``cache_pool_*`` options of
:mod:`kinto.core.sql.engines`. The queries are those of
:mod:`kinto.core.cache.sql`; expiry follows ``clock_timestamp()``, the
database server's clock at each statement.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, literal_column
from sqlalchemy.dialects.postgresql import insert

from kinto.core import sql
from kinto.core.cache.sql import Cache
from kinto.core.cache.sql import load_from_config as _load

__all__ = ["Cache", "load_from_config"]

#: Epoch milliseconds of the server clock (not frozen at transaction start
#: like ``now()``).
NOW = literal_column("CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)", BigInteger())


def load_from_config(config) -> Cache:
    """Backend factory; see :func:`kinto.core.cache.sql.load_from_config`."""
    return _load(config, sql.POSTGRESQL, insert, NOW)
