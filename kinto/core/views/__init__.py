"""Utility endpoints and exception views of the core."""

from __future__ import annotations

import importlib

UTILITY_VIEWS = (
    "kinto.core.views.errors",
    "kinto.core.views.hello",
    "kinto.core.views.heartbeat",
    "kinto.core.views.version",
    "kinto.core.views.openapi",
    "kinto.core.views.contribute",
)


def includeme(config) -> None:
    for module in UTILITY_VIEWS:
        config.include(module)
    # TODO(app): remove this guard once kinto/core/views/batch.py is committed.
    try:
        importlib.import_module("kinto.core.views.batch")
    except ImportError:
        return
    config.include("kinto.core.views.batch")
