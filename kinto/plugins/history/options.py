"""The history settings (plugins.md §3), read once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool, aslist

PREFIX = "history."
DEFAULTS: dict[str, Any] = {
    "exclude_resources": "",
    "exclude_user_ids": "",
    "auto_trim_max_count": -1,
    "auto_trim_user_ids": "",
    "auto_trim_threshold": 100,
}
#: URI plural segment → key in the capability's ``excluded_resources``.
_SEGMENT_KEYS = {
    "buckets": "bucket",
    "collections": "collection",
    "groups": "group",
    "records": "record",
}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return aslist(value)
    return [str(item) for item in value]


@dataclass(frozen=True)
class HistoryOptions:
    """``excluded_resources``: object URIs not tracked (nor anything under
    them); ``excluded_user_ids``: users whose changes are not tracked;
    ``trim_max_count`` (> 0 to trim), ``trim_user_ids`` (empty: trim
    everybody's entries together) and ``trim_threshold``: see
    :meth:`kinto.plugins.history.listener.HistoryRecorder.trim`."""

    excluded_resources: tuple[str, ...] = ()
    excluded_user_ids: frozenset[str] = frozenset()
    trim_max_count: int = -1
    trim_user_ids: frozenset[str] = frozenset()
    trim_threshold: int = 100
    explicit_permissions: bool = True
    _excluded_exact: frozenset[str] = field(init=False, repr=False, compare=False)
    _excluded_prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: dict) -> HistoryOptions:
        def setting(name: str) -> Any:
            value = settings.get(PREFIX + name)
            return DEFAULTS[name] if value is None or value == "" else value

        def integer(name: str) -> int:
            try:
                return int(setting(name))
            except (TypeError, ValueError):
                raise ConfigurationError(
                    f"Setting '{PREFIX}{name}' should be an integer."
                ) from None

        return cls(
            excluded_resources=tuple(
                uri.rstrip("/") for uri in _as_list(setting("exclude_resources"))
            ),
            excluded_user_ids=frozenset(_as_list(setting("exclude_user_ids"))),
            trim_max_count=integer("auto_trim_max_count"),
            trim_user_ids=frozenset(_as_list(setting("auto_trim_user_ids"))),
            trim_threshold=integer("auto_trim_threshold"),
            explicit_permissions=asbool(settings.get("explicit_permissions", True)),
        )

    def __post_init__(self) -> None:
        # Precomputed for :meth:`is_excluded` (called for every change).
        prefixes = tuple(f"{uri}/" for uri in self.excluded_resources)
        object.__setattr__(self, "_excluded_exact", frozenset(self.excluded_resources))
        object.__setattr__(self, "_excluded_prefixes", prefixes)

    @property
    def trims(self) -> bool:
        return self.trim_max_count > 0

    def is_excluded(self, uri: str) -> bool:
        """True when ``uri`` is an excluded object or lies under one."""
        return uri in self._excluded_exact or uri.startswith(self._excluded_prefixes)

    def capability(self) -> dict[str, Any]:
        """Extra fields of the hello ``history`` capability."""
        extra: dict[str, Any] = {}
        if self.trims:
            extra["auto_trim_max_count"] = self.trim_max_count
            extra["auto_trim_user_ids"] = sorted(self.trim_user_ids)
        if self.excluded_resources:
            extra["excluded_resources"] = [describe_uri(uri) for uri in self.excluded_resources]
        return extra


def describe_uri(uri: str) -> dict[str, str]:
    """``/buckets/b/collections/c`` → ``{"bucket": "b", "collection": "c"}``."""
    segments = uri.strip("/").split("/")
    return {
        _SEGMENT_KEYS.get(segments[i], segments[i]): segments[i + 1]
        for i in range(0, len(segments) - 1, 2)
    }
