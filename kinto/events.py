"""Kinto's own events, on top of the resource events of
:mod:`kinto.core.events`."""

from __future__ import annotations


class ServerFlushed:
    """Every backend was wiped by ``POST /__flush__``
    (:mod:`kinto.plugins.flush`); sent once the backends are empty, during
    the request."""

    def __init__(self, request) -> None:
        #: The flush request.
        self.request = request

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
