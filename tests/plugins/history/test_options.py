"""Reading the ``history.*`` settings."""

import pytest
from pyramid.exceptions import ConfigurationError

from kinto.plugins.history.options import HistoryOptions, describe_uri


def test_defaults():
    options = HistoryOptions.from_settings({})
    assert options.excluded_resources == ()
    assert options.excluded_user_ids == frozenset()
    assert (options.trim_max_count, options.trim_threshold) == (-1, 100)
    assert not options.trims
    assert options.explicit_permissions
    assert options.capability() == {}


def test_values_may_be_strings_or_already_coerced():
    options = HistoryOptions.from_settings(
        {
            "history.exclude_resources": "/buckets/a/\n/buckets/b/collections/c",
            "history.exclude_user_ids": ["account:x", 12],
            "history.auto_trim_max_count": 5,
            "history.auto_trim_threshold": "0",
            "explicit_permissions": "false",
        }
    )
    assert options.excluded_resources == ("/buckets/a", "/buckets/b/collections/c")
    assert options.excluded_user_ids == {"account:x", "12"}
    assert (options.trim_max_count, options.trim_threshold) == (5, 0)
    assert not options.explicit_permissions


@pytest.mark.parametrize("name", ["auto_trim_max_count", "auto_trim_threshold"])
def test_integers_are_checked_at_start_up(name):
    with pytest.raises(ConfigurationError, match=f"history.{name}"):
        HistoryOptions.from_settings({f"history.{name}": "many"})


def test_exclusion_covers_the_object_and_what_is_under_it_only():
    options = HistoryOptions.from_settings({"history.exclude_resources": "/buckets/a"})
    assert options.is_excluded("/buckets/a")
    assert options.is_excluded("/buckets/a/collections/c/records/r")
    assert not options.is_excluded("/buckets/ab")
    assert not options.is_excluded("/buckets/b")


def test_describe_uri():
    assert describe_uri("/buckets/b/groups/g") == {"bucket": "b", "group": "g"}
