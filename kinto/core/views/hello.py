"""``GET /v1/``: the hello document (resources.md §3.1)."""

from __future__ import annotations

import datetime
import hashlib
import os
from typing import Any

from pyramid.events import ApplicationCreated

from kinto.core.services import Service

DEFAULT_INI_PATH = os.path.join(".", "config", "kinto.ini")


def ini_file_summary(path: str) -> dict | None:
    """``{path, hash, modified}`` of the INI file, or None if unreadable."""
    try:
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        mtime = os.path.getmtime(path)
    except OSError:
        return None
    modified = datetime.datetime.fromtimestamp(mtime, datetime.UTC).isoformat()
    return {"path": path, "hash": digest, "modified": modified}


def static_document(registry) -> dict[str, Any]:
    """The request-independent part of the hello document, computed once
    (after every plugin had a chance to add capabilities and public
    settings)."""
    settings = registry.settings
    document: dict[str, Any] = {
        "project_name": settings["project_name"],
        "project_version": settings["project_version"],
        "http_api_version": settings["http_api_version"],
        "project_docs": settings["project_docs"],
        "config": ini_file_summary(os.environ.get("KINTO_INI", DEFAULT_INI_PATH)),
        "settings": {name: settings.get(name) for name in sorted(registry.public_settings)},
        "capabilities": registry.api_capabilities,
    }
    if settings.get("eos"):
        document["eos"] = str(settings["eos"])
    return document


def get_hello(request):
    registry = request.registry
    document = getattr(registry, "hello_document", None)
    if document is None:
        document = registry.hello_document = static_document(registry)
    data = dict(document)
    data["url"] = request.route_url("hello")

    userid = request.prefixed_userid
    if userid is not None:
        user = {"id": userid, "principals": request.prefixed_principals}
        for extend in registry.hello_user_extras:
            extend(request, user)
        data["user"] = user

    if registry.readonly:
        request.response.cache_control.max_age = registry.settings["root_cache_expires_seconds"]
    return data


def _precompute(event) -> None:
    registry = event.app.registry
    registry.hello_document = static_document(registry)


def includeme(config) -> None:
    """Register the ``hello`` service.

    ``registry.hello_user_extras`` is a list of ``callable(request, user)``
    that plugins extend to add keys to ``user`` (e.g. ``bucket``).
    """
    if not hasattr(config.registry, "hello_user_extras"):
        config.registry.hello_user_extras = []
    hello = Service(
        name="hello",
        path="/",
        description="Welcome",
        operation_ids={"GET": "server_info"},
    )
    hello.add_view("GET", get_hello)
    config.add_cornice_service(hello)
    config.add_subscriber(_precompute, ApplicationCreated)
