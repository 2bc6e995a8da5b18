"""Settings: the table of core defaults and :func:`load_settings`.

Rules (settings-cli.md §1):

* ``kinto.x`` and ``x`` name the same setting; both with different values is
  a start-up error. The result only holds unprefixed keys.
* INI and environment values are strings, coerced once here: to ``bool`` when
  the default is a bool, kept as text when the default is a string, JSON
  otherwise (``"25"`` → 25, ``"null"`` → None, ``"abc"`` stays ``"abc"``).
* ``KINTO_<NAME>`` beats ``<NAME>`` beats the INI beats the default, where
  ``<NAME>`` is the key upper-cased with ``.`` and ``-`` turned into ``_``.
  Only keys present in the INI or the defaults are looked up (plus the
  ``event_listeners.<name>.*`` options of the configured listeners).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool, aslist

from kinto.core import jsonutil

PREFIX = "kinto."
ENV_PREFIX = "KINTO_"

#: Defaults of every setting the core reads. Applications pass their own
#: table on top of this one (see :data:`kinto.DEFAULT_SETTINGS`).
DEFAULT_SETTINGS: dict[str, Any] = {
    # Backends.
    "storage_backend": "kinto.core.storage.memory",
    "storage_url": "",
    "storage_max_fetch_size": 10000,
    "storage_pool_size": 25,
    "permission_backend": "kinto.core.permission.memory",
    "permission_url": "",
    "permission_pool_size": 25,
    "cache_backend": "kinto.core.cache.memory",
    "cache_url": "",
    "cache_prefix": "",
    "cache_max_size_bytes": 524288,
    "cache_hosts": "",
    "transaction_per_request": True,
    "readonly": False,
    # API behaviour.
    "http_api_version": "1.23",
    "project_name": "",
    "project_version": "",
    "project_docs": "",
    "batch_max_requests": 25,
    "paginate_by": None,
    "pagination_token_validity_seconds": 600,
    "explicit_permissions": True,
    "id_generator": "kinto.core.storage.generators.UUID4",
    "trailing_slash_redirect_enabled": True,
    "trailing_slash_redirect_ttl_seconds": 3600,
    "version_prefix_redirect_enabled": True,
    "version_prefix_redirect_ttl_seconds": -1,
    "http_scheme": None,
    "http_host": None,
    "json_renderer": "ultrajson",
    "version_json_path": "version.json",
    "error_info_link": "https://github.com/Kinto/kinto/issues/",
    "heartbeat_timeout_seconds": 10,
    "root_cache_expires_seconds": 86400,
    # Auth & permissions.
    "multiauth.policies": "",
    "multiauth.policy.basicauth.use": "kinto.core.authentication.BasicAuthAuthenticationPolicy",
    "multiauth.groupfinder": "kinto.core.authorization.groupfinder",
    "userid_hmac_secret": "",
    # CORS, backoff, end of service.
    "cors_origins": "*",
    "cors_max_age_seconds": 3600,
    "backoff": None,
    "backoff_percentage": None,
    "retry_after_seconds": 3,
    "eos": None,
    "eos_message": None,
    "eos_url": None,
    # Plugins & extensibility.
    "includes": "",
    "event_listeners": "",
    # Observability.
    "statsd_backend": "kinto.core.statsd",
    "statsd_prefix": "kinto.core",
    "statsd_url": None,
    "sentry_dsn": None,
    "sentry_env": None,
    "newrelic_config": None,
    "newrelic_env": "dev",
    "profiler_enabled": False,
    "profiler_dir": "/tmp",  # noqa: S108  (only used when profiling is enabled)
    "tm.annotate_user": False,
    # Cornice must not register its own exception views: ours render the
    # error envelope (kinto.core.views.errors).
    "handle_exceptions": False,
}

#: Per listener options looked up in the environment even when the INI does
#: not mention them (events.md §5).
LISTENER_OPTIONS = ("use", "actions", "resources")


def env_name(key: str) -> str:
    """``multiauth.policies`` → ``MULTIAUTH_POLICIES``."""
    return key.replace(".", "_").replace("-", "_").upper()


def coerce(value: Any, default: Any = None) -> Any:
    """Coerce one raw (string) value according to the type of its default.

    Non-string values are returned untouched, so coercion is idempotent.
    """
    if not isinstance(value, str):
        return value
    if isinstance(default, bool):
        return asbool(value)
    if isinstance(default, str):
        # Text settings stay text; a JSON string literal is unquoted.
        if value[:1] == '"':
            try:
                parsed = jsonutil.loads(value)
            except ValueError:
                return value
            return parsed if isinstance(parsed, str) else value
        return value
    stripped = value.strip()
    if not stripped:
        return stripped
    try:
        return jsonutil.loads(stripped)
    except ValueError:
        return value


def _unprefix(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``kinto.x`` into ``x``; raise on conflicting values."""
    result: dict[str, Any] = {}
    for key, value in raw.items():
        if not key.startswith(PREFIX):
            result.setdefault(key, value)
            continue
        name = key[len(PREFIX) :]
        if name in raw and raw[name] != value:
            raise ConfigurationError(f"Settings '{key}' and '{name}' are in conflict.")
        result[name] = value
    return result


def _from_environ(key: str, environ: Mapping[str, str]) -> str | None:
    name = env_name(key)
    value = environ.get(ENV_PREFIX + name)
    if value is None:
        value = environ.get(name)
    return value


def _listener_keys(settings: Mapping[str, Any]) -> list[str]:
    names = settings.get("event_listeners") or ""
    keys = []
    for name in aslist(names) if isinstance(names, str) else names:
        short = name.rsplit(".", 1)[-1]
        keys.extend(f"event_listeners.{short}.{option}" for option in LISTENER_OPTIONS)
    return keys


def load_settings(
    raw: Mapping[str, Any] | None,
    defaults: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the effective settings: unprefixed keys, environment overrides
    applied, values coerced.

    ``defaults`` is the application table, merged over
    :data:`DEFAULT_SETTINGS`. ``environ`` defaults to ``os.environ``.
    Raises :class:`pyramid.exceptions.ConfigurationError` on conflicting
    prefixed/unprefixed values.
    """
    environ = os.environ if environ is None else environ
    table = dict(DEFAULT_SETTINGS)
    if defaults:
        table.update(_unprefix(defaults))
    given = _unprefix(raw or {})

    settings = dict(table)
    settings.update(given)
    for key in list(settings):
        override = _from_environ(key, environ)
        if override is not None:
            settings[key] = override

    # Listener options may only exist in the environment.
    for key in _listener_keys(settings):
        override = _from_environ(key, environ)
        if override is not None:
            settings[key] = override

    for key, value in settings.items():
        settings[key] = coerce(value, table.get(key))
    return settings
