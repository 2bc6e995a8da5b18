"""Pages of lists kept in process with the stamp of the list they were read
at: its version (see
:mod:`kinto.core.storage.migrations.versions.storage_0002_list_versions`)
and its timestamp.

A page is only valid for the stamp it was read at: the storage sends the
stamp it holds with its next read of the same page, and the database sends
the page again only if the list's stamp is another one. So the cache never
answers alone, and a page is never served after its list changed,
whichever process changed it.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from typing import Any


class PageCache:
    """At most ``max_entries`` pages holding at most ``max_chars`` characters
    of JSON in all; the oldest entry goes first. Pages are kept as given
    (tuples of immutable objects are best); :meth:`get` returns them as
    kept. Safe to share between threads."""

    def __init__(self, max_entries: int = 256, max_chars: int = 32 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._entries: dict[Hashable, tuple[Hashable, Sequence[Any], int]] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[Hashable, Sequence[Any]] | None:
        """``(stamp, page)`` kept for ``key``, or None."""
        entry = self._entries.get(key)
        return None if entry is None else entry[:2]

    def put(self, key: Hashable, stamp: Hashable, page: Sequence[Any], chars: int) -> None:
        """Keep ``page`` (``chars`` characters of JSON) read at ``stamp``;
        a page larger than an eighth of the budget is not kept."""
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._chars -= previous[2]
            if chars > self.max_chars // 8:
                return
            self._entries[key] = (stamp, page, chars)
            self._chars += chars
            while len(self._entries) > self.max_entries or self._chars > self.max_chars:
                oldest = next(iter(self._entries))
                self._chars -= self._entries.pop(oldest)[2]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._chars = 0

    def __len__(self) -> int:
        return len(self._entries)
