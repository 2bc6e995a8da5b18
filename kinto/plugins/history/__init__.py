"""History plugin (plugins.md §3): every change of a bucket, group,
collection or record is recorded in the history of its bucket.

Enabled with ``includes = kinto.plugins.history``; settings ``history.*``
(:mod:`.options`). Parts: the recorder (:mod:`.listener`), the
``/buckets/{bid}/history`` endpoint (:mod:`.resource`) and the collection
snapshot endpoint (:mod:`.snapshot`).

The recorder is subscribed to :class:`~kinto.core.events.ResourceChanged`
through a :class:`~kinto.core.listeners.FilteredListener` named
``history``, exposed as ``registry.history_listener``: a metrics plugin may
replace its ``listener`` attribute with a timed wrapper
(``plugins.history``).
"""

from __future__ import annotations

from kinto.core.events import ACTIONS, ResourceChanged
from kinto.core.listeners import FilteredListener
from kinto.plugins.history import resource, snapshot
from kinto.plugins.history.listener import RESOURCE_NAME, TRACKED_RESOURCES, HistoryRecorder
from kinto.plugins.history.options import HistoryOptions


def includeme(config) -> None:
    options = HistoryOptions.from_settings(config.get_settings())
    registry = config.registry

    subscriber = FilteredListener(
        "history",
        HistoryRecorder(options),
        actions=frozenset((ACTIONS.CREATE.value, ACTIONS.UPDATE.value, ACTIONS.DELETE.value)),
        resources=frozenset(TRACKED_RESOURCES),
    )
    config.add_subscriber(subscriber, ResourceChanged)
    registry.history_listener = subscriber

    registry.authorizer.register(RESOURCE_NAME, RESOURCE_NAME, resource.INHERITANCE)
    resource.register(config)
    snapshot.register(config)

    config.add_api_capability(
        "history",
        description="Track changes on data.",
        url="https://kinto.readthedocs.io/en/latest/api/1.x/history.html",
        **options.capability(),
    )
