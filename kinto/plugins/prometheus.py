"""Prometheus metrics (plugins.md §8): ``GET /v1/__metrics__``.

Settings:

* ``prometheus_prefix``: prefix of every metric name (default: the
  ``project_name``); cleaned (``-``, ``.`` and spaces become ``_``, outer
  underscores dropped, lower-cased) and followed by ``_``, e.g. ``kinto_``;
* ``prometheus_disabled_metrics``: names (without prefix) never reported;
* ``prometheus_histogram_buckets``: upper bounds of every histogram
  (default ``0.01 0.05 0.1 0.5 1.0 3.0 6.0 Inf``);
* ``prometheus_created_metrics_enabled``: whether ``*_created`` samples
  are exported (default true);
* environment ``PROMETHEUS_MULTIPROC_DIR``: multi-process mode, where the
  endpoint aggregates the files every worker writes in that directory
  (``204`` if the directory vanished). The variable must be set before the
  process starts.

Each application has its own collector registry, so several applications
may live in one process.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

import prometheus_client
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Summary,
    generate_latest,
)
from pyramid.exceptions import ConfigurationError
from pyramid.response import Response
from pyramid.settings import asbool, aslist

from kinto.core.metrics import Labels, MetricsService, Recorder, add_metrics_service
from kinto.core.services import Service

DEFAULT_BUCKETS = "0.01 0.05 0.1 0.5 1.0 3.0 6.0 Inf"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_:]")


def clean_prefix(value: str) -> str:
    """``"Kinto-Dist"`` → ``"kintodist_"``; empty stays empty."""
    cleaned = re.sub(r"[-. ]", "_", value or "").strip("_").lower()
    return f"{cleaned}_" if cleaned else ""


def metric_name(name: str) -> str:
    """A valid Prometheus name: other characters become ``_``."""
    return _INVALID_NAME_CHARS.sub("_", name)


def parse_buckets(value: Any) -> tuple[float, ...]:
    """Parse ``prometheus_histogram_buckets`` into sorted bounds."""
    if isinstance(value, str):
        raw = aslist(value)
    elif isinstance(value, int | float):  # a single bound, coerced by the settings loader
        raw = [value]
    else:
        raw = list(value)
    try:
        bounds = tuple(sorted(float(bound) for bound in raw))
    except (TypeError, ValueError) as e:
        raise ConfigurationError(f"Setting 'prometheus_histogram_buckets': {e}") from e
    if not bounds:
        raise ConfigurationError("Setting 'prometheus_histogram_buckets' is empty.")
    return bounds


class _Disabled:
    """Stands for a disabled metric (and for its labelled children)."""

    def labels(self, *values: str) -> _Disabled:
        return self

    def inc(self, value: float = 1) -> None:
        pass

    def observe(self, value: float) -> None:
        pass


_DISABLED = _Disabled()


class PrometheusService(MetricsService):
    """Reports into a ``prometheus_client`` registry. Metrics are created on
    first use with the label names of that first call."""

    def __init__(
        self,
        prefix: str = "",
        disabled: frozenset[str] = frozenset(),
        buckets: tuple[float, ...] = (),
    ):
        self.prefix = prefix
        self.disabled = disabled
        self.buckets = buckets or parse_buckets(DEFAULT_BUCKETS)
        self.registry = CollectorRegistry(auto_describe=True)
        self._metrics: dict[str, Any] = {}
        self._series_cache: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def _get(self, kind: type, name: str, labels: Labels) -> Any:
        metric = self._metrics.get(name)
        if metric is not None:
            return metric
        with self._lock:
            metric = self._metrics.get(name)
            if metric is None:
                metric = self._create(kind, name, labels)
                self._metrics[name] = metric
        return metric

    def _create(self, kind: type, name: str, labels: Labels) -> Any:
        if name in self.disabled or (self.prefix + name) in self.disabled:
            return _DISABLED
        options: dict[str, Any] = {
            "labelnames": [metric_name(label) for label, _ in labels],
            "registry": self.registry,
        }
        if kind is Histogram:
            options["buckets"] = self.buckets
        full_name = metric_name(self.prefix + name)
        return kind(full_name, f"{name} ({kind.__name__.lower()})", **options)

    def _series(self, kind: type, name: str, labels: Labels) -> Any:
        """The series of ``name`` for these label values, resolved once per
        distinct labels (``prometheus_client``'s own lookup is costlier)."""
        key = (name, labels if isinstance(labels, tuple) else tuple(labels))
        series = self._series_cache.get(key)
        if series is None:
            metric = self._get(kind, name, labels)
            series = metric.labels(*[value for _, value in labels]) if labels else metric
            self._series_cache[key] = series
        return series

    def count(self, name: str, value: int = 1, labels: Labels = ()) -> None:
        self._series(Counter, name, labels).inc(value)

    def timing(self, name: str, seconds: float, labels: Labels = ()) -> None:
        self._series(Histogram, name, labels).observe(seconds)

    def observe(self, name: str, value: float, labels: Labels = ()) -> None:
        self._series(Summary, name, labels).observe(value)

    def timer(self, name: str, labels: Labels = ()) -> Recorder:
        return self._series(Histogram, name, labels).observe

    def exposition_registry(self) -> CollectorRegistry | None:
        """The registry to expose: this service's, or in multi-process mode
        one aggregating the workers' files (None if the directory is gone)."""
        directory = os.environ.get(MULTIPROC_ENV)
        if not directory:
            return self.registry
        if not os.path.isdir(directory):
            return None
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        return registry


def metrics_view(request):
    service: PrometheusService = request.registry.prometheus
    registry = service.exposition_registry()
    if registry is None:
        return Response(status=204)
    response = Response(body=generate_latest(registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def service_from_settings(settings: dict) -> PrometheusService:
    prefix_setting = settings.get("prometheus_prefix")
    if prefix_setting is None:
        prefix_setting = settings.get("project_name") or ""
    disabled = frozenset(aslist(settings.get("prometheus_disabled_metrics") or ""))
    buckets = parse_buckets(settings.get("prometheus_histogram_buckets") or DEFAULT_BUCKETS)
    return PrometheusService(clean_prefix(str(prefix_setting)), disabled, buckets)


def includeme(config) -> None:
    """Serve ``/__metrics__`` and report the application's metrics."""
    settings = config.registry.settings
    created = settings.get("prometheus_created_metrics_enabled")
    if created is None or asbool(created):
        prometheus_client.enable_created_metrics()
    else:
        prometheus_client.disable_created_metrics()

    service = service_from_settings(settings)
    config.registry.prometheus = service
    add_metrics_service(config, service)

    config.add_api_capability(
        "prometheus",
        description="Prometheus metrics.",
        url="https://github.com/Kinto/kinto/",
        prefix=service.prefix,
        disabled_metrics=sorted(service.disabled),
    )
    metrics = Service(name="metrics", path="/__metrics__", description="Prometheus metrics")
    metrics.add_view("GET", metrics_view)
    config.add_cornice_service(metrics)
