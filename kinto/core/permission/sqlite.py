"""SQLite permission backend
(``permission_backend = kinto.core.permission.sqlite``).

Settings: ``permission_url`` (``sqlite:///path/to/kinto.db``, usually the
storage's file, so that both share the request's transaction) and the
``permission_pool_*`` options of :mod:`kinto.core.sql.engines`. The queries
are those of :mod:`kinto.core.permission.sql`; URI patterns use the
``REGEXP`` function that SQLAlchemy's SQLite dialect registers on every
connection, after an index range on their literal prefix.
"""

from __future__ import annotations

from kinto.core import sql
from kinto.core.permission.sql import Permission
from kinto.core.permission.sql import load_from_config as _load

__all__ = ["Permission", "load_from_config"]


def load_from_config(config) -> Permission:
    """Backend factory; see :func:`kinto.core.permission.sql.load_from_config`."""
    return _load(config, sql.SQLITE)
