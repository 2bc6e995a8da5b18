"""StatsD metrics (plugins.md §8): the measures of :mod:`kinto.core.metrics`
sent over UDP to ``statsd_url`` (``udp://host:port``).

Keys are ``<prefix>.<metric>``, where the prefix is ``project_name`` (or
``statsd_prefix`` when the project name is empty). Durations are StatsD
timers in milliseconds and observed values are gauges, both with their
labels flattened into the key (``<key>.<label>.<value>...``). Counters
without labels are increments; counters with labels are StatsD sets whose
member is the flattened labels (so the server counts distinct users,
endpoints...).
"""

from __future__ import annotations

import logging
import re
import socket
import weakref
from urllib.parse import urlsplit

from pyramid.exceptions import ConfigurationError

from kinto.core.metrics import Labels, MetricsService, add_metrics_service

logger = logging.getLogger(__name__)

# Characters with a meaning in the StatsD line protocol, and whitespace.
_UNSAFE = re.compile(r"[:|@#\s]")


def sanitize(value: str) -> str:
    return _UNSAFE.sub("_", value)


def flatten(labels: Labels) -> str:
    """``[("method", "get"), ("status", "200")]`` → ``method.get.status.200``."""
    return ".".join(f"{sanitize(name)}.{sanitize(value)}" for name, value in labels)


class StatsDClient:
    """Fire-and-forget UDP sender of StatsD lines. A send that fails (no
    route, full buffer) is dropped: metrics never break a request."""

    def __init__(self, host: str, port: int, prefix: str = ""):
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self.address = address
        self.socket = socket.socket(family, socket.SOCK_DGRAM)
        self.socket.setblocking(False)
        # The socket lives as long as the client (i.e. the application).
        self._finalizer = weakref.finalize(self, self.socket.close)
        self.prefix = f"{sanitize(prefix)}." if prefix else ""

    def send(self, key: str, value: str, kind: str) -> None:
        line = f"{self.prefix}{key}:{value}|{kind}"
        try:
            self.socket.sendto(line.encode("utf-8"), self.address)
        except OSError as e:
            logger.debug("StatsD packet dropped: %s", e)

    def close(self) -> None:
        self._finalizer()


class StatsDService(MetricsService):
    def __init__(self, client: StatsDClient):
        self.client = client

    @staticmethod
    def _key(name: str, labels: Labels) -> str:
        key = sanitize(name)
        return f"{key}.{flatten(labels)}" if labels else key

    def count(self, name: str, value: int = 1, labels: Labels = ()) -> None:
        if labels:
            self.client.send(sanitize(name), flatten(labels), "s")
        else:
            self.client.send(sanitize(name), str(value), "c")

    def timing(self, name: str, seconds: float, labels: Labels = ()) -> None:
        self.client.send(self._key(name, labels), f"{seconds * 1000:.3f}", "ms")

    def observe(self, name: str, value: float, labels: Labels = ()) -> None:
        number = int(value) if float(value).is_integer() else value
        self.client.send(self._key(name, labels), str(number), "g")

    def timer(self, name: str, labels: Labels = ()):
        key = self._key(name, labels)
        send = self.client.send

        def record(seconds: float) -> None:
            send(key, f"{seconds * 1000:.3f}", "ms")

        return record


def parse_url(url: str) -> tuple[str, int]:
    """``udp://host:port`` → ``(host, port)``."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "udp" or not parts.hostname or port is None:
        raise ConfigurationError(f"Setting 'statsd_url': expected udp://host:port, got {url!r}.")
    return parts.hostname, port


def key_prefix(settings: dict) -> str:
    """``project_name``, or ``statsd_prefix`` when the name is empty."""
    return settings.get("project_name") or settings.get("statsd_prefix") or ""


def includeme(config) -> None:
    """Send the application's metrics to ``statsd_url`` (required)."""
    settings = config.registry.settings
    url = settings.get("statsd_url")
    if not url:
        raise ConfigurationError("The statsd plugin requires the 'statsd_url' setting.")
    host, port = parse_url(str(url))
    service = StatsDService(StatsDClient(host, port, key_prefix(settings)))
    config.registry.statsd = service
    add_metrics_service(config, service)
