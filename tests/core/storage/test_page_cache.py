"""The in-process cache of list pages (each kept with its list version)."""

from kinto.core.storage.page_cache import PageCache


def test_a_page_is_given_back_with_its_version():
    cache = PageCache()
    cache.put("k", 7, ("a", "b"), chars=2)
    assert cache.get("k") == (7, ("a", "b"))
    assert cache.get("other") is None


def test_a_page_put_again_replaces_the_one_kept():
    cache = PageCache()
    cache.put("k", 7, ("a",), chars=1)
    cache.put("k", 8, ("b",), chars=1)
    assert cache.get("k") == (8, ("b",))
    assert len(cache) == 1


def test_the_oldest_page_goes_first_beyond_the_number_of_entries():
    cache = PageCache(max_entries=2)
    for n in range(3):
        cache.put(n, n, (), chars=0)
    assert [cache.get(n) is not None for n in range(3)] == [False, True, True]


def test_the_oldest_pages_go_first_beyond_the_characters():
    cache = PageCache(max_chars=80)
    for n in range(3):
        cache.put(n, n, ("x" * 10,), chars=10)
    cache.put(3, 3, ("y" * 10,), chars=10)
    assert len(cache) == 4
    for n in range(4, 9):
        cache.put(n, n, (), chars=10)
    assert cache.get(0) is None
    assert cache.get(8) is not None


def test_a_page_larger_than_an_eighth_of_the_budget_is_not_kept():
    cache = PageCache(max_chars=80)
    cache.put("small", 1, (), chars=10)
    cache.put("large", 1, (), chars=11)
    assert cache.get("small") is not None
    assert cache.get("large") is None


def test_clear_forgets_every_page():
    cache = PageCache()
    cache.put("k", 1, (), chars=1)
    cache.clear()
    assert len(cache) == 0
