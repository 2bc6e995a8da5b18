"""Listing, counting, filtering, sorting and paginating."""

from __future__ import annotations

from typing import Any

import pytest

from kinto.core import jsonutil
from kinto.core.storage import (
    MISSING,
    Filter,
    ObjectNotFoundError,
    Sort,
)
from kinto.core.storage.testing.base import (
    CONTAINS,
    CONTAINS_ANY,
    EQ,
    EXCLUDE,
    GT,
    HAS,
    IN,
    LIKE,
    LT,
    MAX,
    MIN,
    NOT,
    TYPED_VALUES,
    BaseStorageTest,
    ids,
)


class ListTests(BaseStorageTest):
    def test_list_of_an_unknown_list_is_empty(self, storage):
        assert storage.list_all(self.resource_name, "/parents/none") == []

    def test_list_returns_the_live_objects_of_the_list(self, storage):
        a = self.create(storage, id="a", title="x")
        b = self.create(storage, id="b", title="y")
        self.create(storage, parent_id="/parents/other", id="c")
        storage.create("other", self.parent_id, {"id": "d"})
        listed = storage.list_all(self.resource_name, self.parent_id, sorting=[Sort("id", 1)])
        assert listed == [a, b]

    def test_list_excludes_tombstones_by_default(self, storage):
        self.create(storage, id="a")
        self.create(storage, id="b")
        storage.delete(self.resource_name, self.parent_id, "a")
        assert self.list_ids(storage) == ["b"]

    def test_list_includes_tombstones_when_asked(self, storage):
        self.create(storage, id="a")
        b = self.create(storage, id="b")
        tombstone = storage.delete(self.resource_name, self.parent_id, "a")
        listed = storage.list_all(
            self.resource_name,
            self.parent_id,
            sorting=[Sort("id", 1)],
            include_deleted=True,
        )
        assert listed == [tombstone, b]

    def test_list_returns_at_most_limit_objects(self, storage):
        for i in range(5):
            self.create(storage, id=str(i))
        sorting = [Sort("id", 1)]
        assert self.list_ids(storage, sorting=sorting, limit=2) == ["0", "1"]

    def test_list_with_limit_zero_returns_nothing(self, storage):
        self.create(storage)
        assert self.list_ids(storage, limit=0) == []

    def test_list_with_limit_larger_than_the_list_returns_everything(self, storage):
        self.create(storage)
        assert len(self.list_ids(storage, limit=10)) == 1

    def test_limit_applies_after_sorting(self, storage):
        for n in (5, 1, 4, 2, 3):
            self.create(storage, id=str(n), n=n)
        assert self.list_ids(storage, sorting=[Sort("n", -1)], limit=2) == ["5", "4"]

    def test_changing_listed_objects_does_not_change_the_stored_objects(self, storage):
        self.create(storage, id="a", tags=["x"])
        storage.list_all(self.resource_name, self.parent_id)[0]["tags"].append("y")
        assert storage.get(self.resource_name, self.parent_id, "a")["tags"] == ["x"]

    def test_parent_id_ending_with_star_lists_every_parent_with_that_prefix(self, storage):
        self.create(storage, parent_id="/buckets/b/collections/c1", id="a")
        self.create(storage, parent_id="/buckets/b/collections/c2", id="b")
        self.create(storage, parent_id="/buckets/bb/collections/c1", id="c")
        self.create(storage, parent_id="/buckets/other/collections/c1", id="d")
        listed = self.list_ids(
            storage, parent_id="/buckets/b/*", sorting=[Sort("id", 1)], include_deleted=True
        )
        assert listed == ["a", "b"]

    def test_parent_id_prefix_matches_only_the_given_resource_name(self, storage):
        self.create(storage, parent_id="/buckets/b/collections/c", id="a")
        storage.create("other", "/buckets/b/collections/c", {"id": "b"})
        assert self.list_ids(storage, parent_id="/buckets/b/*") == ["a"]

    def test_parent_id_prefix_alone_matches_every_parent(self, storage):
        self.create(storage, parent_id="", id="a")
        self.create(storage, parent_id="/x", id="b")
        assert self.list_ids(storage, parent_id="*", sorting=[Sort("id", 1)]) == ["a", "b"]


class JSONListTests(BaseStorageTest):
    """``list_all_json``: ``None``, or exactly what ``list_all`` returns, as
    JSON text."""

    ODD_OBJECTS = [
        {"id": "empty"},
        {"id": "nested", "a": {"b": [1, {"c": None}], "d": ""}, "e": [], "f": {}},
        {"id": "unicode", "title": 'é\u2028ü \U0001f600 "quoted" back\\slash'},
        {"id": "numbers", "big": 2**70, "negative": -(2**65), "float": 1.5, "zero": 0},
        {"id": "\u00e9t\u00e9", "flag": False},
    ]

    def assert_same_listing(self, storage, **kwargs) -> None:
        listed = storage.list_all(self.resource_name, self.parent_id, **kwargs)
        raw = storage.list_all_json(self.resource_name, self.parent_id, **kwargs)
        if raw is None:
            return  # the backend holds no JSON text: callers use list_all
        assert [obj.load() for obj in raw] == listed
        assert [(obj.id, obj.last_modified) for obj in raw] == [
            (obj["id"], obj["last_modified"]) for obj in listed
        ]
        for obj in raw:
            assert jsonutil.loads(obj.json) == obj.load()

    def test_json_listing_is_the_listing(self, storage):
        for fields in self.ODD_OBJECTS:
            self.create(storage, **fields)
        self.assert_same_listing(storage)
        self.assert_same_listing(storage, sorting=[Sort("id", 1)], limit=3)

    def test_json_listing_keeps_filters_and_tombstones(self, storage):
        for index in range(6):
            self.create(storage, id=f"o{index}", n=index)
        storage.delete(self.resource_name, self.parent_id, "o1")
        self.assert_same_listing(storage, include_deleted=True, sorting=[Sort("n", -1)])
        self.assert_same_listing(storage, filters=[Filter("n", 2, GT)])
        self.assert_same_listing(
            storage,
            sorting=[Sort("last_modified", -1)],
            pagination_rules=[[Filter("n", 4, LT)]],
            limit=2,
        )

    def test_json_listing_of_nothing_is_empty_or_none(self, storage):
        raw = storage.list_all_json(self.resource_name, "/parents/none")
        assert raw in (None, [])
        self.create(storage, id="a")
        assert storage.list_all_json(self.resource_name, self.parent_id, limit=0) in (None, [])


class GetWithListPageTests(BaseStorageTest):
    """``get_with_list_page``: the parent object and its list timestamp as
    ``get_with_list_timestamp`` gives them, and the page exactly as
    ``list_all_json`` gives it."""

    PARENT = ("parent", "/parents", "p")

    def read_with_page(self, storage, **page) -> tuple[dict, int, list | None]:
        return storage.get_with_list_page(*self.PARENT, self.resource_name, self.parent_id, **page)

    def assert_same_page(self, storage, **page) -> None:
        parent, timestamp, raw = self.read_with_page(storage, **page)
        expected_parent, expected_timestamp = storage.get_with_list_timestamp(
            *self.PARENT, self.resource_name, self.parent_id
        )
        assert (parent, timestamp) == (expected_parent, expected_timestamp)
        expected = storage.list_all_json(self.resource_name, self.parent_id, **page)
        if raw is None or expected is None:
            assert raw is None and expected is None
        else:
            assert raw == expected

    def fill(self, storage) -> None:
        storage.create(*self.PARENT[:2], {"id": self.PARENT[2], "title": "the parent"})
        for index in range(12):
            self.create(storage, id=f"o{index:02}", n=index % 5, tag=f"t{index % 3}")
        storage.delete(self.resource_name, self.parent_id, "o03")

    def test_gives_the_parent_its_list_timestamp_and_the_page(self, storage):
        self.fill(storage)
        self.assert_same_page(storage)
        self.assert_same_page(storage, limit=4)

    def test_page_keeps_filters_sorts_rules_and_tombstones(self, storage):
        self.fill(storage)
        self.assert_same_page(storage, sorting=[Sort("n", -1), Sort("id", 1)], limit=7)
        self.assert_same_page(storage, filters=[Filter("tag", "t1", EQ)], sorting=[Sort("n", 1)])
        self.assert_same_page(storage, filters=[Filter("id", ["o01", "o05", "o09"], IN)])
        self.assert_same_page(
            storage,
            sorting=[Sort("last_modified", -1)],
            pagination_rules=[[Filter("n", 3, LT)], [Filter("n", 4, EQ)]],
            include_deleted=True,
            limit=5,
        )

    def test_page_of_an_empty_list_or_of_no_object_is_empty_or_none(self, storage):
        storage.create(*self.PARENT[:2], {"id": self.PARENT[2]})
        assert self.read_with_page(storage)[2] in (None, [])
        self.create(storage, id="a")
        assert self.read_with_page(storage, limit=0)[2] in (None, [])

    def test_missing_or_deleted_parent_raises_not_found(self, storage):
        self.fill(storage)
        with pytest.raises(ObjectNotFoundError):
            storage.get_with_list_page("parent", "/parents", "unknown", self.resource_name, "/x")
        storage.delete(*self.PARENT)
        with pytest.raises(ObjectNotFoundError):
            self.read_with_page(storage)


class CountTests(BaseStorageTest):
    def test_count_of_an_unknown_list_is_zero(self, storage):
        assert storage.count_all(self.resource_name, "/parents/none") == 0

    def test_count_counts_live_objects_of_the_list(self, storage):
        self.create(storage)
        self.create(storage)
        self.create(storage, parent_id="/parents/other")
        assert storage.count_all(self.resource_name, self.parent_id) == 2

    def test_count_never_counts_tombstones(self, storage):
        self.create(storage, id="a")
        self.create(storage, id="b")
        storage.delete(self.resource_name, self.parent_id, "a")
        assert storage.count_all(self.resource_name, self.parent_id) == 1
        deleted = [Filter("deleted", True, EQ)]
        assert storage.count_all(self.resource_name, self.parent_id, filters=deleted) == 0

    def test_count_applies_filters(self, storage):
        for n in range(5):
            self.create(storage, n=n)
        filters = [Filter("n", 2, MIN)]
        assert storage.count_all(self.resource_name, self.parent_id, filters=filters) == 3

    def test_count_with_parent_prefix_counts_every_matching_parent(self, storage):
        self.create(storage, parent_id="/a/1")
        self.create(storage, parent_id="/a/2")
        self.create(storage, parent_id="/b/1")
        assert storage.count_all(self.resource_name, "/a/*") == 2


class FilterTests(BaseStorageTest):
    @pytest.fixture
    def typed(self, storage):
        self.store_typed_values(storage, TYPED_VALUES)
        return storage

    def test_eq_matches_equal_values(self, storage):
        self.store_typed_values(storage, {"a": "x", "b": "y", "c": 1})
        assert self.matching(storage, Filter("v", "x", EQ)) == {"a"}
        assert self.matching(storage, Filter("v", 1, EQ)) == {"c"}

    def test_eq_never_matches_a_missing_field(self, typed):
        assert self.matching(typed, Filter("v", None, EQ)) == {"null"}

    def test_eq_distinguishes_numbers_from_strings(self, storage):
        self.store_typed_values(storage, {"number": 2, "string": "2"})
        assert self.matching(storage, Filter("v", 2, EQ)) == {"number"}
        assert self.matching(storage, Filter("v", "2", EQ)) == {"string"}

    def test_eq_distinguishes_booleans_from_numbers(self, storage):
        self.store_typed_values(storage, {"one": 1, "true": True, "zero": 0, "false": False})
        assert self.matching(storage, Filter("v", True, EQ)) == {"true"}
        assert self.matching(storage, Filter("v", 1, EQ)) == {"one"}
        assert self.matching(storage, Filter("v", False, EQ)) == {"false"}

    def test_eq_compares_numbers_by_value(self, storage):
        self.store_typed_values(storage, {"int": 1, "float": 1.0, "other": 1.5})
        assert self.matching(storage, Filter("v", 1, EQ)) == {"int", "float"}

    def test_eq_matches_arrays_exactly(self, storage):
        self.store_typed_values(storage, {"a": [1, 2], "b": [2, 1], "c": [1, 2, 3]})
        assert self.matching(storage, Filter("v", [1, 2], EQ)) == {"a"}

    def test_eq_matches_objects_whatever_the_key_order(self, storage):
        self.store_typed_values(storage, {"a": {"x": 1, "y": 2}, "b": {"x": 1}})
        assert self.matching(storage, Filter("v", {"y": 2, "x": 1}, EQ)) == {"a"}

    def test_not_matches_different_values_and_missing_fields(self, typed):
        expected = set(TYPED_VALUES) - {"number"}
        assert self.matching(typed, Filter("v", 3, NOT)) == expected

    def test_not_null_matches_missing_fields(self, typed):
        expected = set(TYPED_VALUES) - {"null"}
        assert self.matching(typed, Filter("v", None, NOT)) == expected

    def test_lt_follows_jsonb_type_order_and_excludes_missing(self, typed):
        assert self.matching(typed, Filter("v", 3, LT)) == {"null", "string"}

    def test_max_follows_jsonb_type_order_and_excludes_missing(self, typed):
        assert self.matching(typed, Filter("v", 3, MAX)) == {"null", "string", "number"}

    def test_gt_follows_jsonb_type_order_and_includes_missing(self, typed):
        expected = {"false", "true", "array", "object", "missing"}
        assert self.matching(typed, Filter("v", 3, GT)) == expected

    def test_min_follows_jsonb_type_order_and_includes_missing(self, typed):
        expected = {"number", "false", "true", "array", "object", "missing"}
        assert self.matching(typed, Filter("v", 3, MIN)) == expected

    def test_comparisons_on_strings_use_string_order(self, storage):
        self.store_typed_values(storage, {"a": "apple", "b": "banana", "c": "cherry"})
        assert self.matching(storage, Filter("v", "banana", LT)) == {"a"}
        assert self.matching(storage, Filter("v", "banana", MIN)) == {"b", "c"}

    def test_comparisons_on_numbers_are_numeric(self, storage):
        self.store_typed_values(storage, {"two": 2, "ten": 10, "half": 0.5})
        assert self.matching(storage, Filter("v", 2, GT)) == {"ten"}
        assert self.matching(storage, Filter("v", 2, MAX)) == {"two", "half"}

    def test_comparisons_on_booleans_put_false_before_true(self, storage):
        self.store_typed_values(storage, {"false": False, "true": True})
        assert self.matching(storage, Filter("v", False, GT)) == {"true"}
        assert self.matching(storage, Filter("v", True, LT)) == {"false"}

    def test_gt_a_string_matches_every_number(self, typed):
        expected = set(TYPED_VALUES) - {"null", "string"}
        assert self.matching(typed, Filter("v", "zzz", GT)) == expected

    def test_in_matches_listed_values(self, typed):
        assert self.matching(typed, Filter("v", [3, "abc"], IN)) == {"number", "string"}

    def test_in_with_null_matches_null_but_not_missing(self, typed):
        assert self.matching(typed, Filter("v", [None], IN)) == {"null"}

    def test_in_with_an_empty_list_matches_nothing(self, typed):
        assert self.matching(typed, Filter("v", [], IN)) == set()

    def test_in_distinguishes_booleans_from_numbers(self, storage):
        self.store_typed_values(storage, {"one": 1, "true": True})
        assert self.matching(storage, Filter("v", [1], IN)) == {"one"}

    def test_in_matches_arrays_and_objects_by_equality(self, typed):
        assert self.matching(typed, Filter("v", [[1], {"a": 1}], IN)) == {"array", "object"}

    def test_exclude_matches_unlisted_values_and_missing_fields(self, typed):
        expected = set(TYPED_VALUES) - {"number", "string"}
        assert self.matching(typed, Filter("v", [3, "abc"], EXCLUDE)) == expected

    def test_exclude_with_an_empty_list_matches_everything(self, typed):
        assert self.matching(typed, Filter("v", [], EXCLUDE)) == set(TYPED_VALUES)

    def test_like_is_case_insensitive(self, storage):
        self.store_typed_values(storage, {"a": "Hello World", "b": "hello", "c": "bye"})
        assert self.matching(storage, Filter("v", "*HELLO*", LIKE)) == {"a", "b"}

    def test_like_without_wildcard_matches_the_whole_text(self, storage):
        self.store_typed_values(storage, {"a": "Hello World", "b": "hello"})
        assert self.matching(storage, Filter("v", "hello", LIKE)) == {"b"}

    def test_like_star_matches_any_run_of_characters(self, storage):
        values = {"a": "abc", "b": "aXYZc", "c": "ac", "d": "abcd", "e": "xabc"}
        self.store_typed_values(storage, values)
        assert self.matching(storage, Filter("v", "a*c", LIKE)) == {"a", "b", "c"}
        assert self.matching(storage, Filter("v", "*c", LIKE)) == {"a", "b", "c", "e"}
        assert self.matching(storage, Filter("v", "a*", LIKE)) == {"a", "b", "c", "d"}

    def test_like_treats_other_characters_literally(self, storage):
        values = {"a": "a_c", "b": "abc", "c": "a%c", "d": "a.c", "e": "a[c"}
        self.store_typed_values(storage, values)
        assert self.matching(storage, Filter("v", "a_c", LIKE)) == {"a"}
        assert self.matching(storage, Filter("v", "a%c", LIKE)) == {"c"}
        assert self.matching(storage, Filter("v", "a.c", LIKE)) == {"d"}
        assert self.matching(storage, Filter("v", "a[c", LIKE)) == {"e"}

    def test_like_matches_across_lines(self, storage):
        self.store_typed_values(storage, {"a": "first\nsecond"})
        assert self.matching(storage, Filter("v", "*second", LIKE)) == {"a"}

    def test_like_never_matches_null_or_missing_fields(self, typed):
        assert self.matching(typed, Filter("v", "*", LIKE)) == set(TYPED_VALUES) - {
            "null",
            "missing",
        }

    def test_like_matches_the_text_form_of_numbers(self, storage):
        self.store_typed_values(storage, {"a": 1234, "b": 56})
        assert self.matching(storage, Filter("v", "*23*", LIKE)) == {"a"}

    def test_has_true_matches_present_fields_including_null(self, typed):
        expected = set(TYPED_VALUES) - {"missing"}
        assert self.matching(typed, Filter("v", True, HAS)) == expected

    def test_has_false_matches_missing_fields(self, typed):
        assert self.matching(typed, Filter("v", False, HAS)) == {"missing"}

    def test_contains_matches_arrays_holding_every_value(self, storage):
        values = {"a": ["x", "y", "z"], "b": ["x"], "c": ["y", "z"], "d": []}
        self.store_typed_values(storage, values)
        assert self.matching(storage, Filter("v", ["x", "y"], CONTAINS)) == {"a"}
        assert self.matching(storage, Filter("v", ["x"], CONTAINS)) == {"a", "b"}

    def test_contains_compares_items_as_json(self, storage):
        values = {"a": [{"k": 1}, 2], "b": [{"k": 1, "j": 2}], "c": [True], "d": ["2"]}
        self.store_typed_values(storage, values)
        assert self.matching(storage, Filter("v", [{"k": 1}], CONTAINS)) == {"a"}
        assert self.matching(storage, Filter("v", [1], CONTAINS)) == set()
        assert self.matching(storage, Filter("v", [2], CONTAINS)) == {"a"}

    def test_contains_never_matches_non_arrays(self, typed):
        typed.create(self.resource_name, self.parent_id, {"id": "text", "v": "abc"})
        assert self.matching(typed, Filter("v", ["abc"], CONTAINS)) == set()
        assert self.matching(typed, Filter("v", [1], CONTAINS)) == {"array"}

    def test_contains_any_matches_arrays_holding_one_of_the_values(self, storage):
        values = {"a": ["x", "y"], "b": ["z"], "c": [], "d": "x"}
        self.store_typed_values(storage, values)
        assert self.matching(storage, Filter("v", ["x", "z"], CONTAINS_ANY)) == {"a", "b"}
        assert self.matching(storage, Filter("v", ["w"], CONTAINS_ANY)) == set()

    def test_contains_any_never_matches_missing_fields(self, typed):
        assert self.matching(typed, Filter("v", [1], CONTAINS_ANY)) == {"array"}

    def test_dotted_fields_filter_on_nested_values(self, storage):
        self.create(storage, id="a", meta={"lang": "fr", "deep": {"n": 1}})
        self.create(storage, id="b", meta={"lang": "en", "deep": {"n": 2}})
        self.create(storage, id="c", meta="fr")
        self.create(storage, id="d")
        assert self.matching(storage, Filter("meta.lang", "fr", EQ)) == {"a"}
        assert self.matching(storage, Filter("meta.deep.n", 1, GT)) == {"b", "c", "d"}
        assert self.matching(storage, Filter("meta.lang", False, HAS)) == {"c", "d"}

    def test_a_dot_in_a_filter_field_always_means_nesting(self, storage):
        self.create(storage, id="a", **{"meta.lang": "fr"})
        self.create(storage, id="b", meta={"lang": "fr"})
        assert self.matching(storage, Filter("meta.lang", "fr", EQ)) == {"b"}

    def test_filters_are_combined_with_and(self, storage):
        self.create(storage, id="a", n=1, t="x")
        self.create(storage, id="b", n=2, t="x")
        self.create(storage, id="c", n=2, t="y")
        assert self.matching(storage, Filter("n", 2, EQ), Filter("t", "x", EQ)) == {"b"}

    def test_id_compares_as_a_string(self, storage):
        for object_id in ("1", "2", "10"):
            self.create(storage, id=object_id)
        assert self.matching(storage, Filter("id", 2, EQ)) == {"2"}
        assert self.matching(storage, Filter("id", "10", EQ)) == {"10"}
        assert self.matching(storage, Filter("id", "2", LT)) == {"1", "10"}
        assert self.matching(storage, Filter("id", ["1", "2"], IN)) == {"1", "2"}

    def test_last_modified_compares_as_an_integer(self, storage):
        a = self.create(storage, id="a")
        b = self.create(storage, id="b")
        c = self.create(storage, id="c")
        assert self.matching(storage, Filter("last_modified", a["last_modified"], GT)) == {
            "b",
            "c",
        }
        assert self.matching(storage, Filter("last_modified", c["last_modified"], LT)) == {
            "a",
            "b",
        }
        stamps = [a["last_modified"], c["last_modified"]]
        assert self.matching(storage, Filter("last_modified", stamps, IN)) == {"a", "c"}
        assert self.matching(storage, Filter("last_modified", b["last_modified"], EQ)) == {"b"}

    def test_last_modified_beyond_64_bits_compares_as_a_number(self, storage):
        self.create(storage, id="a")
        huge = 10**30
        assert self.matching(storage, Filter("last_modified", huge, LT)) == {"a"}
        assert self.matching(storage, Filter("last_modified", huge, GT)) == set()
        assert self.matching(storage, Filter("last_modified", -huge, MIN)) == {"a"}
        assert self.matching(storage, Filter("last_modified", huge, EQ)) == set()
        assert self.matching(storage, Filter("last_modified", [huge], IN)) == set()
        assert self.matching(storage, Filter("last_modified", [huge], EXCLUDE)) == {"a"}

    def test_numbers_beyond_64_bits_compare_with_json_numbers(self, storage):
        self.store_typed_values(storage, {"small": 1, "text": "x"})
        huge = 10**30
        assert self.matching(storage, Filter("v", huge, LT)) == {"small", "text"}
        assert self.matching(storage, Filter("v", huge, EQ)) == set()
        assert self.matching(storage, Filter("v", [1, huge], IN)) == {"small"}
        assert self.matching(storage, Filter("v", -huge, GT)) == {"small"}

    def test_queries_of_the_same_form_use_their_own_values(self, storage):
        self.store_typed_values(storage, {"a": "x", "b": "y", "c": [1, 2], "d": [3]})
        assert self.matching(storage, Filter("v", "x", EQ)) == {"a"}
        assert self.matching(storage, Filter("v", "y", EQ)) == {"b"}
        assert self.matching(storage, Filter("v", ["x"], IN)) == {"a"}
        assert self.matching(storage, Filter("v", ["y", "z"], IN)) == {"b"}
        assert self.matching(storage, Filter("v", [1], CONTAINS)) == {"c"}
        assert self.matching(storage, Filter("v", [3], CONTAINS)) == {"d"}
        assert self.matching(storage, Filter("id", ["a"], IN)) == {"a"}
        assert self.matching(storage, Filter("id", ["b", "c"], IN)) == {"b", "c"}

    def test_eq_missing_matches_absent_fields(self, typed):
        assert self.matching(typed, Filter("v", MISSING, EQ)) == {"missing"}

    def test_gt_missing_matches_nothing(self, typed):
        assert self.matching(typed, Filter("v", MISSING, GT)) == set()

    def test_lt_missing_matches_present_fields(self, typed):
        expected = set(TYPED_VALUES) - {"missing"}
        assert self.matching(typed, Filter("v", MISSING, LT)) == expected

    def test_filters_apply_to_tombstones_which_only_have_id_and_timestamp(self, storage):
        self.create(storage, id="a", status=1)
        self.create(storage, id="b", status=1)
        self.create(storage, id="c", status=2)
        storage.delete(self.resource_name, self.parent_id, "a")

        def listed(*filters):
            return set(self.list_ids(storage, filters=list(filters), include_deleted=True))

        assert listed(Filter("deleted", True, EQ)) == {"a"}
        assert listed(Filter("status", 1, EQ)) == {"b"}
        assert listed(Filter("status", 2, NOT)) == {"a", "b"}
        assert listed(Filter("status", 1, GT)) == {"a", "c"}


class SortingTests(BaseStorageTest):
    def sorted_ids(self, storage, *sorting: Sort) -> list[str]:
        return self.list_ids(storage, sorting=list(sorting))

    def test_sort_ascending_and_descending(self, storage):
        self.store_typed_values(storage, {"b": 2, "c": 3, "a": 1})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["a", "b", "c"]
        assert self.sorted_ids(storage, Sort("v", -1)) == ["c", "b", "a"]

    def test_sort_follows_jsonb_type_order_with_missing_last(self, storage):
        self.store_typed_values(storage, TYPED_VALUES)
        assert self.sorted_ids(storage, Sort("v", 1)) == list(TYPED_VALUES)

    def test_descending_sort_puts_missing_first(self, storage):
        self.store_typed_values(storage, TYPED_VALUES)
        assert self.sorted_ids(storage, Sort("v", -1)) == list(reversed(TYPED_VALUES))

    def test_sort_numbers_numerically(self, storage):
        self.store_typed_values(storage, {"ten": 10, "two": 2, "half": 0.5, "neg": -3})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["neg", "half", "two", "ten"]

    def test_sort_strings_by_characters(self, storage):
        self.store_typed_values(storage, {"b": "b", "ab": "ab", "a": "a", "ba": "ba"})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["a", "ab", "b", "ba"]

    def test_sort_arrays_by_length_then_items(self, storage):
        self.store_typed_values(storage, {"long": [1, 2], "short": [5], "long2": [1, 3]})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["short", "long", "long2"]

    def test_sort_puts_an_empty_array_before_every_other_value(self, storage):
        self.store_typed_values(storage, {"empty": [], "null": None, "array": [0]})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["empty", "null", "array"]

    def test_sort_objects_by_number_of_keys_first(self, storage):
        self.store_typed_values(storage, {"two": {"a": 1, "b": 1}, "one": {"z": 9}})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["one", "two"]

    def test_sort_on_several_fields(self, storage):
        self.create(storage, id="a", group=1, n=2)
        self.create(storage, id="b", group=2, n=1)
        self.create(storage, id="c", group=1, n=3)
        self.create(storage, id="d", group=2, n=5)
        result = self.sorted_ids(storage, Sort("group", 1), Sort("n", -1))
        assert result == ["c", "a", "d", "b"]

    def test_later_sort_fields_break_ties_of_earlier_ones(self, storage):
        self.create(storage, id="b", group=1)
        self.create(storage, id="a", group=1)
        self.create(storage, id="c", group=0)
        result = self.sorted_ids(storage, Sort("group", -1), Sort("id", 1))
        assert result == ["a", "b", "c"]

    def test_sort_on_nested_fields(self, storage):
        self.create(storage, id="a", meta={"rank": 2})
        self.create(storage, id="b", meta={"rank": 1})
        self.create(storage, id="c", meta="flat")
        self.create(storage, id="d")
        by_id = Sort("id", 1)
        assert self.sorted_ids(storage, Sort("meta.rank", 1), by_id) == ["b", "a", "c", "d"]
        assert self.sorted_ids(storage, Sort("meta.rank", -1), by_id) == ["c", "d", "a", "b"]

    def test_a_dot_in_a_sort_field_always_means_nesting(self, storage):
        self.create(storage, id="a", **{"meta.rank": 1})
        self.create(storage, id="b", meta={"rank": 2})
        assert self.sorted_ids(storage, Sort("meta.rank", 1)) == ["b", "a"]

    def test_sort_on_id_uses_string_order(self, storage):
        for object_id in ("10", "9", "1"):
            self.create(storage, id=object_id)
        assert self.sorted_ids(storage, Sort("id", 1)) == ["1", "10", "9"]

    def test_sort_on_last_modified(self, storage):
        a = self.create(storage, id="a")
        self.create(storage, id="b")
        storage.update(self.resource_name, self.parent_id, "a", a)
        assert self.sorted_ids(storage, Sort("last_modified", 1)) == ["b", "a"]
        assert self.sorted_ids(storage, Sort("last_modified", -1)) == ["a", "b"]

    def test_last_modified_as_tie_breaker_orders_equal_values_by_recency(self, storage):
        for object_id in ("a", "b", "c"):
            self.create(storage, id=object_id, v=1)
        result = self.sorted_ids(storage, Sort("v", 1), Sort("last_modified", -1))
        assert result == ["c", "b", "a"]

    def test_tombstones_are_sorted_with_objects(self, storage):
        for object_id in ("a", "b", "c"):
            self.create(storage, id=object_id)
        storage.delete(self.resource_name, self.parent_id, "a")
        result = self.list_ids(storage, sorting=[Sort("last_modified", -1)], include_deleted=True)
        assert result == ["a", "c", "b"]


class PaginationTests(BaseStorageTest):
    @staticmethod
    def rules_after(obj: dict, sorting: list[Sort]) -> list[list[Filter]]:
        """Pagination rules selecting what sorts after ``obj``, built the way
        the resource layer builds them (querying.md §5)."""
        values = []
        for sort in sorting:
            value: Any = obj
            for part in sort.field.split("."):
                value = value.get(part, MISSING) if isinstance(value, dict) else MISSING
            values.append(value)
        rules = []
        for k, sort in enumerate(sorting):
            rule = [Filter(sorting[i].field, values[i], EQ) for i in range(k)]
            rule.append(Filter(sort.field, values[k], LT if sort.direction < 0 else GT))
            rules.append(rule)
        return rules

    def walk(self, storage, sorting: list[Sort], page_size: int, filters=()) -> list[str]:
        seen: list[str] = []
        rules = None
        while True:
            page = storage.list_all(
                self.resource_name,
                self.parent_id,
                filters=list(filters),
                sorting=sorting,
                pagination_rules=rules,
                limit=page_size,
            )
            seen.extend(ids(page))
            if len(page) < page_size:
                return seen
            rules = self.rules_after(page[-1], sorting)

    def test_pagination_rules_are_alternatives(self, storage):
        self.store_typed_values(storage, {"a": 1, "b": 2, "c": 3})
        rules = [[Filter("v", 1, EQ)], [Filter("v", 3, EQ)]]
        assert set(self.list_ids(storage, pagination_rules=rules)) == {"a", "c"}

    def test_filters_within_a_pagination_rule_are_combined_with_and(self, storage):
        self.create(storage, id="a", x=1, y=1)
        self.create(storage, id="b", x=1, y=2)
        rules = [[Filter("x", 1, EQ), Filter("y", 2, EQ)]]
        assert self.list_ids(storage, pagination_rules=rules) == ["b"]

    def test_pagination_rules_apply_on_top_of_filters(self, storage):
        self.store_typed_values(storage, {"a": 1, "b": 2, "c": 3})
        rules = [[Filter("v", 1, GT)]]
        filters = [Filter("v", 3, LT)]
        assert self.list_ids(storage, filters=filters, pagination_rules=rules) == ["b"]

    def test_empty_pagination_rules_select_everything(self, storage):
        self.store_typed_values(storage, {"a": 1, "b": 2})
        assert set(self.list_ids(storage, pagination_rules=[])) == {"a", "b"}

    def test_walking_pages_visits_every_object_once_in_order(self, storage):
        for i, title in enumerate(["b", "a", None, "b", "c", "a", "b"]):
            self.create(storage, id=f"o{i}", **({} if title is None else {"title": title}))
        self.create(storage, id="m1")
        self.create(storage, id="m2", title=None)
        sorting = [Sort("title", 1), Sort("last_modified", -1)]
        expected = self.list_ids(storage, sorting=sorting)
        for page_size in (1, 2, 3, 20):
            assert self.walk(storage, sorting, page_size) == expected

    def test_walking_pages_in_descending_order_starts_with_missing_fields(self, storage):
        for i, rank in enumerate([3, None, 1, 3, 2]):
            self.create(storage, id=f"o{i}", **({} if rank is None else {"rank": rank}))
        sorting = [Sort("rank", -1), Sort("last_modified", -1)]
        expected = self.list_ids(storage, sorting=sorting)
        assert expected[0] == "o1"
        assert self.walk(storage, sorting, 2) == expected

    def test_walking_pages_on_nested_fields_with_filters(self, storage):
        for i in range(7):
            self.create(storage, id=f"o{i}", meta={"rank": i % 3}, keep=i != 4)
        sorting = [Sort("meta.rank", 1), Sort("last_modified", 1)]
        filters = [Filter("keep", True, EQ)]
        expected = self.list_ids(storage, sorting=sorting, filters=filters)
        assert len(expected) == 6
        assert self.walk(storage, sorting, 2, filters) == expected
