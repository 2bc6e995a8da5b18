"""PostgreSQL permission backend
(``permission_backend = kinto.core.permission.postgresql``).

Settings: ``permission_url`` (``postgresql://user:password@host/db``) and
the ``permission_pool_*`` options of :mod:`kinto.core.sql.engines`. The
queries are those of :mod:`kinto.core.permission.sql`; URI patterns use the
``~`` regular expression operator after an index range on their literal
prefix.
"""

from __future__ import annotations

from kinto.core import sql
from kinto.core.permission.sql import Permission
from kinto.core.permission.sql import load_from_config as _load

__all__ = ["Permission", "load_from_config"]


def load_from_config(config) -> Permission:
    """Backend factory; see :func:`kinto.core.permission.sql.load_from_config`."""
    return _load(config, sql.POSTGRESQL)
