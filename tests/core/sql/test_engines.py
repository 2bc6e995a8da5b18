"""Engines from settings: URLs, pool options, sharing."""

import pytest
import sqlalchemy
from pyramid.exceptions import ConfigurationError

from kinto.core import sql
from kinto.core.sql import engines


@pytest.mark.parametrize(
    ("raw", "driver", "dialect"),
    [
        ("postgresql://u:p@host/db", "postgresql+psycopg2", "postgresql"),
        ("postgres://u:p@host/db", "postgresql+psycopg2", "postgresql"),
        ("sqlite:///kinto.db", "sqlite+pysqlite", "sqlite"),
        ("sqlite:////var/lib/kinto.db", "sqlite+pysqlite", "sqlite"),
    ],
)
def test_supported_urls_get_their_driver(raw, driver, dialect):
    url, found = engines.parse_url(raw)
    assert (url.drivername, found) == (driver, dialect)


@pytest.mark.parametrize(
    "raw", ["", "sqlite://", "sqlite:///:memory:", "mysql://u@h/db", "not a url"]
)
def test_unusable_urls_are_configuration_errors(raw):
    with pytest.raises(ConfigurationError):
        engines.parse_url(raw)


def test_pool_settings_are_coerced_from_strings():
    settings = {
        "storage_pool_size": "7",
        "storage_max_overflow": "3",
        "storage_pool_recycle": "-1",
        "storage_pool_timeout": "2.5",
        "storage_pool_pre_ping": "true",
        "storage_backend": "ignored",
    }
    options = engines.engine_options(settings, "storage_", "postgresql")
    assert options["pool_size"] == 7
    assert options["max_overflow"] == 3
    assert options["pool_recycle"] == -1
    assert options["pool_timeout"] == 2.5
    assert options["pool_pre_ping"] is True
    assert "backend" not in options


def test_null_pool_takes_no_size_options():
    settings = {"cache_poolclass": "sqlalchemy.pool.NullPool", "cache_pool_size": 5}
    options = engines.engine_options(settings, "cache_", "postgresql")
    assert options["poolclass"] is sqlalchemy.pool.NullPool
    assert "pool_size" not in options


def test_backends_with_the_same_url_share_a_database(tmp_path):
    url = f"sqlite:///{tmp_path}/a.db"
    try:
        storage = sql.get_database({"storage_url": url}, "storage_")
        permission = sql.get_database({"permission_url": url}, "permission_")
        assert storage is permission
        other = sql.get_database({"cache_url": url, "cache_pool_size": 2}, "cache_")
        assert other is not storage
    finally:
        sql.dispose_all(str(tmp_path / "a.db"))


def test_pool_size_reaches_the_engine(tmp_path):
    url = f"sqlite:///{tmp_path}/a.db"
    try:
        database = sql.get_database({"storage_url": url, "storage_pool_size": 3}, "storage_")
        assert database.engine.pool.size() == 3
    finally:
        sql.dispose_all(str(tmp_path / "a.db"))


def test_synchronous_commit_reaches_the_postgresql_connections(postgresql_url):
    settings = {"storage_url": postgresql_url, "storage_synchronous_commit": "OFF"}
    database = sql.get_database(settings, "storage_")
    try:
        shown = database.run(lambda c: c.exec_driver_sql("SHOW synchronous_commit").scalar())
    finally:
        sql.dispose_all()
    assert shown == "off"


def test_unknown_synchronous_commit_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="synchronous_commit"):
        engines.engine_options({"storage_synchronous_commit": "maybe"}, "storage_", "postgresql")
