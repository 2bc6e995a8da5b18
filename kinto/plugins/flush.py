"""The flush plugin (``kinto.plugins.flush``, plugins.md §4).

``POST /__flush__`` wipes the storage, permission and cache backends, then
notifies :class:`kinto.events.ServerFlushed`, and answers ``202 {}``. No
authentication and no permission: for development and test servers only.
Read-only servers answer ``405`` (as for every write).
"""

from __future__ import annotations

from kinto.core.services import Service
from kinto.events import ServerFlushed


def flush(request) -> dict:
    registry = request.registry
    registry.storage.flush()
    registry.permission.flush()
    registry.cache.flush()
    registry.notify(ServerFlushed(request))
    request.response.status_code = 202
    return {}


def includeme(config) -> None:
    """Register ``POST /__flush__`` and the ``flush_endpoint`` capability."""
    config.add_api_capability(
        "flush_endpoint",
        description="The __flush__ endpoint can be used to remove all data from all backends.",
        url="https://kinto.readthedocs.io/en/latest/api/1.x/flush.html",
    )
    service = Service(
        name="flush",
        path="/__flush__",
        description="Remove every object, permission and cached value",
        operation_ids={"POST": "flush_server"},
    )
    service.add_view("POST", flush)
    config.add_cornice_service(service)
