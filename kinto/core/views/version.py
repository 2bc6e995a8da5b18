"""``/__version__``: the content of the ``version_json_path`` file."""

from __future__ import annotations

import os

from pyramid import httpexceptions

from kinto.core import errors, jsonutil
from kinto.core.services import Service

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def candidate_paths(configured: str) -> list[str]:
    """The configured path, then ``version.json`` inside the package and
    beside it (a checkout's root)."""
    return [
        configured,
        os.path.join(PACKAGE_DIR, "version.json"),
        os.path.join(os.path.dirname(PACKAGE_DIR), "version.json"),
    ]


def read_version(configured: str) -> dict | None:
    for path in candidate_paths(configured):
        try:
            with open(path, "rb") as f:
                return jsonutil.loads(f.read())
        except FileNotFoundError:
            continue
    return None


def get_version(request):
    registry = request.registry
    document = getattr(registry, "version_document", None)
    if document is None:
        document = read_version(registry.settings["version_json_path"])
        if document is None:
            raise errors.http_error(
                httpexceptions.HTTPInternalServerError(),
                errno=errors.ERRORS.UNDEFINED,
                message="Version file not found.",
                info=registry.settings.get("error_info_link"),
            )
        registry.version_document = document
    return document


def includeme(config) -> None:
    version = Service(
        name="version",
        path="/__version__",
        description="Version of the running code",
        operation_ids={"GET": "__version__"},
    )
    version.add_view("GET", get_version)
    config.add_cornice_service(version)
