"""Root fixtures shared by every test.

* ``make_app(**settings)``: a ``webtest.TestApp`` of a fresh Kinto
  application on the memory backends with Basic auth enabled; keyword
  arguments override settings (unprefixed names, string or typed values).
* ``app``: ``make_app()`` with the defaults.
* ``make_core_app(configure=None, **settings)``: same, with ``kinto.core``
  only (no buckets, collections... nor plugins); ``configure(config)`` may
  add toy views.
* ``auth_headers(user, password="secret")``: the ``Authorization`` header
  dict for Basic auth as ``user``.

Environment variables named like settings (``KINTO_*``, ``READONLY``...)
are removed for every test so that the developer's shell cannot change
what the tests see.

``KINTO_TEST_BACKEND`` (``memory``, the default, ``sqlite`` or
``postgresql``) chooses the storage, permission and cache backends of the
applications these fixtures build (see :func:`backend_settings`): on SQL,
every application of a worker uses that worker's database (the one of
:mod:`tests.sql_support`), emptied each time an application is built, so a
test starts from empty backends as it does on memory.
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import webtest

import kinto
from kinto.core.settings import DEFAULT_SETTINGS, env_name

BASE_SETTINGS = {
    "storage_backend": "kinto.core.storage.memory",
    "permission_backend": "kinto.core.permission.memory",
    "cache_backend": "kinto.core.cache.memory",
    "multiauth.policies": "basicauth",
    "userid_hmac_secret": "this is not a secret",
    "includes": "",
}


#: Backends of the applications built by the fixtures (see the docstring).
TEST_BACKEND = os.environ.get("KINTO_TEST_BACKEND", "memory")
TEST_BACKENDS = ("memory", "sqlite", "postgresql")
if TEST_BACKEND not in TEST_BACKENDS:
    raise ValueError(f"KINTO_TEST_BACKEND must be one of {TEST_BACKENDS}, not {TEST_BACKEND!r}")

# Tables of the SQL backends, emptied between applications.
_SQL_TABLES = (
    "objects",
    "timestamps",
    "access_control_entries",
    "user_principals",
    "cache_entries",
)
_sql_url: str | None = None


def backend_settings() -> dict[str, str]:
    """Settings of the storage, permission and cache backends chosen by
    ``KINTO_TEST_BACKEND``; on SQL, the worker's database is emptied first."""
    if TEST_BACKEND == "memory":
        return {
            "storage_backend": "kinto.core.storage.memory",
            "permission_backend": "kinto.core.permission.memory",
            "cache_backend": "kinto.core.cache.memory",
        }
    url = _empty_sql_database()
    settings = {}
    for kind in ("storage", "permission", "cache"):
        settings[f"{kind}_backend"] = f"kinto.core.{kind}.{TEST_BACKEND}"
        settings[f"{kind}_url"] = url
        if TEST_BACKEND == "postgresql":
            # Commits need not wait for the disk: a test never outlives a
            # crash of the database server.
            settings[f"{kind}_synchronous_commit"] = "off"
    return settings


def _empty_sql_database() -> str:
    """URL of this worker's migrated database, emptied (one round trip on
    PostgreSQL)."""
    global _sql_url
    from kinto.core.sql import get_database

    if _sql_url is None:
        from tests import sql_support

        if TEST_BACKEND == "postgresql":
            _sql_url = sql_support.postgresql_database_url()
        else:
            directory = Path(tempfile.mkdtemp(prefix="kinto-tests-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            path = sql_support.migrated_sqlite_file(directory / "kinto.sqlite")
            _sql_url = f"sqlite:///{path}"
    # DELETE: on these small tables it is ten times faster than TRUNCATE
    # (which replaces the tables' files), and much faster than migrating.
    statements = [f"DELETE FROM {table}" for table in _SQL_TABLES]  # noqa: S608
    if TEST_BACKEND == "postgresql":
        statements = ["; ".join(statements)]  # one round trip

    def empty(connection):
        for statement in statements:
            connection.exec_driver_sql(statement)

    get_database({"storage_url": _sql_url}, "storage_").run_standalone(empty)
    return _sql_url


def build_app(**settings) -> webtest.TestApp:
    """A TestApp on a new application built with ``BASE_SETTINGS``, the
    backends of ``KINTO_TEST_BACKEND`` and ``settings``."""
    merged = {**BASE_SETTINGS, **backend_settings(), **settings}
    return webtest.TestApp(kinto.main({}, **merged))


def build_core_app(configure=None, **settings) -> webtest.TestApp:
    """Like :func:`build_app` but with the core only (no Kinto resources,
    no plugins): for tests of ``kinto.core``. ``configure(config)``, when
    given, runs after the core set-up (e.g. to add toy views)."""
    from pyramid.config import Configurator

    import kinto.core

    config = Configurator(settings={**BASE_SETTINGS, **backend_settings(), **settings})
    kinto.core.initialize(
        config, version="0.0.1", project_name="kinto", default_settings=kinto.DEFAULT_SETTINGS
    )
    if configure is not None:
        configure(config)
    return webtest.TestApp(config.make_wsgi_app())


def basic_auth_headers(user: str, password: str = "secret") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def _setting_env_names() -> set[str]:
    names = {env_name(key) for key in {**DEFAULT_SETTINGS, **kinto.DEFAULT_SETTINGS}}
    return names | {"KINTO_" + name for name in names} | {"KINTO_INI"}


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    for name in _setting_env_names() & set(os.environ):
        monkeypatch.delenv(name)


@pytest.fixture
def make_app():
    """Factory fixture: ``make_app(readonly=True)`` → ``webtest.TestApp``."""
    return build_app


@pytest.fixture
def make_core_app():
    """Factory fixture: an app of ``kinto.core`` alone (see build_core_app)."""
    return build_core_app


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def auth_headers():
    """Factory fixture: ``auth_headers("alice")`` → Basic auth headers."""
    return basic_auth_headers
