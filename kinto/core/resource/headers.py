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
    replace(response, [("ETag", etag(timestamp)), ("Last-Modified", http_date(timestamp))])


def replace(response, headers: list[tuple[str, str]]) -> None:
    """Set ``headers`` (name, value) on ``response``, replacing those of the
    same names, in one pass over its header list."""
    names = {name.lower() for name, _ in headers}
    headerlist = response.headerlist
    headerlist[:] = [header for header in headerlist if header[0].lower() not in names]
    headerlist.extend(headers)
