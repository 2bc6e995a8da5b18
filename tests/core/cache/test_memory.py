import threading

from pyramid.config import Configurator

from kinto.core import jsonutil
from kinto.core.cache import memory
from kinto.core.cache.testing import CacheSuite


class TestMemoryCache(CacheSuite):
    backend = memory
    settings = {"cache_prefix": "test:", "cache_max_size_bytes": 524288}


class Clock:
    """A clock that moves only when told to."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def weight(key, value, prefix=""):
    return len(prefix + key) + len(jsonutil.dumps(value))


VALUE = "x" * 20  # each entry below weighs weight("a", VALUE) == 23 bytes


def cache_for(entries, clock=None, prefix=""):
    """A cache with room for exactly ``entries`` entries like ``("a", VALUE)``."""
    cap = entries * weight("a", VALUE, prefix)
    return memory.Cache(prefix=prefix, max_size_bytes=cap, clock=clock or Clock())


def present(cache, keys):
    return [key for key in keys if cache.get(key) is not None]


# Configuration.


def test_load_from_config_reads_prefix_and_size():
    config = Configurator(settings={"cache_prefix": "p:", "cache_max_size_bytes": 1000})
    cache = memory.load_from_config(config)
    assert (cache.prefix, cache.max_size_bytes) == ("p:", 1000)


def test_load_from_config_defaults_to_half_a_megabyte_and_no_prefix():
    cache = memory.load_from_config(Configurator(settings={}))
    assert (cache.prefix, cache.max_size_bytes) == ("", 524288)


def test_zero_max_size_means_no_cap():
    cache = memory.load_from_config(Configurator(settings={"cache_max_size_bytes": 0}))
    assert cache.max_size_bytes is None
    big = "x" * 1_000_000
    cache.set("big", big, 60)
    assert cache.get("big") == big


def test_values_that_are_not_json_are_refused():
    cache = memory.Cache()
    try:
        cache.set("key", object(), 60)
    except TypeError:
        pass
    else:
        raise AssertionError("set() accepted a value JSON cannot represent")
    assert cache.get("key") is None


# Time-to-live, with a clock under test control.


def test_ttl_rounds_the_seconds_left_down():
    clock = Clock()
    cache = memory.Cache(clock=clock)
    cache.set("key", "value", 10)
    assert cache.ttl("key") == 10
    clock.now += 0.5
    assert cache.ttl("key") == 9
    clock.now += 9
    assert cache.ttl("key") == 0
    assert cache.get("key") == "value"


def test_key_is_absent_once_its_ttl_is_reached():
    clock = Clock()
    cache = memory.Cache(clock=clock)
    cache.set("key", "value", 10)
    clock.now += 10
    assert cache.get("key") is None
    assert cache.ttl("key") == -1
    assert cache.delete("key") is None


def test_zero_or_negative_ttl_stores_an_absent_key():
    cache = memory.Cache(clock=Clock())
    cache.set("zero", "value", 0)
    cache.set("negative", "value", -5)
    assert present(cache, ["zero", "negative"]) == []


def test_expire_to_zero_removes_the_key():
    cache = memory.Cache(clock=Clock())
    cache.set("key", "value", 100)
    cache.expire("key", 0)
    assert cache.get("key") is None


def test_expired_key_cannot_be_revived_by_expire():
    clock = Clock()
    cache = memory.Cache(clock=clock)
    cache.set("key", "value", 1)
    clock.now += 2
    cache.expire("key", 100)
    assert cache.get("key") is None


def test_fractional_ttls_are_honoured():
    clock = Clock()
    cache = memory.Cache(clock=clock)
    cache.set("key", "value", 1.5)
    clock.now += 1.4
    assert cache.get("key") == "value"
    clock.now += 0.1
    assert cache.get("key") is None


# Size cap and eviction.


def test_entries_fitting_the_cap_are_all_kept():
    cache = cache_for(3)
    for key in "abc":
        cache.set(key, VALUE, 60)
    assert present(cache, "abc") == list("abc")


def test_entry_closest_to_expiry_is_evicted_first():
    cache = cache_for(3)
    cache.set("a", VALUE, 100)
    cache.set("b", VALUE, 10)
    cache.set("c", VALUE, 50)
    cache.set("d", VALUE, 100)
    assert present(cache, "abcd") == list("acd")
    cache.set("e", VALUE, 100)
    assert present(cache, "abcde") == list("ade")


def test_oldest_entry_goes_first_among_equal_expiries():
    cache = cache_for(3)
    for key in "abcd":
        cache.set(key, VALUE, 60)
    assert present(cache, "abcd") == list("bcd")


def test_rewriting_a_key_makes_it_the_newest():
    cache = cache_for(2)
    cache.set("a", VALUE, 60)
    cache.set("b", VALUE, 60)
    cache.set("a", VALUE, 60)
    cache.set("c", VALUE, 60)
    assert present(cache, "abc") == list("ac")


def test_expire_keeps_the_age_of_an_entry():
    cache = cache_for(2)
    cache.set("a", VALUE, 60)
    cache.set("b", VALUE, 60)
    cache.expire("a", 60)
    cache.set("c", VALUE, 60)
    assert present(cache, "abc") == list("bc")


def test_the_new_entry_itself_may_be_evicted_when_closest_to_expiry():
    cache = cache_for(2)
    cache.set("a", VALUE, 100)
    cache.set("b", VALUE, 100)
    cache.set("c", VALUE, 1)
    assert present(cache, "abc") == list("ab")


def test_expired_entries_make_room_before_live_ones_are_evicted():
    clock = Clock()
    cache = cache_for(2, clock)
    cache.set("old", VALUE, 5)
    cache.set("a", VALUE, 100)
    clock.now += 10
    cache.set("b", VALUE, 100)
    assert present(cache, ["old", "a", "b"]) == ["a", "b"]


def test_expire_moves_an_entry_in_the_eviction_order():
    cache = cache_for(2)
    cache.set("a", VALUE, 100)
    cache.set("b", VALUE, 100)
    cache.expire("a", 1000)
    cache.set("c", VALUE, 500)
    assert present(cache, "abc") == list("ac")


def test_large_entries_evict_as_many_entries_as_needed():
    cache = cache_for(4)
    for key in "abcd":
        cache.set(key, VALUE, 60)
    big = "y" * (3 * weight("a", VALUE) - weight("big", "") - 2)
    cache.set("big", big, 600)
    assert present(cache, ["a", "b", "c", "d", "big"]) == ["d", "big"]


def test_value_heavier_than_the_cap_is_not_stored_and_drops_the_old_one():
    cache = cache_for(2)
    cache.set("a", VALUE, 60)
    cache.set("b", VALUE, 60)
    cache.set("a", "z" * 100, 60)
    assert cache.get("a") is None
    assert cache.get("b") == VALUE


def test_prefix_counts_in_the_weight_of_an_entry():
    cache = cache_for(2, prefix="pre:")
    for key in "abc":
        cache.set(key, VALUE, 60)
    assert present(cache, "abc") == list("bc")


def test_deleted_overwritten_and_flushed_entries_free_their_space():
    cache = cache_for(3)
    cache.set("a", VALUE, 60)
    for _ in range(5):
        cache.set("b", VALUE, 60)
    cache.delete("a")
    cache.set("c", VALUE, 60)
    cache.set("d", VALUE, 60)
    assert present(cache, "abcd") == list("bcd")
    cache.flush()
    for key in "xyz":
        cache.set(key, VALUE, 60)
    assert present(cache, "xyz") == list("xyz")


def test_eviction_order_survives_many_rewrites_of_the_same_keys():
    cache = cache_for(3)
    for round_ in range(500):
        cache.set("a", VALUE, 1000 + round_)
        cache.expire("b", 10)
        cache.set("b", VALUE, 10 + round_)
    cache.set("c", VALUE, 2000)
    cache.set("d", VALUE, 2000)
    assert present(cache, "abcd") == list("acd")


# Threads.


def test_concurrent_writers_all_land_and_sizes_stay_exact():
    workers, per_worker = 8, 100
    keys = [f"{w}:{n:02}" for w in range(workers) for n in range(per_worker)]
    slack = workers * weight("gone:0:00", VALUE)  # one transient entry per thread
    cache = memory.Cache(max_size_bytes=len(keys) * weight("0:00", VALUE) + slack, clock=Clock())

    def write(worker):
        for n in range(per_worker):
            cache.set(f"{worker}:{n:02}", VALUE, 60)
            cache.set(f"gone:{worker}:{n:02}", VALUE, 60)
            cache.delete(f"gone:{worker}:{n:02}")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(cache.get(key) == VALUE for key in keys)
    # Exactly ``slack`` bytes are free: filling them evicts nothing...
    filler = "f" * (slack - weight("filler", ""))
    cache.set("filler", filler, 60)
    assert len(present(cache, keys)) == len(keys)
    # ...and one more entry evicts exactly one.
    cache.set("e:xx", VALUE, 60)
    assert len(present(cache, keys)) == len(keys) - 1
    assert cache.get("filler") == filler
