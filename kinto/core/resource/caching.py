"""Client cache headers on ``GET`` responses (querying.md §9)."""

from __future__ import annotations

import time
from email.utils import formatdate

NO_CACHE = "no-cache, no-store"
_EXPIRED = "max-age=0, must-revalidate, no-cache, no-store"


def set_cache_headers(request, response, cache_expires: int | None) -> None:
    """Set ``Cache-Control`` (and ``Expires``/``Pragma``) on ``response``.

    Authenticated callers never get cacheable responses. For anonymous ones,
    ``cache_expires`` (seconds, ``None`` when nothing is configured) becomes
    ``max-age``; ``0`` means explicitly not cacheable.
    """
    headers = response.headers
    if cache_expires is None or request.prefixed_userid is not None:
        headers["Cache-Control"] = NO_CACHE
        return
    now = time.time()
    headers["Expires"] = formatdate(now + cache_expires, usegmt=True)
    if cache_expires > 0:
        headers["Cache-Control"] = f"max-age={cache_expires}"
    else:
        headers["Cache-Control"] = _EXPIRED
        headers["Pragma"] = "no-cache"


def setting_seconds(settings: dict, *names: str) -> int | None:
    """The first of the ``names`` settings holding an integer, or None."""
    for name in names:
        value = settings.get(name)
        if value is None or value == "":
            continue
        try:
            return int(value)
        except (TypeError, ValueError):
            continue
    return None
