"""Timestamp response headers: ``ETag`` and ``Last-Modified`` (querying.md §7.1)."""

from __future__ import annotations

from email.utils import formatdate


def etag(timestamp: int) -> str:
    """``"<timestamp>"``: a decimal integer in double quotes, never weak."""
    return f'"{timestamp}"'


def http_date(timestamp: int) -> str:
    """HTTP date of an epoch-milliseconds timestamp (second precision)."""
    return formatdate(timestamp / 1000.0, usegmt=True)


def set_timestamp(response, timestamp: int) -> None:
    """Set ``ETag`` and ``Last-Modified`` of ``response`` to ``timestamp``."""
    response.headers["ETag"] = etag(timestamp)
    response.headers["Last-Modified"] = http_date(timestamp)
