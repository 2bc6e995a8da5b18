"""The Redis cache backend: the conformance suite against a real server on
127.0.0.1:6379, plus what is specific to Redis (prefix-scoped flush, errors,
settings).

Every test process (xdist worker, or concurrent test run) works under its
own key prefix in database 0, so that they never flush each other's keys;
only the test of an unprefixed flush empties a database, number 15, where
nothing else is kept. The tests fail when the server is down and ``CI`` is
set; elsewhere they skip.
"""

import os

import pytest
import redis as redis_py
from pyramid.config import Configurator

from kinto.core.cache import redis
from kinto.core.cache.testing import CacheSuite
from kinto.core.storage import BackendError

HOST, PORT = "127.0.0.1", 6379
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
WORKER_PREFIX = f"kinto-test-{WORKER}-{os.getpid()}:"
#: Emptied by the unprefixed flush test (harmless if runs overlap there).
SCRATCH_DATABASE = 15
URL = f"redis://{HOST}:{PORT}/0"


_unreachable: list[str] = []


def _require_redis():
    if not _unreachable:
        client = redis_py.Redis(host=HOST, port=PORT, socket_connect_timeout=2, retry=None)
        try:
            client.ping()
            _unreachable.append("")
        except redis_py.RedisError as error:
            _unreachable.append(f"Redis is not reachable on {HOST}:{PORT}: {error}")
        finally:
            client.close()
    if _unreachable[0]:
        if os.environ.get("CI"):
            pytest.fail(_unreachable[0])
        pytest.skip(_unreachable[0])


@pytest.fixture(scope="module", autouse=True)
def _redis_server():
    _require_redis()


def make_cache(**settings):
    return redis.load_from_config(Configurator(settings={"cache_url": URL, **settings}))


class TestRedisCache(CacheSuite):
    backend = redis
    settings = {"cache_url": URL, "cache_prefix": WORKER_PREFIX}

    def create_cache(self, **overrides):
        # Keep the suite's prefixes ("first:", "second:") inside this
        # worker's own prefix.
        prefix = WORKER_PREFIX + overrides.pop("cache_prefix", "")
        return super().create_cache(cache_prefix=prefix, **overrides)


@pytest.fixture
def cache():
    backend = make_cache(cache_prefix=WORKER_PREFIX + "specific:")
    backend.flush()
    yield backend
    backend.flush()


# Flush.


def test_flush_with_a_prefix_leaves_keys_of_other_prefixes(cache):
    neighbour = make_cache(cache_prefix=WORKER_PREFIX + "neighbour:")
    neighbour.set("key", "kept", 60)
    cache.set("key", "dropped", 60)
    cache.flush()
    assert cache.get("key") is None
    assert neighbour.get("key") == "kept"
    neighbour.flush()


def test_flush_of_a_prefix_with_glob_characters_takes_it_literally(cache):
    odd = make_cache(cache_prefix=WORKER_PREFIX + "specific:[a]*?")
    lookalike = make_cache(cache_prefix=WORKER_PREFIX + "specific:a-lookalike")
    odd.set("key", 1, 60)
    lookalike.set("key", 2, 60)
    odd.flush()
    assert odd.get("key") is None
    assert lookalike.get("key") == 2


def test_flush_deletes_more_keys_than_one_batch(cache):
    pipe = cache._client.pipeline(transaction=False)
    for n in range(1234):
        pipe.set(f"{cache.prefix}k{n}", b"1", px=60_000)
    pipe.execute()
    cache.flush()
    assert not list(cache._client.scan_iter(match=cache.prefix + "*"))


def test_flush_without_a_prefix_empties_the_database():
    url = f"redis://{HOST}:{PORT}/{SCRATCH_DATABASE}"
    unprefixed = make_cache(cache_url=url)
    prefixed = make_cache(cache_url=url, cache_prefix="other:")
    prefixed.set("key", 1, 60)
    unprefixed.set("key", 2, 60)
    unprefixed.flush()
    assert prefixed.get("key") is None
    assert unprefixed.get("key") is None


# Storage format and TTL details.


def test_values_are_stored_as_json_with_an_expiry(cache):
    cache.set("key", {"a": [1, None]}, 100)
    raw_key = cache.prefix + "key"
    assert cache._client.get(raw_key) == b'{"a":[1,null]}'
    assert 99_000 < cache._client.pttl(raw_key) <= 100_000


def test_ttl_rounds_down(cache):
    cache.set("key", "value", 1.9)
    assert cache.ttl("key") == 1


def test_zero_ttl_removes_the_key(cache):
    cache.set("key", "old", 60)
    cache.set("key", "new", 0)
    assert cache.get("key") is None
    cache.set("other", "value", 60)
    cache.expire("other", 0)
    assert cache.get("other") is None


def test_unserialisable_value_raises_and_keeps_the_old_value(cache):
    cache.set("key", "old", 60)
    with pytest.raises(TypeError):
        cache.set("key", object(), 60)
    assert cache.get("key") == "old"


# Errors.


@pytest.fixture
def unreachable():
    # Nothing listens on port 1; fail fast.
    return make_cache(cache_url="redis://127.0.0.1:1/0?socket_connect_timeout=1")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get("key"),
        lambda c: c.set("key", 1, 60),
        lambda c: c.delete("key"),
        lambda c: c.ttl("key"),
        lambda c: c.expire("key", 60),
        lambda c: c.flush(),
    ],
    ids=["get", "set", "delete", "ttl", "expire", "flush"],
)
def test_unreachable_server_raises_backend_error(unreachable, call):
    with pytest.raises(BackendError) as info:
        call(unreachable)
    assert isinstance(info.value.original, redis_py.ConnectionError)


def test_heartbeat_of_an_unreachable_server_is_false(unreachable):
    assert unreachable.heartbeat() is False


def test_exhausted_pool_raises_backend_error_after_the_timeout():
    busy = make_cache(cache_pool_size=1, cache_pool_timeout=0.05)
    held = busy._client.connection_pool.get_connection()
    try:
        with pytest.raises(BackendError):
            busy.get("key")
    finally:
        busy._client.connection_pool.release(held)
    assert busy.get("key") is None


# Settings.


def test_settings_configure_the_pool_and_prefix():
    backend = make_cache(
        cache_url="redis://127.0.0.1:6379/3", cache_prefix="p:", cache_pool_size="7"
    )
    pool = backend._client.connection_pool
    assert backend.prefix == "p:"
    assert pool.max_connections == 7
    assert pool.timeout == redis.DEFAULT_POOL_TIMEOUT
    assert pool.connection_kwargs["db"] == 3


def test_defaults_point_at_the_local_server():
    backend = redis.load_from_config(Configurator(settings={}))
    pool = backend._client.connection_pool
    assert backend.prefix == ""
    assert pool.max_connections == redis.DEFAULT_POOL_SIZE
    assert (pool.connection_kwargs["host"], pool.connection_kwargs["port"]) == ("localhost", 6379)
