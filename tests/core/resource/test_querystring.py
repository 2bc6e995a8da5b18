import pytest
from pyramid import httpexceptions
from webob.multidict import MultiDict

from kinto.core import jsonutil
from kinto.core.resource.querystring import parse_list_query
from kinto.core.storage import COMPARISON, Filter, Sort

NOW = 1_700_000_000_000


def parse(query, **kwargs):
    kwargs.setdefault("now", NOW)
    return parse_list_query(MultiDict(query), **kwargs)


def error_of(query, **kwargs):
    with pytest.raises(httpexceptions.HTTPBadRequest) as excinfo:
        parse(query, **kwargs)
    return jsonutil.loads(excinfo.value.body)


def test_values_are_json_coerced():
    filters = parse([("a", "2"), ("b", '"2"'), ("c", "Ben"), ("d", "true"), ("e", "null")]).filters
    assert [f.value for f in filters] == [2, "2", "Ben", True, None]
    assert all(f.operator == COMPARISON.EQ for f in filters)


def test_arrays_and_objects_are_parsed():
    (flt,) = parse([("tags", '["a",1]')]).filters
    assert flt == Filter("tags", ["a", 1], COMPARISON.EQ)


def test_id_value_is_kept_as_string():
    (flt,) = parse([("id", "2")]).filters
    assert flt == Filter("id", "2", COMPARISON.EQ)


def test_every_prefix_becomes_an_operator():
    for op in ("lt", "min", "max", "not", "eq", "gt", "exclude", "in", "has"):
        (flt,) = parse([(f"{op}_size", "3")]).filters
        assert flt.field == "size"
        assert flt.operator == COMPARISON(op)


def test_contains_any_is_tried_before_contains():
    (flt,) = parse([("contains_any_tags", '["a","b"]')]).filters
    assert flt == Filter("tags", ["a", "b"], COMPARISON.CONTAINS_ANY)
    (flt,) = parse([("contains_tags", '"a"')]).filters
    assert flt == Filter("tags", ["a"], COMPARISON.CONTAINS)


def test_unknown_prefix_or_invalid_field_is_an_equality_filter():
    (flt,) = parse([("gt_my-field", "1")]).filters
    assert flt == Filter("gt_my-field", 1, COMPARISON.EQ)
    (flt,) = parse([("foo_bar", "1")]).filters
    assert flt == Filter("foo_bar", 1, COMPARISON.EQ)


def test_dotted_fields_are_kept():
    (flt,) = parse([("gt_address.number", "1")]).filters
    assert flt == Filter("address.number", 1, COMPARISON.GT)


def test_in_values_are_split_then_coerced():
    (flt,) = parse([("in_status", "1,2,3")]).filters
    assert flt == Filter("status", [1, 2, 3], COMPARISON.IN)
    (flt,) = parse([("exclude_id", "a,b")]).filters
    assert flt == Filter("id", ["a", "b"], COMPARISON.EXCLUDE)


def test_in_tolerates_a_trailing_comma():
    (flt,) = parse([("in_id", "abc,")]).filters
    assert flt == Filter("id", ["abc", ""], COMPARISON.IN)


def test_in_id_requires_strings():
    body = error_of([("in_id", "1,2")])
    assert body["errno"] == 107
    assert body["details"][0]["name"] == "in_id"


def test_in_last_modified_requires_integers():
    (flt,) = parse([("in_last_modified", '1,"2"')]).filters
    assert flt == Filter("last_modified", [1, 2], COMPARISON.IN)
    error_of([("in_last_modified", "1,a")])


def test_like_wraps_values_without_wildcard():
    (flt,) = parse([("like_title", "abc")]).filters
    assert flt.value == "*abc*"
    (flt,) = parse([("like_title", "ab*")]).filters
    assert flt.value == "ab*"


def test_like_rejects_non_strings():
    body = error_of([("like_title", "123")])
    assert body["details"][0] == {
        "location": "querystring",
        "name": "like_title",
        "description": "Invalid value for like_title",
    }
    assert parse([("like_title", '"123"')]).filters[0].value == "*123*"


def test_contains_wraps_scalars_and_rejects_id_and_last_modified():
    (flt,) = parse([("contains_tags", "1")]).filters
    assert flt.value == [1]
    body = error_of([("contains_id", '["a"]')])
    assert body["details"][0]["description"] == "Field 'id' is not an array"
    error_of([("contains_any_last_modified", "[1]")])


def test_last_modified_filters_accept_integers_and_quoted_digits():
    query = parse([("last_modified", "12"), ("gt_last_modified", '"13"')])
    assert query.filters == [
        Filter("last_modified", 12, COMPARISON.EQ),
        Filter("last_modified", 13, COMPARISON.GT),
    ]
    assert query.include_deleted


@pytest.mark.parametrize("value", ["", "abc", "1.5", "-1", str(NOW + 24 * 3600 * 1000)])
def test_invalid_last_modified_values_are_rejected(value):
    body = error_of([("min_last_modified", value)])
    assert body["message"] == "Invalid value for min_last_modified"
    assert body["details"][0]["location"] == "querystring"


def test_since_before_and_to_are_last_modified_bounds():
    query = parse([("_since", "10"), ("_before", '"20"')])
    assert query.filters == [
        Filter("last_modified", 10, COMPARISON.GT),
        Filter("last_modified", 20, COMPARISON.LT),
    ]
    assert query.include_deleted
    assert not query.deprecated_to
    query = parse([("_to", "30")])
    assert query.filters == [Filter("last_modified", 30, COMPARISON.LT)]
    assert query.deprecated_to


def test_since_null_means_no_bound_but_tombstones():
    query = parse([("_since", "null")])
    assert query.filters == []
    assert query.include_deleted


def test_invalid_since_is_rejected():
    body = error_of([("_since", "abc")])
    assert body["message"] == "Invalid value for _since"


def test_no_last_modified_filter_means_no_tombstones():
    assert not parse([("status", "1")]).include_deleted


def test_unknown_underscore_parameters_are_ignored():
    query = parse([("_expected", "123"), ("_whatever", "x")])
    assert query.filters == []


def test_nul_characters_are_rejected():
    body = error_of([("title", "a\x00b")])
    assert body["message"] == "title in querystring: Invalid character 0x00"
    error_of([("ti\x00tle", "a")])


def test_sort_directions_and_tie_breaker():
    query = parse([("_sort", "title, -age,+name")])
    assert query.sorting == [
        Sort("title", 1),
        Sort("age", -1),
        Sort("name", 1),
        Sort("last_modified", -1),
    ]


def test_default_sort_is_by_descending_last_modified():
    assert parse([]).sorting == [Sort("last_modified", -1)]


def test_sort_on_last_modified_adds_no_tie_breaker():
    assert parse([("_sort", "last_modified")]).sorting == [Sort("last_modified", 1)]


def test_invalid_sort_items_are_dropped():
    assert parse([("_sort", "a b,$,,x.y")]).sorting == [
        Sort("x.y", 1),
        Sort("last_modified", -1),
    ]


def test_limit_is_parsed():
    assert parse([("_limit", "0")]).limit == 0
    assert parse([("_limit", "10")]).limit == 10
    assert parse([]).limit is None


@pytest.mark.parametrize("value", ["-1", "a", "", "1.0", str(2**63 + 1)])
def test_invalid_limits_are_rejected(value):
    body = error_of([("_limit", value)])
    assert body["details"][0]["name"] == "_limit"


def test_token_and_fields_are_returned():
    query = parse([("_token", "abc"), ("_fields", "title, address.street")])
    assert query.token == "abc"
    assert query.fields == ["title", "address.street"]


def test_closed_schema_rejects_unknown_filters():
    body = error_of([("foo", "1")], known_fields=["uri"])
    assert body["message"] == "Unknown filter field 'foo'"
    assert body["details"][0]["name"] == "foo"
    assert parse([("uri.a", "1"), ("id", "x")], known_fields=["uri"]).filters


def test_closed_schema_rejects_unknown_sort_fields():
    body = error_of([("_sort", "-foo")], known_fields=["uri"])
    assert body["message"] == "querystring: Unknown sort field 'foo'"


def test_closed_schema_rejects_unknown_fields_selection():
    body = error_of([("_fields", "uri,foo,bar")], known_fields=["uri"])
    assert body["message"] == "Invalid _fields parameter in body: Fields foo,bar do not exist"


def test_repeated_parameters_all_filter():
    filters = parse([("a", "1"), ("a", "2")]).filters
    assert len(filters) == 2
