"""``/contribute.json``: how to take part in the project."""

from __future__ import annotations

from kinto.core.services import Service

CONTRIBUTE = {
    "name": "kinto",
    "description": "A minimalist JSON storage service with synchronisation and sharing.",
    "repository": {
        "url": "https://github.com/Kinto/kinto",
        "license": "Apache-2.0",
    },
    "participate": {
        "home": "https://kinto.readthedocs.io/",
        "docs": "https://kinto.readthedocs.io/",
    },
    "bugs": {
        "list": "https://github.com/Kinto/kinto/issues",
        "report": "https://github.com/Kinto/kinto/issues/new",
    },
    "keywords": ["python", "pyramid", "json", "storage", "synchronisation", "sharing"],
}


def get_contribute(request):
    return CONTRIBUTE


def includeme(config) -> None:
    contribute = Service(
        name="contribute",
        path="/contribute.json",
        description="Contribute information",
        operation_ids={"GET": "contribute"},
    )
    contribute.add_view("GET", get_contribute)
    config.add_cornice_service(contribute)
