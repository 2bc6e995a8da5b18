"""The generic core: :func:`initialize` builds the application foundation on
a Pyramid ``Configurator`` (settings, backends, renderer, security, tweens,
error and utility views, batch, events)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyramid.config import Configurator

from kinto.core.initialization import JsonLogFormatter, StreamHandlerWithRequestID
from kinto.core.settings import DEFAULT_SETTINGS, load_settings

__all__ = [
    "DEFAULT_SETTINGS",
    "JsonLogFormatter",
    "StreamHandlerWithRequestID",
    "initialize",
    "includeme",
    "load_default_settings",
]

#: The set-up steps run by :func:`includeme`, in order. The
#: ``initialization_sequence`` setting may replace this list.
DEFAULT_INITIALIZATION_SEQUENCE = (
    "kinto.core.initialization.setup_request_factory",
    "kinto.core.initialization.setup_json_renderer",
    "kinto.core.initialization.setup_cornice",
    "kinto.core.initialization.setup_registry_extras",
    "kinto.core.initialization.setup_backends",
    "kinto.core.initialization.setup_authentication",
    "kinto.core.initialization.setup_tweens",
    "kinto.core.initialization.setup_events",
    "kinto.core.initialization.setup_views",
)


def load_default_settings(config: Configurator, default_settings: Mapping[str, Any]) -> None:
    """Replace ``config.registry.settings`` by the effective settings:
    unprefixed keys, environment overrides, coerced values."""
    settings = load_settings(config.get_settings(), default_settings)
    registry_settings = config.registry.settings
    registry_settings.clear()
    registry_settings.update(settings)


def initialize(
    config: Configurator,
    version: str | None = None,
    project_name: str = "",
    default_settings: Mapping[str, Any] | None = None,
) -> None:
    """Set up the core on ``config``.

    ``default_settings`` are the application's defaults, merged over
    :data:`kinto.core.settings.DEFAULT_SETTINGS`; ``version`` and
    ``project_name`` fill ``project_version``/``project_name`` when the
    settings leave them empty. Routes added afterwards are prefixed with
    ``/v<major of http_api_version>``.
    """
    defaults = dict(default_settings or {})
    load_default_settings(config, defaults)
    settings = config.registry.settings
    if not settings.get("project_name"):
        settings["project_name"] = project_name
    if not settings.get("project_version"):
        settings["project_version"] = version or ""
    api_version = str(settings["http_api_version"])
    settings["http_api_version"] = api_version
    config.route_prefix = config.registry.route_prefix = f"v{api_version.split('.')[0]}"
    config.include("kinto.core")


def includeme(config: Configurator) -> None:
    """Run the set-up steps (``initialization_sequence``) in order."""
    settings = config.registry.settings
    steps = settings.get("initialization_sequence") or DEFAULT_INITIALIZATION_SEQUENCE
    if isinstance(steps, str):
        steps = steps.split()
    for step in steps:
        config.maybe_dotted(step)(config)
