"""Conformance suite for cache backends.

Every backend's test module subclasses :class:`CacheSuite` and names its
module; the tests talk to the backend only through
:class:`kinto.core.cache.CacheBase`::

    from kinto.core.cache import memory
    from kinto.core.cache.testing import CacheSuite

    class TestMemoryCache(CacheSuite):
        backend = memory
        settings = {"cache_prefix": "test:"}

A backend needing a server puts its URL in ``settings``. Two caches built
with different ``cache_prefix`` values must not see each other's keys, even
when they share one store (same Redis database, same table).

Only :meth:`CacheSuite.test_keys_expire_after_their_ttl` waits (about 1.2
seconds, once): every other test uses long TTLs.
"""

from __future__ import annotations

import time
import types
from typing import Any, ClassVar

import pytest
from pyramid.config import Configurator

from kinto.core.cache import CacheBase

#: Values of every JSON type, including the falsy ones that must not be
#: mistaken for a missing key.
JSON_VALUES = [
    {"a": 1, "nested": {"list": [1, "two", 3.5, True, None], "empty": {}}},
    [1, "two", {"three": 3}],
    [],
    {},
    'text with ünïcode, "quotes" and / slashes',
    "",
    0,
    -42,
    2**53,
    3.25,
    True,
    False,
]


class CacheSuite:
    """Behaviour every cache backend must have. Not collected by itself (no
    ``Test`` prefix): subclass it and set :attr:`backend`."""

    #: The backend module, exposing ``load_from_config(config)``.
    backend: ClassVar[types.ModuleType]
    #: Settings given to ``load_from_config`` (without ``kinto.`` prefix).
    settings: ClassVar[dict[str, Any]] = {}

    def create_cache(self, **overrides: Any) -> CacheBase:
        """Build the backend from :attr:`settings` plus ``overrides``, as the
        app would."""
        config = Configurator(settings={**self.settings, **overrides})
        return self.backend.load_from_config(config)

    @pytest.fixture
    def cache(self):
        backend = self.create_cache()
        backend.initialize_schema()
        backend.flush()
        yield backend
        backend.flush()

    # Backend.

    def test_is_a_cache_backend(self, cache):
        assert isinstance(cache, CacheBase)

    def test_heartbeat_reports_a_working_backend(self, cache):
        assert cache.heartbeat() is True

    def test_initialize_schema_can_run_twice(self, cache):
        cache.initialize_schema()
        cache.initialize_schema(dry_run=True)
        cache.set("key", "value", 60)
        assert cache.get("key") == "value"

    # Set and get.

    def test_absent_key_is_none(self, cache):
        assert cache.get("absent") is None

    @pytest.mark.parametrize("value", JSON_VALUES, ids=repr)
    def test_json_values_round_trip(self, cache, value):
        cache.set("key", value, 60)
        result = cache.get("key")
        assert result == value
        assert type(result) is type(value)

    def test_tuples_come_back_as_lists(self, cache):
        cache.set("key", (1, 2), 60)
        assert cache.get("key") == [1, 2]

    def test_set_overwrites_the_previous_value(self, cache):
        cache.set("key", {"old": True}, 60)
        cache.set("key", "new", 60)
        assert cache.get("key") == "new"

    def test_keys_are_independent(self, cache):
        cache.set("one", 1, 60)
        cache.set("two", 2, 60)
        assert (cache.get("one"), cache.get("two")) == (1, 2)

    def test_keys_may_contain_any_character(self, cache):
        keys = ["with space", "colon:and/slash", "ünïcode", "quote'\"", "*", "%_"]
        for n, key in enumerate(keys):
            cache.set(key, n, 60)
        assert [cache.get(key) for key in keys] == list(range(len(keys)))
        assert cache.get("%") is None

    def test_large_values_round_trip(self, cache):
        value = {"records": [{"id": f"r{n}", "title": "x" * 100} for n in range(200)]}
        cache.set("big", value, 60)
        assert cache.get("big") == value

    def test_mutating_a_value_after_set_changes_nothing(self, cache):
        value = {"list": [1]}
        cache.set("key", value, 60)
        value["list"].append(2)
        assert cache.get("key") == {"list": [1]}

    def test_mutating_a_returned_value_changes_nothing(self, cache):
        cache.set("key", {"list": [1]}, 60)
        cache.get("key")["list"].append(2)
        assert cache.get("key") == {"list": [1]}

    # Delete.

    def test_delete_returns_the_former_value(self, cache):
        cache.set("key", {"a": [1, 2]}, 60)
        assert cache.delete("key") == {"a": [1, 2]}
        assert cache.get("key") is None

    def test_delete_of_an_absent_key_returns_none(self, cache):
        assert cache.delete("absent") is None

    def test_delete_leaves_other_keys(self, cache):
        cache.set("one", 1, 60)
        cache.set("two", 2, 60)
        cache.delete("one")
        assert cache.get("two") == 2

    def test_deleted_key_can_be_set_again(self, cache):
        cache.set("key", 1, 60)
        cache.delete("key")
        cache.set("key", 2, 60)
        assert cache.get("key") == 2

    def test_delete_of_a_falsy_value_returns_it(self, cache):
        cache.set("key", 0, 60)
        assert cache.delete("key") == 0
        assert cache.ttl("key") == -1

    # TTL and expire.

    def test_ttl_of_an_absent_key_is_minus_one(self, cache):
        assert cache.ttl("absent") == -1

    def test_ttl_is_the_whole_seconds_left(self, cache):
        cache.set("key", "value", 100)
        ttl = cache.ttl("key")
        assert isinstance(ttl, int)
        assert 90 <= ttl <= 100

    def test_set_resets_the_ttl(self, cache):
        cache.set("key", "value", 10)
        cache.set("key", "value", 1000)
        assert cache.ttl("key") > 900

    def test_expire_sets_a_new_ttl(self, cache):
        cache.set("key", "value", 10)
        cache.expire("key", 1000)
        assert cache.ttl("key") > 900
        cache.expire("key", 50)
        assert 40 <= cache.ttl("key") <= 50
        assert cache.get("key") == "value"

    def test_expire_of_an_absent_key_does_not_create_it(self, cache):
        cache.expire("absent", 100)
        assert cache.get("absent") is None
        assert cache.ttl("absent") == -1

    def test_ttl_of_a_deleted_key_is_minus_one(self, cache):
        cache.set("key", "value", 100)
        cache.delete("key")
        assert cache.ttl("key") == -1

    def test_keys_expire_after_their_ttl(self, cache):
        cache.set("short", "value", 1)
        cache.set("shortened", "value", 100)
        cache.expire("shortened", 1)
        cache.set("long", "value", 100)
        cache.set("deleted-late", "value", 1)
        cache.set("reset", "value", 1)
        time.sleep(1.2)
        cache.set("reset", "again", 100)
        assert cache.get("short") is None
        assert cache.ttl("short") == -1
        assert cache.get("shortened") is None
        assert cache.delete("deleted-late") is None
        assert cache.get("long") == "value"
        assert cache.get("reset") == "again"
        cache.expire("short", 100)
        assert cache.get("short") is None

    # Flush and prefixes.

    def test_flush_removes_every_key(self, cache):
        cache.set("one", 1, 60)
        cache.set("two", [2], 60)
        cache.flush()
        assert cache.get("one") is None
        assert cache.get("two") is None
        assert cache.ttl("one") == -1

    def test_cache_is_usable_after_flush(self, cache):
        cache.set("key", 1, 60)
        cache.flush()
        cache.set("key", 2, 60)
        assert cache.get("key") == 2

    def test_caches_with_different_prefixes_do_not_see_each_other(self, cache):
        first = self.create_cache(cache_prefix="first:")
        second = self.create_cache(cache_prefix="second:")
        first.set("key", "first", 60)
        second.set("key", "second", 60)
        assert first.get("key") == "first"
        assert second.get("key") == "second"
        assert second.delete("key") == "second"
        assert first.get("key") == "first"
        assert second.ttl("key") == -1
        second.expire("key", 1000)
        assert second.get("key") is None
        first.delete("key")
