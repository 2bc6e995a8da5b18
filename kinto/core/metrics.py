"""Metrics: the service interface metrics plugins implement, and the
instrumentation of the application.

A metrics plugin (``kinto.plugins.prometheus``, ``kinto.plugins.statsd``)
builds a :class:`MetricsService` and hands it to
:func:`add_metrics_service` from its ``includeme``. Nothing is instrumented
unless a service is added, so an application without a metrics plugin pays
nothing. Once one is added:

* a tween records, for every request, ``request_summary`` (counter),
  ``request_duration_seconds`` (histogram) and ``request_size`` (observed
  response size), labelled with ``method``, ``endpoint`` (route/service
  name, ``unknown`` without route), the ``metrics_matchdict_fields`` (empty
  when the status is 400 or more; see :func:`matchdict_labels`) and, for
  the counter, ``status``; plus
  ``authentication`` (label ``type``) and ``users`` (labels ``auth`` and
  ``userid``) when the request was authenticated;
* when the application is created (after every plugin was included), the
  public methods of the storage, permission and cache backends are wrapped
  once to time them (``backend_<kind>_seconds``, label ``method``), cache
  ``get`` calls count ``cache_hits`` / ``cache_misses``, each
  authentication policy's ``authenticate`` is timed
  (``authentication_<policy>_seconds``) and so is each configured event
  listener (``listeners_<name>_seconds``) and the history plugin's
  recorder (``plugins_history_seconds``).

Metric names are given without prefix; each service applies its own prefix
and naming rules. Labels are ordered ``(name, value)`` pairs; a given
metric is always reported with the same label names.

When several metrics plugins are included, every service receives every
measure.
"""

from __future__ import annotations

import abc
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

from pyramid.events import ApplicationCreated
from pyramid.settings import aslist

from kinto.core.authentication import IDENTITY_ENVIRON_KEY
from kinto.core.cache import CacheBase
from kinto.core.permission import PermissionBase
from kinto.core.storage import StorageBase

Labels = Sequence[tuple[str, str]]
Recorder = Callable[[float], None]

#: The tween over which request metrics are measured (the outermost core
#: tween, which turns every exception into a response).
RESPONSE_TWEEN = "kinto.core.initialization.response_tween_factory"
#: Subscribers of plugins exposed on the registry (``FilteredListener``-like
#: objects with a ``listener`` attribute), and their duration metric.
PLUGIN_LISTENERS = (("history_listener", "plugins_history_seconds"),)
BACKEND_INTERFACES = (
    ("storage", StorageBase),
    ("permission", PermissionBase),
    ("cache", CacheBase),
)


class MetricsService(abc.ABC):
    """What a metrics plugin implements.

    Calls happen on the request path: implementations must be cheap and
    must never raise because a metrics sink is unavailable.
    """

    @abc.abstractmethod
    def count(self, name: str, value: int = 1, labels: Labels = ()) -> None:
        """Increment the counter ``name`` by ``value``."""

    @abc.abstractmethod
    def timing(self, name: str, seconds: float, labels: Labels = ()) -> None:
        """Record a duration, in seconds, in the histogram/timer ``name``."""

    @abc.abstractmethod
    def observe(self, name: str, value: float, labels: Labels = ()) -> None:
        """Record a measured value (e.g. a size) under ``name``."""

    def timer(self, name: str, labels: Labels = ()) -> Recorder:
        """Return ``record(seconds)`` for a duration metric whose labels are
        known in advance. Services may resolve the labelled series once
        here; the default defers to :meth:`timing`."""
        labels = tuple(labels)

        def record(seconds: float) -> None:
            self.timing(name, seconds, labels)

        return record


class NoOpMetrics(MetricsService):
    """The service of an application without metrics plugin."""

    def count(self, name: str, value: int = 1, labels: Labels = ()) -> None:
        pass

    def timing(self, name: str, seconds: float, labels: Labels = ()) -> None:
        pass

    def observe(self, name: str, value: float, labels: Labels = ()) -> None:
        pass

    def timer(self, name: str, labels: Labels = ()) -> Recorder:
        return _ignore


def _ignore(seconds: float) -> None:
    pass


NOOP = NoOpMetrics()


class MultiMetrics(MetricsService):
    """Sends every measure to each of several services."""

    def __init__(self, services: Sequence[MetricsService]):
        self.services = tuple(services)

    def count(self, name: str, value: int = 1, labels: Labels = ()) -> None:
        for service in self.services:
            service.count(name, value, labels)

    def timing(self, name: str, seconds: float, labels: Labels = ()) -> None:
        for service in self.services:
            service.timing(name, seconds, labels)

    def observe(self, name: str, value: float, labels: Labels = ()) -> None:
        for service in self.services:
            service.observe(name, value, labels)

    def timer(self, name: str, labels: Labels = ()) -> Recorder:
        recorders = tuple(service.timer(name, labels) for service in self.services)

        def record(seconds: float) -> None:
            for recorder in recorders:
                recorder(seconds)

        return record


# Registration ----------------------------------------------------------------------


def add_metrics_service(config, service: MetricsService) -> None:
    """Enable metrics on the application with ``service`` (called by
    metrics plugins from their ``includeme``). The first call installs the
    request tween and schedules the instrumentation of backends,
    authentication policies and listeners for when the application is
    created."""
    registry = config.registry
    services = getattr(registry, "metrics_services", None)
    if services is None:
        services = registry.metrics_services = []
        config.add_tween("kinto.core.metrics.metrics_tween_factory", over=RESPONSE_TWEEN)
        config.add_subscriber(_instrument_application, ApplicationCreated)
    services.append(service)


def get_metrics(registry) -> MetricsService:
    """The application's metrics service (:data:`NOOP` without plugin)."""
    service = getattr(registry, "metrics", None)
    if service is not None:
        return service
    services = getattr(registry, "metrics_services", None)
    if not services:
        return NOOP
    service = services[0] if len(services) == 1 else MultiMetrics(services)
    registry.metrics = service
    return service


def timed(registry, name: str, func: Callable, labels: Labels = ()) -> Callable:
    """Wrap ``func`` so that its duration is recorded as ``name`` when the
    application has a metrics service (looked up at call time, so plugins
    may wrap their subscribers whatever the ``includes`` order). E.g. the
    history plugin times its listener as ``plugins_history_seconds``."""
    labels = tuple(labels)
    perf_counter = time.perf_counter

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        service = get_metrics(registry)
        if service is NOOP:
            return func(*args, **kwargs)
        start = perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            service.timing(name, perf_counter() - start, labels)

    return wrapper


# Instrumentation at start-up ----------------------------------------------------------


def watch(func: Callable, record: Recorder) -> Callable:
    """Return ``func`` wrapped to pass its duration in seconds to ``record``
    (also when it raises)."""
    perf_counter = time.perf_counter

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            record(perf_counter() - start)

    return wrapper


def public_methods(interface: type) -> list[str]:
    """Names of the public methods declared by a backend interface."""
    return sorted(
        name
        for name in dir(interface)
        if not name.startswith("_") and callable(getattr(interface, name))
    )


def instrument_backend(service: MetricsService, kind: str, backend: Any, interface: type) -> None:
    """Time every public method of ``interface`` on the ``backend``
    instance as ``backend_<kind>_seconds`` (label ``method``)."""
    metric = f"backend_{kind}_seconds"
    for name in public_methods(interface):
        method = getattr(backend, name, None)
        if method is None:
            continue
        setattr(backend, name, watch(method, service.timer(metric, (("method", name),))))


def count_cache_lookups(service: MetricsService, cache: Any) -> None:
    """Count ``cache_hits`` / ``cache_misses`` on the cache's ``get``."""
    get = cache.get

    @functools.wraps(get)
    def counted_get(key: str) -> Any:
        value = get(key)
        service.count("cache_misses" if value is None else "cache_hits")
        return value

    cache.get = counted_get


def instrument_application(registry, service: MetricsService) -> None:
    """Wrap backends, authentication policies and configured listeners
    (see module doc). Runs once per registry."""
    if getattr(registry, "metrics_instrumented", False):
        return
    registry.metrics_instrumented = True
    for kind, interface in BACKEND_INTERFACES:
        backend = getattr(registry, kind, None)
        if backend is None:
            continue
        if kind == "cache":
            count_cache_lookups(service, backend)
        instrument_backend(service, kind, backend, interface)
    for policy in getattr(registry, "authentication_policies", ()):
        record = service.timer(
            f"authentication_{policy.name}_seconds", (("method", "authenticate"),)
        )
        policy.authenticate = watch(policy.authenticate, record)
    for subscriber in getattr(registry, "configured_listeners", ()):
        record = service.timer(f"listeners_{subscriber.name}_seconds")
        subscriber.listener = watch(subscriber.listener, record)
    for attribute, metric in PLUGIN_LISTENERS:
        subscriber = getattr(registry, attribute, None)
        if subscriber is not None:
            subscriber.listener = watch(subscriber.listener, service.timer(metric))


def _instrument_application(event) -> None:
    registry = event.app.registry
    instrument_application(registry, get_metrics(registry))


# Request metrics ---------------------------------------------------------------------


def matchdict_labels(endpoint: str, matchdict: dict) -> dict[str, str]:
    """The matchdict as label values; the ``id`` of an object endpoint named
    ``<resource>-object`` also counts as ``<resource>_id`` (so that
    ``/buckets/{id}`` fills ``bucket_id``)."""
    values = {key: str(value) for key, value in matchdict.items()}
    object_id = values.get("id")
    if object_id is not None and endpoint.endswith("-object"):
        values.setdefault(endpoint[: -len("-object")] + "_id", object_id)
    return values


def metrics_tween_factory(handler, registry):
    """Measure each request (see module doc)."""
    service = get_metrics(registry)
    fields = tuple(aslist(registry.settings.get("metrics_matchdict_fields") or ""))
    empty_fields = tuple((field, "") for field in fields)
    perf_counter = time.perf_counter

    def metrics_tween(request):
        start = perf_counter()
        status = 500
        response = None
        try:
            response = handler(request)
            status = response.status_code
            return response
        finally:
            duration = perf_counter() - start
            route = getattr(request, "matched_route", None)
            endpoint = route.name if route is not None else "unknown"
            labels: tuple[tuple[str, str], ...] = (
                ("method", request.method.lower()),
                ("endpoint", endpoint),
            )
            if fields:
                matchdict = request.matchdict if status < 400 else None
                if matchdict:
                    values = matchdict_labels(endpoint, matchdict)
                    labels += tuple((field, values.get(field, "")) for field in fields)
                else:
                    labels += empty_fields
            service.timing("request_duration_seconds", duration, labels)
            if response is not None:
                service.observe("request_size", response.content_length or 0, labels)
            service.count("request_summary", 1, (*labels, ("status", str(status))))

            identity = request.environ.get(IDENTITY_ENVIRON_KEY)
            if identity is not None and identity.userid is not None:
                service.count("authentication", 1, (("type", identity.authn_type or ""),))
                auth, _, userid = identity.userid.partition(":")
                service.count("users", 1, (("auth", auth), ("userid", userid.replace(":", "."))))

    return metrics_tween
