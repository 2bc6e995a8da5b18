"""Kinto: a minimalist JSON storage service with synchronisation and sharing.

:func:`main` is the PasteDeploy application factory (``use = egg:kinto``).
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from pyramid.config import Configurator
from pyramid.settings import aslist

import kinto.core
from kinto.core import initialization

try:
    __version__ = importlib.metadata.version("kinto")
except importlib.metadata.PackageNotFoundError:  # running from a plain checkout
    __version__ = "0.1.0"

HTTP_API_VERSION = "1.23"

#: Kinto's defaults on top of :data:`kinto.core.settings.DEFAULT_SETTINGS`.
DEFAULT_SETTINGS: dict[str, Any] = {
    "http_api_version": HTTP_API_VERSION,
    "project_name": "kinto",
    "project_docs": "https://kinto.readthedocs.io/",
    "retry_after_seconds": 3,
    "bucket_create_principals": "system.Authenticated",
    "permissions_read_principals": "system.Everyone",
    "bucket_id_generator": "kinto.views.NameGenerator",
    "collection_id_generator": "kinto.views.NameGenerator",
    "group_id_generator": "kinto.views.NameGenerator",
    "record_id_generator": "kinto.views.RelaxedUUID",
    "multiauth.authorization_policy": "kinto.authorization.AuthorizationPolicy",
    "multiauth.policy.basicauth.use": "kinto.core.authentication.BasicAuthAuthenticationPolicy",
    "default_bucket_hmac_secret": "",
    "experimental_collection_schema_validation": False,
    "experimental_permissions_endpoint": False,
    "account_cache_ttl_seconds": 30,
    "metrics_matchdict_fields": "bucket_id collection_id group_id record_id",
    "admin_assets_path": None,
}


def main(global_config: dict | None = None, config: Configurator | None = None, **settings):
    """Build the WSGI application.

    ``settings`` come from the ``[app:main]`` section of the INI file;
    ``config`` lets tests pass a ready ``Configurator``.
    """
    if config is None:
        config = Configurator(settings=settings)
    elif settings:
        config.add_settings(settings)

    kinto.core.initialize(
        config,
        version=__version__,
        project_name="kinto",
        default_settings=DEFAULT_SETTINGS,
    )
    config.include("kinto.views")

    for plugin in aslist(config.registry.settings.get("includes") or ""):
        config.include(plugin)

    app = config.make_wsgi_app()
    initialization.freeze_startup_objects()
    return app
