"""Resource events: what plugins subscribe to (events.md).

Resources call :func:`notify_resource_event` after each successful read or
write. Nothing is sent right away: events are accumulated in
``request.bound_data`` (shared by a batch and its subrequests) and merged by
``(resource_name, parent_id, action)``, so that a batch creating three
records in one collection yields one event with three impacted objects.

Delivery happens in two steps:

1. **Before commit**, :class:`ResourceRead` / :class:`ResourceChanged` are
   sent from a tween placed *under* Pyramid's exception-view tween (and so
   under ``pyramid_tm``'s tween, which sits over it). The view has returned,
   the transaction is still open, and an exception raised by a listener
   travels up through the exception-view tween, which renders it as the
   usual JSON error envelope (an HTTP error keeps its status, anything else
   becomes a 500). ``pyramid_tm`` then sees an error response and aborts the
   transaction (see :func:`commit_veto`). Dispatching from a tween over the
   exception view, or from a before-commit hook, would let listener errors
   escape unrendered.
2. **After a successful commit**, :class:`AfterResourceRead` /
   :class:`AfterResourceChanged` are sent from a transaction after-commit
   hook. Their listeners cannot change the response: exceptions are logged
   and swallowed. Nothing is sent if the transaction was aborted.

Events notified by listeners while step 1 runs (cascades) are queued at a
new level, not merged into the events being delivered, and delivered in the
same request once the current level is done. Step 2 re-delivers every level.

Batch subrequests run without tweens, so the events of a whole batch are
dispatched once, by the tween of the batch request.
"""

from __future__ import annotations

import enum
import logging
import warnings
from collections.abc import Iterable
from typing import Any

from pyramid.tweens import EXCVIEW
from pyramid_tm import is_tm_active
from zope.interface import implementedBy

from kinto.core.utils import SAFE_METHODS, strip_uri_prefix

logger = logging.getLogger(__name__)

#: Key of the pending events in ``request.bound_data``.
EVENTS_KEY = "resource_events"


class ACTIONS(enum.StrEnum):
    """What happened to the objects of an event (``payload["action"]``)."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    READ = "read"

    @staticmethod
    def from_string_list(names: Iterable[str]) -> tuple[ACTIONS, ...]:
        """``["create", "read"]`` → ``(ACTIONS.CREATE, ACTIONS.READ)``;
        raises ``ValueError`` on an unknown name."""
        return tuple(ACTIONS(name) for name in names)


class _ResourceEvent:
    """Common part of the resource events: ``payload`` (events.md §2) and
    the ``request`` that produced the event (a batch subrequest when the
    change was made inside a batch)."""

    def __init__(self, payload: dict[str, Any], request) -> None:
        self.payload = payload
        self.request = request

    def __repr__(self) -> str:
        payload = self.payload
        return f"<{type(self).__name__} {payload.get('action')} {payload.get('uri')}>"


class _ReadEvent(_ResourceEvent):
    def __init__(self, payload: dict[str, Any], read_objects: list, request) -> None:
        super().__init__(payload, request)
        #: The objects served by the request(s).
        self.read_objects = read_objects

    @property
    def read_records(self) -> list:
        """Deprecated alias of :attr:`read_objects`."""
        warnings.warn(
            "`read_records` is deprecated, use `read_objects`", DeprecationWarning, stacklevel=2
        )
        return self.read_objects


class _ChangeEvent(_ResourceEvent):
    def __init__(self, payload: dict[str, Any], impacted_objects: list, request) -> None:
        super().__init__(payload, request)
        #: ``[{"new": obj}]`` (create), ``[{"old": obj, "new": obj}]``
        #: (update), ``[{"old": obj, "new": tombstone}]`` (delete).
        self.impacted_objects = impacted_objects

    @property
    def impacted_records(self) -> list:
        """Deprecated alias of :attr:`impacted_objects`."""
        warnings.warn(
            "`impacted_records` is deprecated, use `impacted_objects`",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.impacted_objects


class ResourceRead(_ReadEvent):
    """Objects were served; sent before commit (a listener may abort)."""


class ResourceChanged(_ChangeEvent):
    """Objects were created, updated or deleted; sent inside the transaction
    before commit. A listener exception becomes the response and the
    transaction is rolled back."""


class AfterResourceRead(_ReadEvent):
    """Sent after a successful commit; listener exceptions are logged."""


class AfterResourceChanged(_ChangeEvent):
    """Sent after a successful commit only; listener exceptions are logged."""


# Specifications used to ask the registry whether anybody listens.
_READ_SPECS = ((implementedBy(ResourceRead),), (implementedBy(AfterResourceRead),))
_CHANGE_SPECS = ((implementedBy(ResourceChanged),), (implementedBy(AfterResourceChanged),))


def is_listened(registry, action: ACTIONS | str) -> bool:
    """True when some subscriber may receive the events of ``action``
    (read events, or change events): otherwise none is built."""
    specs = _READ_SPECS if ACTIONS(action) is ACTIONS.READ else _CHANGE_SPECS
    return _has_subscribers(registry, specs[0]) or _has_subscribers(registry, specs[1])


def _has_subscribers(registry, spec: tuple) -> bool:
    # Zope caches subscription lookups: this is a dictionary hit.
    return bool(registry.adapters.subscriptions(spec, None))


class ResourceFilter:
    """Subscriber predicate ``for_resources=("bucket", "record")``: the
    event's ``payload["resource_name"]`` is one of them."""

    def __init__(self, value: str | Iterable[str], config) -> None:
        names = (value,) if isinstance(value, str) else tuple(value)
        self.resources = frozenset(names)

    def text(self) -> str:
        return f"for_resources = {', '.join(sorted(self.resources))}"

    phash = text

    def __call__(self, event, *_) -> bool:
        payload = getattr(event, "payload", None)
        return payload is not None and payload.get("resource_name") in self.resources


class ActionFilter:
    """Subscriber predicate ``for_actions=(ACTIONS.CREATE, ...)`` (members or
    their string values): the event's ``payload["action"]`` is one of them."""

    def __init__(self, value: str | Iterable[str], config) -> None:
        names = (value,) if isinstance(value, str) else tuple(value)
        self.actions = frozenset(ACTIONS(name).value for name in names)

    def text(self) -> str:
        return f"for_actions = {', '.join(sorted(self.actions))}"

    phash = text

    def __call__(self, event, *_) -> bool:
        payload = getattr(event, "payload", None)
        return payload is not None and payload.get("action") in self.actions


def _build_payload(
    request,
    resource_name: str,
    timestamp: int,
    action: ACTIONS,
    uri: str | None,
    matchdict: dict | None,
) -> dict[str, Any]:
    if uri is None:
        uri = strip_uri_prefix(request.path_info)
    if matchdict is None:
        matchdict = request.matchdict or {}
    payload: dict[str, Any] = {
        "timestamp": timestamp,
        "action": action.value,
        "uri": uri,
        "user_id": getattr(request, "prefixed_userid", None),
        "resource_name": resource_name,
    }
    for key, value in matchdict.items():
        payload[f"{resource_name}_id" if key == "id" else key] = value
    return payload


def notify_resource_event(
    request,
    resource_name: str,
    parent_id: str,
    timestamp: int,
    impacted: list,
    action: ACTIONS | str,
    uri: str | None = None,
    matchdict: dict | None = None,
) -> None:
    """Record an event of ``request``, to be delivered before and after
    commit.

    ``impacted`` is the list of ``{"new": ..., "old": ...}`` changes of a
    write, or the list of objects served by a read (objects without
    permissions). ``timestamp`` is the list timestamp of
    ``(parent_id, resource_name)`` after the operation. ``uri`` and
    ``matchdict`` replace the request's path and URL match values in the
    payload (implicit creations are reported as if the object URL had been
    requested).

    Events sharing ``(resource_name, parent_id, action)`` within one request
    (or one batch) are merged: the payload of the first is kept and the
    impacted objects are concatenated. Nothing is recorded when nobody
    subscribes to that kind of event.
    """
    action = ACTIONS(action)
    registry = request.registry
    if not is_listened(registry, action):
        return

    pending = request.bound_data.setdefault(EVENTS_KEY, {})
    key = (resource_name, parent_id, action)
    entry = pending.get(key)
    if entry is not None:
        entry[1].extend(impacted)
        return
    payload = _build_payload(request, resource_name, timestamp, action, uri, matchdict)
    pending[key] = (payload, list(impacted), request)


def _event_classes(action: str) -> tuple[type, type]:
    if action == ACTIONS.READ:
        return ResourceRead, AfterResourceRead
    return ResourceChanged, AfterResourceChanged


def deliver_before_commit(request) -> list[tuple]:
    """Send :class:`ResourceRead` / :class:`ResourceChanged` for the events
    pending in ``request.bound_data``, level after level until listeners
    stop notifying new ones. Returns every delivered entry (``(payload,
    objects, request)``), for :func:`deliver_after_commit`.

    Exceptions raised by listeners propagate.
    """
    bound_data = request.bound_data
    registry = request.registry
    delivered: list[tuple] = []
    pending = bound_data.pop(EVENTS_KEY, None)
    while pending:
        # Events notified by listeners from now on form the next level.
        bound_data[EVENTS_KEY] = {}
        for entry in pending.values():
            payload, objects, event_request = entry
            before_class, _ = _event_classes(payload["action"])
            registry.notify(before_class(payload, objects, event_request))
            delivered.append(entry)
        pending = bound_data.pop(EVENTS_KEY, None)
    return delivered


def deliver_after_commit(registry, delivered: list[tuple]) -> None:
    """Send :class:`AfterResourceRead` / :class:`AfterResourceChanged` for
    ``delivered`` entries; a listener exception is logged and the remaining
    events are still sent."""
    for payload, objects, event_request in delivered:
        _, after_class = _event_classes(payload["action"])
        try:
            registry.notify(after_class(payload, objects, event_request))
        except Exception:
            logger.exception("Error in %s listener (%s)", after_class.__name__, payload["uri"])


def _after_commit_hook(success: bool, registry, delivered: list[tuple]) -> None:
    if success:
        deliver_after_commit(registry, delivered)


def dispatch_tween_factory(handler, registry):
    """Tween delivering the events of a request (or of a whole batch) once
    its view returned a successful response. Must sit under ``EXCVIEW``."""

    def dispatch_tween(request):
        response = handler(request)
        bound_data = request.bound_data
        if not bound_data.get(EVENTS_KEY):
            return response
        tm_active = is_tm_active(request)
        if response.status_code >= 400 or (tm_active and request.tm.isDoomed()):
            # The transaction will be aborted: the events did not happen.
            del bound_data[EVENTS_KEY]
            return response
        delivered = deliver_before_commit(request)
        if not delivered:
            return response
        if tm_active:
            request.tm.get().addAfterCommitHook(_after_commit_hook, args=(registry, delivered))
        else:
            deliver_after_commit(registry, delivered)
        return response

    return dispatch_tween


def commit_veto(request, response) -> bool:
    """``pyramid_tm`` commit veto: abort on error responses and whenever an
    exception view rendered the response (so that a 4xx response does not
    commit partial writes of its request)."""
    return response.status_code >= 400 or request.exception is not None


def transaction_wanted(request) -> bool:
    """``pyramid_tm`` activation hook: requests that may write (any method
    but GET, HEAD and OPTIONS) run in a transaction. A read request runs
    without one: the SQL backends send its statements on their own
    (READ COMMITTED, see :mod:`kinto.core.sql.database`), and its rare writes
    (the implicit creation of a default bucket) commit each on its own, as
    they would inside a read request's transaction."""
    return request.method not in SAFE_METHODS


def includeme(config) -> None:
    """Request transaction (``pyramid_tm`` with :func:`commit_veto` and
    :func:`transaction_wanted`), the
    ``for_resources`` / ``for_actions`` subscriber predicates, the dispatch
    tween and the listeners configured in settings
    (:mod:`kinto.core.listeners`). ``request.bound_data`` is declared on
    :class:`kinto.core.request.Request`."""
    settings = config.get_settings()
    settings.setdefault("tm.commit_veto", "kinto.core.events.commit_veto")
    settings.setdefault("tm.activate_hook", "kinto.core.events.transaction_wanted")
    config.include("pyramid_tm")
    config.add_subscriber_predicate("for_resources", ResourceFilter)
    config.add_subscriber_predicate("for_actions", ActionFilter)
    config.add_tween("kinto.core.events.dispatch_tween_factory", under=EXCVIEW)
    config.include("kinto.core.listeners")
