"""Utility endpoints and exception views of the core."""

from __future__ import annotations

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
    config.include("kinto.core.views.batch")
