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
"""

from __future__ import annotations

import base64
import os

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


def build_app(**settings) -> webtest.TestApp:
    """A TestApp on a new application built with ``BASE_SETTINGS`` +
    ``settings``."""
    merged = {**BASE_SETTINGS, **settings}
    return webtest.TestApp(kinto.main({}, **merged))


def build_core_app(configure=None, **settings) -> webtest.TestApp:
    """Like :func:`build_app` but with the core only (no Kinto resources,
    no plugins): for tests of ``kinto.core``. ``configure(config)``, when
    given, runs after the core set-up (e.g. to add toy views)."""
    from pyramid.config import Configurator

    import kinto.core

    config = Configurator(settings={**BASE_SETTINGS, **settings})
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
