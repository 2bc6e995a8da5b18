"""Conformance to ``querying.md``: filters, tombstones, sorting, pagination,
``_fields``, timestamps, preconditions and client cache headers, checked on
Kinto's records (one test per behaviour, in the order of the spec)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from kinto.core import jsonutil
from tests.views.conftest import COLLECTION, RECORD, RECORDS

DOCS = [
    {"id": "a", "n": 2, "s": "2", "title": "Ben", "tags": ["x", "y"], "addr": {"city": "Paris"}},
    {"id": "b", "n": 10, "s": "ten", "title": "ALICE", "tags": ["y"], "addr": {"city": "Lyon"}},
    {"id": "c", "n": None, "title": "carl", "tags": []},
    {"id": "d", "flag": True},
]


@pytest.fixture
def docs(app, alice, collection):
    """Records a..d created in this order (``a`` is the oldest)."""
    return [
        app.put_json(f"{RECORDS}/{doc['id']}", {"data": doc}, headers=alice).json["data"]
        for doc in DOCS
    ]


def ids(app, query, headers):
    return [obj["id"] for obj in app.get(f"{RECORDS}?{query}", headers=headers).json["data"]]


def error(app, query, headers):
    response = app.get(f"{RECORDS}?{query}", headers=headers, status=400)
    assert response.json["errno"] == 107
    assert response.json["error"] == "Invalid parameters"
    return response.json


def etag(obj):
    return f'"{obj["last_modified"]}"'


# §1.1 Value coercion


def test_query_values_are_json_coerced(app, alice, docs):
    assert ids(app, "n=2", alice) == ["a"]
    assert ids(app, "s=2", alice) == []
    assert ids(app, 's="2"', alice) == ["a"]
    assert ids(app, "title=Ben", alice) == ["a"]
    assert ids(app, "n=null", alice) == ["c"]
    assert ids(app, "flag=true", alice) == ["d"]


def test_like_value_must_be_a_string(app, alice, docs):
    body = error(app, "like_s=123", alice)
    assert body["message"] == "Invalid value for like_s"
    assert ids(app, 'like_s="2"', alice) == ["a"]


def test_in_splits_on_commas_then_coerces_each_item(app, alice, docs):
    assert ids(app, "in_n=2,10&_sort=id", alice) == ["a", "b"]
    assert ids(app, "in_id=a,c&_sort=id", alice) == ["a", "c"]


def test_in_tolerates_a_trailing_comma(app, alice, docs):
    assert ids(app, "in_id=b,", alice) == ["b"]


def test_contains_wraps_a_single_value_into_an_array(app, alice, docs):
    assert ids(app, 'contains_tags="x"', alice) == ["a"]
    assert ids(app, 'contains_tags=["x","y"]', alice) == ["a"]
    assert ids(app, 'contains_any_tags=["x","y"]&_sort=id', alice) == ["a", "b"]


@pytest.mark.parametrize("value", ["-1", "a", "1.5", "9223372036854775809"])
def test_invalid_limit_is_400(app, alice, collection, value):
    assert error(app, f"_limit={value}", alice)["message"] == "Invalid value for _limit"


def test_since_accepts_an_etag_and_null(app, alice, docs):
    assert ids(app, f"_since={etag(docs[2])}", alice) == ["d"]
    assert ids(app, "_since=null", alice) == ["d", "c", "b", "a"]


def test_id_is_compared_as_a_string(app, alice, collection):
    app.put_json(f"{RECORDS}/2", {}, headers=alice)
    assert ids(app, "id=2", alice) == ["2"]


@pytest.mark.parametrize("query", ["last_modified=abc", "gt_last_modified=", "_before=x"])
def test_invalid_timestamp_filters_are_400(app, alice, collection, query):
    param = query.split("=")[0]
    assert error(app, query, alice)["message"] == f"Invalid value for {param}"


def test_timestamps_further_than_a_day_ahead_are_400(app, alice, collection):
    error(app, "gt_last_modified=99999999999999", alice)


# §1.2 Parameter classification


def test_unknown_underscore_parameters_are_ignored(app, alice, docs):
    assert ids(app, "_expected=123&_cache_buster=1", alice) == ["d", "c", "b", "a"]


def test_unknown_prefix_is_an_equality_filter_on_the_whole_name(app, alice, collection):
    app.put_json(f"{RECORDS}/r", {"data": {"gt_my-field": 1}}, headers=alice)
    assert ids(app, "gt_my-field=1", alice) == ["r"]


def test_dotted_fields_reach_nested_keys(app, alice, docs):
    assert ids(app, "addr.city=Lyon", alice) == ["b"]


def test_nul_character_in_a_parameter_is_400(app, alice, collection):
    body = error(app, "title=a%00b", alice)
    assert body["message"] == "title in querystring: Invalid character 0x00"
    assert error(app, "ti%00tle=a", alice)["details"][0]["description"] == (
        "Invalid character 0x00"
    )


def test_nul_character_escaped_in_a_json_value_is_400(app, alice, collection):
    body = error(app, 'contains_tags=["a\\u0000"]', alice)
    assert body["details"][0] == {
        "location": "querystring",
        "name": "contains_tags",
        "description": "Invalid character 0x00",
    }
    error(app, 'title="\\u0000"', alice)


# §2 Filter operators


@pytest.mark.parametrize(
    "query, expected",
    [
        ("not_n=2", ["b", "c", "d"]),
        ("gt_n=2", ["b", "d"]),
        ("min_n=10", ["b", "d"]),
        ("exclude_n=2", ["b", "c", "d"]),
        ("lt_n=10", ["a", "c"]),
        ("max_n=2", ["a", "c"]),
        ("in_n=2,10", ["a", "b"]),
        ("like_title=li", ["b"]),
        ("eq_n=2", ["a"]),
    ],
)
def test_operators_and_missing_fields(app, alice, docs, query, expected):
    """``gt``/``min``/``not``/``exclude`` match records lacking the field,
    the others never do (``null`` sorts before numbers)."""
    assert sorted(ids(app, query, alice)) == expected


def test_like_is_case_insensitive_with_star_wildcards(app, alice, docs):
    assert ids(app, "like_title=al*", alice) == ["b"]
    assert sorted(ids(app, "like_title=*l*", alice)) == ["b", "c"]


def test_has_tests_presence_and_null_counts_as_present(app, alice, docs):
    assert sorted(ids(app, "has_n=true", alice)) == ["a", "b", "c"]
    assert ids(app, "has_n=false", alice) == ["d"]


def test_contains_is_refused_on_id_and_last_modified(app, alice, collection):
    body = error(app, "contains_id=a", alice)
    assert body["message"] == "contains_id in querystring: Field 'id' is not an array"


def test_in_id_requires_strings(app, alice, collection):
    assert error(app, "in_id=1,2", alice)["message"] == "Invalid value for in_id"


def test_to_is_deprecated_with_an_alert(app, alice, docs):
    response = app.get(f"{RECORDS}?_to={docs[1]['last_modified']}", headers=alice)
    assert [obj["id"] for obj in response.json["data"]] == ["a"]
    alert = json.loads(response.headers["Alert"])
    assert alert == {
        "code": "soft-eol",
        "message": "_to is now deprecated, you should use _before instead",
        "url": "https://kinto.readthedocs.io/",
    }


# §3 Tombstones


def test_tombstones_are_listed_only_with_a_last_modified_filter(app, alice, docs):
    app.delete(f"{RECORDS}/a", headers=alice)
    assert "a" not in ids(app, "", alice)
    assert ids(app, "deleted=true", alice) == []
    assert ids(app, f"_since={docs[0]['last_modified']}&deleted=true", alice) == ["a"]
    assert "a" in ids(app, "gt_last_modified=0", alice)


def test_tombstones_have_only_id_last_modified_and_deleted(app, alice, docs):
    app.delete(f"{RECORDS}/a", headers=alice)
    (tombstone,) = app.get(f"{RECORDS}?_since=0&deleted=true", headers=alice).json["data"]
    assert set(tombstone) == {"id", "last_modified", "deleted"}


def test_positive_filters_exclude_tombstones_negative_ones_keep_them(app, alice, docs):
    app.delete(f"{RECORDS}/a", headers=alice)
    assert "a" not in ids(app, "_since=0&title=Ben", alice)
    assert "a" in ids(app, "_since=0&not_title=Bob", alice)


def test_counts_never_include_tombstones(app, alice, docs):
    app.delete(f"{RECORDS}/a", headers=alice)
    response = app.head(f"{RECORDS}?_since=0", headers=alice)
    assert response.headers["Total-Objects"] == response.headers["Total-Records"] == "3"


def test_recreating_an_object_replaces_its_tombstone(app, alice, docs):
    app.delete(f"{RECORDS}/a", headers=alice)
    app.put_json(f"{RECORDS}/a", {}, headers=alice)
    listed = app.get(f"{RECORDS}?_since=0&id=a", headers=alice).json["data"]
    assert len(listed) == 1 and "deleted" not in listed[0]


# §4 Sorting


def test_default_order_is_newest_first(app, alice, docs):
    assert ids(app, "", alice) == ["d", "c", "b", "a"]


def test_sort_follows_jsonb_order_with_missing_last(app, alice, docs):
    assert ids(app, "_sort=n", alice) == ["c", "a", "b", "d"]
    assert ids(app, "_sort=-n", alice) == ["d", "b", "a", "c"]


def test_sort_on_several_and_dotted_fields(app, alice, docs):
    assert ids(app, "_sort=addr.city,-id", alice) == ["b", "a", "d", "c"]


def test_invalid_sort_items_are_dropped(app, alice, docs):
    assert ids(app, "_sort=bad!,+n", alice) == ["c", "a", "b", "d"]


# §5 Pagination


def test_next_page_is_absolute_and_keeps_every_parameter(app, alice, docs):
    response = app.get(f"{RECORDS}?_sort=id&has_id=true&_expected=1&_limit=2", headers=alice)
    url = urlsplit(response.headers["Next-Page"])
    assert (url.scheme, url.netloc, url.path) == ("http", "localhost", RECORDS)
    params = dict(parse_qsl(url.query))
    assert params.keys() == {"_sort", "has_id", "_expected", "_limit", "_token"}
    assert params["_limit"] == "2"
    following = app.get(f"{url.path}?{url.query}", headers=alice)
    assert [obj["id"] for obj in following.json["data"]] == ["c", "d"]
    assert "Next-Page" not in following.headers


def test_token_holds_last_object_offset_and_nonce(app, alice, docs):
    response = app.get(f"{RECORDS}?_sort=n&_limit=1", headers=alice)
    token = dict(parse_qsl(urlsplit(response.headers["Next-Page"]).query))["_token"]
    payload = jsonutil.loads(base64.b64decode(token))
    assert payload["last_object"] == {"n": None, "last_modified": docs[2]["last_modified"]}
    assert payload["offset"] == 2
    assert payload["nonce"].startswith("pagination-token-")


def test_limit_is_capped_by_paginate_by_and_max_fetch_size(make_app, alice):
    app = make_app(paginate_by=2, storage_max_fetch_size=3)
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json(COLLECTION, {}, headers=alice)
    for i in range(4):
        app.put_json(f"{RECORDS}/r{i}", {}, headers=alice)
    for query in ("", "?_limit=0", "?_limit=10"):
        response = app.get(f"{RECORDS}{query}", headers=alice)
        assert len(response.json["data"]) == 2
        assert "_limit=2" in response.headers["Next-Page"]


def test_lists_beyond_max_fetch_size_paginate_without_limit(make_app, alice):
    app = make_app(storage_max_fetch_size=2)
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json(COLLECTION, {}, headers=alice)
    for i in range(3):
        app.put_json(f"{RECORDS}/r{i}", {}, headers=alice)
    response = app.get(RECORDS, headers=alice)
    assert len(response.json["data"]) == 2
    assert "Next-Page" in response.headers


def test_next_page_honours_http_scheme_and_host(make_app, alice):
    app = make_app(http_scheme="https", http_host="kinto.example.com:8443")
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/c", {}, headers=alice)
    next_page = app.get("/v1/buckets?_limit=1", headers=alice).headers["Next-Page"]
    assert next_page.startswith("https://kinto.example.com:8443/v1/buckets?_limit=1&_token=")


def test_invalid_token_is_400(app, alice, collection):
    body = error(app, "_token=garbage", alice)
    assert body["message"] == "querystring: _token has invalid content"


def test_head_has_counts_and_no_next_page(app, alice, docs):
    response = app.head(f"{RECORDS}?_limit=1&has_n=true", headers=alice)
    assert response.headers["Total-Objects"] == "3"
    assert response.headers["Total-Records"] == "3"
    assert "Next-Page" not in response.headers
    assert response.body == b""


def test_get_never_sends_counts(app, alice, docs):
    response = app.get(RECORDS, headers=alice)
    assert "Total-Objects" not in response.headers
    assert "Total-Records" not in response.headers


def test_delete_tokens_are_single_use(app, alice, docs):
    response = app.delete(f"{RECORDS}?_limit=1", headers=alice)
    url = urlsplit(response.headers["Next-Page"])
    app.delete(f"{url.path}?{url.query}", headers=alice)
    body = app.delete(f"{url.path}?{url.query}", headers=alice, status=400).json
    assert body["message"] == "querystring: _token was already used or has expired."


# §6 Field selection


def test_fields_keep_id_and_last_modified_and_select_nested_keys(app, alice, docs):
    data = app.get(f"{RECORDS}?_fields=addr.city,title&id=a", headers=alice).json["data"]
    assert data == [
        {
            "id": "a",
            "last_modified": docs[0]["last_modified"],
            "addr": {"city": "Paris"},
            "title": "Ben",
        }
    ]


def test_fields_on_an_object_drops_permissions(app, alice, docs):
    body = app.get(f"{RECORDS}/a?_fields=n", headers=alice).json
    assert body == {"data": {"id": "a", "last_modified": docs[0]["last_modified"], "n": 2}}


# §7 Timestamps


def test_list_etag_is_the_unfiltered_list_timestamp(app, alice, docs):
    newest = etag(docs[-1])
    for query in ("", "?id=a", "?_limit=1", "?_sort=n"):
        assert app.get(f"{RECORDS}{query}", headers=alice).headers["ETag"] == newest


def test_writes_get_strictly_increasing_timestamps(app, alice, collection):
    stamps = [
        app.post_json(RECORDS, {}, headers=alice).json["data"]["last_modified"] for _ in range(5)
    ]
    assert stamps == sorted(set(stamps))


def test_writing_a_record_changes_neither_collection_nor_bucket(app, alice, collection):
    bucket_before = app.get("/v1/buckets/b", headers=alice).json["data"]["last_modified"]
    app.post_json(RECORDS, {}, headers=alice)
    after = app.get(COLLECTION, headers=alice).json["data"]
    assert after["last_modified"] == collection["last_modified"]
    bucket_after = app.get("/v1/buckets/b", headers=alice).json["data"]["last_modified"]
    assert bucket_after == bucket_before


def test_client_timestamp_is_honoured_on_creation(app, alice, collection):
    data = app.put_json(RECORD, {"data": {"last_modified": 1234}}, headers=alice).json["data"]
    assert data["last_modified"] == 1234


def test_client_timestamp_only_if_greater_on_update(app, alice, record):
    stored = record["last_modified"]
    older = app.put_json(RECORD, {"data": {"last_modified": 12}}, headers=alice).json["data"]
    assert older["last_modified"] > stored
    newer = older["last_modified"] + 1000
    data = app.put_json(RECORD, {"data": {"last_modified": newer}}, headers=alice).json["data"]
    assert data["last_modified"] == newer


def test_non_integer_client_timestamps_are_dropped(app, alice, collection):
    for value in ("123", 1.5, True, None):
        data = app.put_json(RECORD, {"data": {"last_modified": value}}, headers=alice).json
        assert type(data["data"]["last_modified"]) is int
        assert data["data"]["last_modified"] > 10**12


def test_delete_with_a_greater_last_modified_forces_the_tombstone_timestamp(app, alice, record):
    forced = record["last_modified"] + 10
    tombstone = app.delete(f"{RECORD}?last_modified={forced}", headers=alice).json["data"]
    assert tombstone["last_modified"] == forced


# §7.1 Timestamp headers


def test_timestamp_headers_of_objects_and_lists(app, alice, record):
    response = app.get(RECORD, headers=alice)
    assert response.headers["ETag"] == etag(record)
    assert response.headers["Last-Modified"].endswith(" GMT")
    tombstone = app.delete(RECORD, headers=alice).json["data"]
    listed = app.get(RECORDS, headers=alice)
    assert listed.headers["ETag"] == etag(tombstone)


def test_plural_delete_etag_is_the_latest_deletion(app, alice, docs):
    response = app.delete(RECORDS, headers=alice)
    latest = max(t["last_modified"] for t in response.json["data"])
    assert response.headers["ETag"] == f'"{latest}"'


# §8 Preconditions


@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
@pytest.mark.parametrize("value", ["123", 'W/"123"', '"abc"'])
def test_malformed_precondition_headers_are_400(app, alice, record, header, value):
    response = app.get(RECORD, headers={**alice, header: value}, status=400)
    assert response.json["message"] == (
        f"{header} in header: The value should be integer between double quotes."
    )


def test_if_modified_since_is_ignored(app, alice, record):
    headers = {**alice, "If-Modified-Since": "Thu, 01 Jan 2099 00:00:00 GMT"}
    assert app.get(RECORD, headers=headers).status_int == 200


def test_not_modified_has_timestamp_headers_and_no_body(app, alice, record):
    response = app.get(RECORD, headers={**alice, "If-None-Match": etag(record)}, status=304)
    assert response.body == b""
    assert response.headers["ETag"] == etag(record)
    assert "Last-Modified" in response.headers
    assert "Cache-Control" not in response.headers


def test_precondition_failed_envelope_on_objects(app, alice, record):
    response = app.patch_json(
        RECORD, {"data": {}}, headers={**alice, "If-Match": '"1"'}, status=412
    )
    assert response.json == {
        "code": 412,
        "errno": 114,
        "error": "Precondition Failed",
        "message": "Resource was modified meanwhile",
        "details": {"existing": record},
    }
    assert response.headers["ETag"] == etag(record)


def test_precondition_failed_on_lists_has_no_details(app, alice, record):
    response = app.get(RECORDS, headers={**alice, "If-Match": '"1"'}, status=412)
    assert "details" not in response.json
    assert response.headers["ETag"] == etag(record)


@pytest.mark.parametrize("method", ["post", "put"])
def test_precondition_failed_on_a_missing_object_carries_the_list_timestamp(
    app, alice, record, method
):
    if method == "post":
        response = app.post_json(RECORDS, {}, headers={**alice, "If-Match": "*"}, status=412)
    else:
        response = app.put_json(
            f"{RECORDS}/new", {}, headers={**alice, "If-Match": "*"}, status=412
        )
    assert "details" not in response.json
    assert response.headers["ETag"] == etag(record)


# The matrix: (method, target, header, value) -> status. ``<ts>`` is the
# current timestamp of the target, ``<other>`` another one.
MATRIX = [
    # If-None-Match: "<ts>"
    ("GET", "object", "If-None-Match", "<ts>", 304),
    ("GET", "list", "If-None-Match", "<ts>", 304),
    ("HEAD", "list", "If-None-Match", "<ts>", 304),
    ("POST", "existing", "If-None-Match", "<ts>", 200),
    ("PUT", "object", "If-None-Match", "<ts>", 200),
    ("PATCH", "object", "If-None-Match", "<ts>", 200),
    ("DELETE", "object", "If-None-Match", "<ts>", 200),
    ("DELETE", "list", "If-None-Match", "<ts>", 200),
    ("GET", "object", "If-None-Match", "<other>", 200),
    ("GET", "list", "If-None-Match", "<other>", 200),
    # If-None-Match: *
    ("GET", "object", "If-None-Match", "*", 412),
    ("GET", "list", "If-None-Match", "*", 412),
    ("POST", "existing", "If-None-Match", "*", 412),
    ("PUT", "object", "If-None-Match", "*", 412),
    ("PATCH", "object", "If-None-Match", "*", 412),
    ("DELETE", "object", "If-None-Match", "*", 412),
    ("DELETE", "list", "If-None-Match", "*", 412),
    ("GET", "missing", "If-None-Match", "*", 404),
    ("POST", "new", "If-None-Match", "*", 201),
    ("PUT", "missing", "If-None-Match", "*", 201),
    ("PATCH", "missing", "If-None-Match", "*", 404),
    ("DELETE", "missing", "If-None-Match", "*", 404),
    # If-Match: "<ts>"
    ("GET", "object", "If-Match", "<ts>", 200),
    ("GET", "list", "If-Match", "<ts>", 200),
    ("POST", "new", "If-Match", "<ts>", 412),
    ("POST", "existing", "If-Match", "<ts>", 200),
    ("PUT", "object", "If-Match", "<ts>", 200),
    ("PATCH", "object", "If-Match", "<ts>", 200),
    ("DELETE", "object", "If-Match", "<ts>", 200),
    ("DELETE", "list", "If-Match", "<ts>", 200),
    ("GET", "object", "If-Match", "<other>", 412),
    ("GET", "list", "If-Match", "<other>", 412),
    ("POST", "existing", "If-Match", "<other>", 412),
    ("PUT", "object", "If-Match", "<other>", 412),
    ("PATCH", "object", "If-Match", "<other>", 412),
    ("DELETE", "object", "If-Match", "<other>", 412),
    ("DELETE", "list", "If-Match", "<other>", 412),
    ("GET", "missing", "If-Match", "<other>", 404),
    ("PUT", "missing", "If-Match", "<other>", 412),
    ("PATCH", "missing", "If-Match", "<other>", 404),
    ("DELETE", "missing", "If-Match", "<other>", 404),
    # If-Match: *
    ("GET", "object", "If-Match", "*", 200),
    ("GET", "list", "If-Match", "*", 200),
    ("POST", "existing", "If-Match", "*", 200),
    ("PUT", "object", "If-Match", "*", 200),
    ("PATCH", "object", "If-Match", "*", 200),
    ("DELETE", "object", "If-Match", "*", 200),
    ("DELETE", "list", "If-Match", "*", 200),
    ("GET", "missing", "If-Match", "*", 404),
    ("POST", "new", "If-Match", "*", 412),
    ("PUT", "missing", "If-Match", "*", 412),
    ("PATCH", "missing", "If-Match", "*", 404),
    ("DELETE", "missing", "If-Match", "*", 404),
]


@pytest.mark.parametrize("method, target, header, value, status", MATRIX)
def test_precondition_matrix(app, alice, record, method, target, header, value, status):
    if target == "list":
        url, current = RECORDS, app.get(RECORDS, headers=alice).headers["ETag"]
    else:
        url, current = RECORD, etag(record)
    if target == "missing":
        url = f"{RECORDS}/missing"
    if target in ("new", "existing"):
        url = RECORDS
    header_value = {"<ts>": current, "<other>": '"1"'}.get(value, value)
    body = None
    if method == "POST":
        body = {"data": {"id": "r"}} if target == "existing" else {"data": {}}
    elif method in ("PUT", "PATCH"):
        body = {"data": {"x": 1}}
    headers = {**alice, header: header_value}
    if body is None:
        response = app.request(url, method=method, headers=headers, status=status)
    else:
        response = app.request(
            url,
            method=method,
            headers={**headers, "Content-Type": "application/json"},
            body=jsonutil.dumps(body),
            status=status,
        )
    assert response.status_int == status


def test_put_if_none_match_star_is_authorised_against_create(app, alice, bob, bob_id, record):
    app.patch_json(COLLECTION, {"permissions": {"record:create": [bob_id]}}, headers=alice)
    app.put_json(RECORD, {}, headers={**bob, "If-None-Match": "*"}, status=412)
    app.patch_json(
        COLLECTION, {"permissions": {"record:create": [], "read": [bob_id]}}, headers=alice
    )
    app.put_json(RECORD, {}, headers={**bob, "If-None-Match": "*"}, status=403)


# §9 Client cache headers


def public_app(make_app, alice, **settings):
    app = make_app(**settings)
    app.put_json("/v1/buckets/b", {"permissions": {"read": ["system.Everyone"]}}, headers=alice)
    app.put_json(COLLECTION, {}, headers=alice)
    app.put_json(RECORD, {}, headers=alice)
    return app


def test_authenticated_responses_are_never_cacheable(make_app, alice):
    app = public_app(make_app, alice, record_cache_expires_seconds=30)
    response = app.get(RECORD, headers=alice)
    assert response.headers["Cache-Control"] == "no-cache, no-store"
    assert "Expires" not in response.headers


def test_anonymous_responses_use_the_resource_setting(make_app, alice):
    app = public_app(make_app, alice, collection_cache_expires_seconds=5)
    response = app.get(COLLECTION)
    assert response.headers["Cache-Control"] == "max-age=5"
    assert "Expires" in response.headers


def test_anonymous_records_use_the_larger_of_setting_and_collection(make_app, alice):
    app = public_app(make_app, alice, record_cache_expires_seconds=30)
    app.patch_json(COLLECTION, {"data": {"cache_expires": 60}}, headers=alice)
    assert app.get(RECORD).headers["Cache-Control"] == "max-age=60"
    assert app.get(RECORDS).headers["Cache-Control"] == "max-age=60"


def test_anonymous_without_setting_is_not_cacheable(make_app, alice):
    app = public_app(make_app, alice)
    assert app.get(RECORD).headers["Cache-Control"] == "no-cache, no-store"
