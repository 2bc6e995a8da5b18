"""Utility endpoints and exception views of the core."""

from __future__ import annotations

import importlib


def includeme(config) -> None:
    config.include("kinto.core.views.errors")
    config.include("kinto.core.views.hello")
    # TODO(app): remove this guard once kinto/core/views/batch.py is committed.
    try:
        importlib.import_module("kinto.core.views.batch")
    except ImportError:
        return
    config.include("kinto.core.views.batch")
