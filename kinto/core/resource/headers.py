"""Timestamp response headers: ``ETag`` and ``Last-Modified`` (querying.md §7.1)."""

from __future__ import annotations

from email.utils import formatdate
from functools import lru_cache


def etag(timestamp: int) -> str:
    """``"<timestamp>"``: a decimal integer in double quotes, never weak."""
    return f'"{timestamp}"'


def http_date(timestamp: int) -> str:
    """HTTP date of an epoch-milliseconds timestamp (second precision)."""
    return _http_date_of_second(timestamp // 1000)


@lru_cache(maxsize=1024)
def _http_date_of_second(seconds: int) -> str:
    # Formatting costs more than the rest of the header handling; the
    # timestamps of one list repeat, and recent seconds repeat a lot.
    return formatdate(seconds, usegmt=True)


def set_timestamp(response, timestamp: int) -> None:
    """Set ``ETag`` and ``Last-Modified`` of ``response`` to ``timestamp``."""
    response.headers["ETag"] = etag(timestamp)
    response.headers["Last-Modified"] = http_date(timestamp)
