"""Plural endpoints of the framework (GET/HEAD/POST/DELETE) on the toy app."""

from urllib.parse import parse_qs, urlparse

import pytest

from kinto.core import events
from kinto.core.resource.plural import ListReaders

from .conftest import auth


def create(app, headers, **data):
    return app.post_json("/v1/toys", {"data": data}, headers=headers).json["data"]


@pytest.fixture
def three(toy_app, alice):
    return [
        create(toy_app, alice, id=f"t{i}", rank=i, kind="odd" if i % 2 else "even")
        for i in (1, 2, 3)
    ]


# GET


def test_empty_list_has_timestamp_headers(toy_app, alice):
    response = toy_app.get("/v1/toys", headers=auth("carla"), status=200)
    assert response.json == {"data": []}
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and etag[1:-1].isdigit()
    assert response.headers["Last-Modified"].endswith("GMT")


def test_list_is_sorted_by_descending_last_modified(toy_app, alice, three):
    response = toy_app.get("/v1/toys", headers=alice)
    assert [obj["id"] for obj in response.json["data"]] == ["t3", "t2", "t1"]
    assert response.headers["ETag"] == f'"{three[-1]["last_modified"]}"'
    assert "permissions" not in response.json


def test_list_filters_and_sorts(toy_app, alice, three):
    data = toy_app.get("/v1/toys?kind=odd&_sort=rank", headers=alice).json["data"]
    assert [obj["id"] for obj in data] == ["t1", "t3"]
    data = toy_app.get("/v1/toys?gt_rank=1&_sort=-rank", headers=alice).json["data"]
    assert [obj["id"] for obj in data] == ["t3", "t2"]
    data = toy_app.get("/v1/toys?in_id=t1,t3,", headers=alice).json["data"]
    assert {obj["id"] for obj in data} == {"t1", "t3"}


def test_filter_values_are_json_coerced(toy_app, alice):
    create(toy_app, alice, id="n", author=2)
    create(toy_app, alice, id="s", author="2")
    data = toy_app.get("/v1/toys?author=2", headers=alice).json["data"]
    assert [obj["id"] for obj in data] == ["n"]
    data = toy_app.get('/v1/toys?author="2"', headers=alice).json["data"]
    assert [obj["id"] for obj in data] == ["s"]


def test_invalid_filters_are_400(toy_app, alice):
    response = toy_app.get("/v1/toys?like_title=123", headers=alice, status=400)
    assert response.json["errno"] == 107
    response = toy_app.get("/v1/toys?title=a%00b", headers=alice, status=400)
    assert "0x00" in response.json["message"]
    toy_app.get("/v1/toys?_since=abc", headers=alice, status=400)
    toy_app.get("/v1/toys?_limit=-1", headers=alice, status=400)


def test_unknown_underscore_parameters_are_ignored(toy_app, alice, three):
    data = toy_app.get("/v1/toys?_expected=123", headers=alice).json["data"]
    assert len(data) == 3


def test_fields_selects_fields(toy_app, alice):
    create(toy_app, alice, id="a", title="x", address={"city": "P", "street": "S"})
    data = toy_app.get("/v1/toys?_fields=address.city", headers=alice).json["data"]
    assert data == [
        {"id": "a", "last_modified": data[0]["last_modified"], "address": {"city": "P"}}
    ]


def test_closed_schema_rejects_unknown_fields(toy_app, alice):
    response = toy_app.get("/v1/closed?foo=1", headers=alice, status=400)
    assert response.json["message"] == "Unknown filter field 'foo'"
    toy_app.get("/v1/closed?uri=1&_sort=uri", headers=alice, status=200)
    toy_app.get("/v1/closed?_sort=foo", headers=alice, status=400)


def test_pagination_follows_next_page_urls(toy_app, alice):
    for i in range(5):
        create(toy_app, alice, id=f"p{i}", rank=i)
    seen = []
    url = "/v1/toys?_limit=2&_sort=rank&not_rank=99"
    pages = 0
    while url:
        response = toy_app.get(url, headers=alice)
        seen.extend(obj["id"] for obj in response.json["data"])
        pages += 1
        next_page = response.headers.get("Next-Page")
        if next_page:
            parsed = urlparse(next_page)
            assert parsed.scheme == "http" and parsed.netloc == "localhost"
            query = parse_qs(parsed.query)
            assert query["_sort"] == ["rank"] and query["not_rank"] == ["99"]
            assert query["_limit"] == ["2"] and "_token" in query
            url = next_page
        else:
            url = None
    assert seen == ["p0", "p1", "p2", "p3", "p4"]
    assert pages == 3


def test_pagination_with_missing_values_and_ties(toy_app, alice):
    for i, rank in enumerate([1, None, 1, 2, None, 1]):
        data = {"id": f"m{i}"}
        if rank is not None:
            data["rank"] = rank
        create(toy_app, alice, **data)
    everything = toy_app.get("/v1/toys?_sort=rank", headers=alice).json["data"]
    seen = []
    url = "/v1/toys?_sort=rank&_limit=1"
    while url:
        response = toy_app.get(url, headers=alice)
        seen.extend(response.json["data"])
        url = response.headers.get("Next-Page")
    assert seen == everything


def test_next_page_honours_forced_host_and_scheme(make_toy_app, alice):
    app = make_toy_app(http_host="kinto.example.com", http_scheme="https")
    for i in range(2):
        create(app, alice, id=f"h{i}")
    response = app.get("/v1/toys?_limit=1", headers=alice)
    assert response.headers["Next-Page"].startswith("https://kinto.example.com/v1/toys?")


def test_no_next_page_on_last_page(toy_app, alice, three):
    response = toy_app.get("/v1/toys?_limit=3", headers=alice)
    assert "Next-Page" not in response.headers
    response = toy_app.get("/v1/toys?_limit=0", headers=alice)
    assert len(response.json["data"]) == 3
    assert "Next-Page" not in response.headers


def test_paginate_by_caps_the_limit(make_toy_app, alice):
    app = make_toy_app(paginate_by=2)
    for i in range(3):
        create(app, alice, id=f"c{i}")
    response = app.get("/v1/toys?_limit=10", headers=alice)
    assert len(response.json["data"]) == 2
    assert "_limit=2" in response.headers["Next-Page"]
    response = app.get("/v1/toys", headers=alice)
    assert len(response.json["data"]) == 2


def test_max_fetch_size_paginates_without_limit(make_toy_app, alice):
    app = make_toy_app(storage_max_fetch_size=2)
    for i in range(3):
        create(app, alice, id=f"f{i}")
    response = app.get("/v1/toys", headers=alice)
    assert len(response.json["data"]) == 2
    assert "Next-Page" in response.headers


def test_invalid_token_is_400(toy_app, alice):
    response = toy_app.get("/v1/toys?_token=abc", headers=alice, status=400)
    assert response.json["message"] == "querystring: _token has invalid content"


def test_get_tokens_are_reusable(toy_app, alice, three):
    next_page = toy_app.get("/v1/toys?_limit=1", headers=alice).headers["Next-Page"]
    first = toy_app.get(next_page, headers=alice).json
    assert toy_app.get(next_page, headers=alice).json == first


def test_tombstones_only_with_last_modified_filters(make_toy_app, alice):
    toy_app = make_toy_app(toy_read_principals="system.Authenticated")
    three = [create(toy_app, alice, id=f"t{i}") for i in (1, 2, 3)]
    before = three[-1]["last_modified"]
    toy_app.delete("/v1/toys/t2", headers=alice)
    data = toy_app.get("/v1/toys", headers=alice).json["data"]
    assert [obj["id"] for obj in data] == ["t3", "t1"]
    assert toy_app.get("/v1/toys?deleted=true", headers=alice).json["data"] == []
    data = toy_app.get(f"/v1/toys?_since={before}", headers=alice).json["data"]
    assert len(data) == 1
    assert data[0]["id"] == "t2" and data[0]["deleted"] is True
    assert set(data[0]) == {"id", "last_modified", "deleted"}
    data = toy_app.get(f'/v1/toys?_since="{before}"&deleted=true', headers=alice).json["data"]
    assert [obj["id"] for obj in data] == ["t2"]
    data = toy_app.get(f"/v1/toys?_before={before}", headers=alice).json["data"]
    assert [obj["id"] for obj in data] == ["t1"]


def test_to_is_deprecated_with_an_alert(toy_app, alice, three):
    response = toy_app.get(f"/v1/toys?_to={three[1]['last_modified']}", headers=alice)
    assert [obj["id"] for obj in response.json["data"]] == ["t1"]
    assert '"code":"soft-eol"' in response.headers["Alert"].replace(" ", "")


def test_head_returns_counts_without_body(toy_app, alice, three):
    toy_app.delete("/v1/toys/t1", headers=alice)
    response = toy_app.head("/v1/toys?_since=0&_limit=1", headers=alice)
    assert response.body == b""
    assert response.headers["Total-Objects"] == "2"
    assert response.headers["Total-Records"] == "2"
    assert "Next-Page" not in response.headers
    assert response.headers["ETag"]
    response = toy_app.head("/v1/toys?kind=odd", headers=alice)
    assert response.headers["Total-Objects"] == "1"
    response = toy_app.get("/v1/toys", headers=alice)
    assert "Total-Objects" not in response.headers


def test_list_preconditions(toy_app, alice, three):
    etag = toy_app.get("/v1/toys", headers=alice).headers["ETag"]
    response = toy_app.get("/v1/toys", headers={**alice, "If-None-Match": etag}, status=304)
    assert response.body == b""
    assert response.headers["ETag"] == etag
    assert "Cache-Control" not in response.headers
    toy_app.get("/v1/toys", headers={**alice, "If-None-Match": '"1"'}, status=200)
    toy_app.get("/v1/toys", headers={**alice, "If-Match": etag}, status=200)
    response = toy_app.get("/v1/toys", headers={**alice, "If-Match": '"1"'}, status=412)
    assert response.json["errno"] == 114
    assert "details" not in response.json
    assert response.headers["ETag"] == etag
    toy_app.get("/v1/toys", headers={**alice, "If-None-Match": "*"}, status=412)
    toy_app.get("/v1/toys", headers={**alice, "If-Match": "123"}, status=400)


def test_partial_access_lists_only_readable_objects(toy_app, alice, bob, three):
    etag = toy_app.get("/v1/toys", headers=alice).headers["ETag"]
    bob_id = toy_app.get("/v1/", headers=bob).json["user"]["id"]
    toy_app.patch_json("/v1/toys/t2", {"permissions": {"read": [bob_id]}}, headers=alice)
    etag = toy_app.get("/v1/toys", headers=alice).headers["ETag"]
    response = toy_app.get("/v1/toys", headers=bob)
    assert [obj["id"] for obj in response.json["data"]] == ["t2"]
    assert response.headers["ETag"] == etag
    assert toy_app.head("/v1/toys", headers=bob).headers["Total-Objects"] == "1"


def test_list_without_access_nor_creation_is_forbidden(make_toy_app, alice):
    app = make_toy_app(toy_create_principals="")
    response = app.get("/v1/toys", headers=alice, status=403)
    assert response.json["errno"] == 121
    response = app.get("/v1/toys", status=401)
    assert response.json["errno"] == 104
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_list_level_read_setting_shows_everything(make_toy_app, alice, bob):
    app = make_toy_app(toy_read_principals="system.Everyone")
    create(app, alice, id="x")
    assert len(app.get("/v1/toys").json["data"]) == 1


def test_read_events_carry_served_objects(toy_app, alice, three):
    toy_app.events.clear()
    toy_app.get("/v1/toys?_limit=2", headers=alice)
    (event,) = toy_app.events
    assert isinstance(event, events.ResourceRead)
    assert [obj["id"] for obj in event.read_objects] == ["t3", "t2"]


# Cache headers


def test_authenticated_lists_are_not_cacheable(make_toy_app, alice):
    app = make_toy_app(toy_cache_expires_seconds=30)
    response = app.get("/v1/toys", headers=alice)
    assert response.headers["Cache-Control"] == "no-cache, no-store"
    assert "Expires" not in response.headers


def test_anonymous_lists_use_cache_expires_setting(make_toy_app):
    app = make_toy_app(toy_cache_expires_seconds=30, toy_read_principals="system.Everyone")
    response = app.get("/v1/toys")
    assert response.headers["Cache-Control"] == "max-age=30"
    assert "Expires" in response.headers


def test_zero_cache_expires_forbids_caching(make_toy_app):
    app = make_toy_app(toy_cache_expires_seconds=0, toy_read_principals="system.Everyone")
    response = app.get("/v1/toys")
    assert response.headers["Cache-Control"] == "max-age=0, must-revalidate, no-cache, no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert "Expires" in response.headers


def test_anonymous_without_setting_is_not_cacheable(make_toy_app):
    app = make_toy_app(toy_read_principals="system.Everyone")
    assert app.get("/v1/toys").headers["Cache-Control"] == "no-cache, no-store"


# POST


def test_post_creates_with_generated_id_and_ownership(toy_app, alice):
    response = toy_app.post_json("/v1/toys", {"data": {"title": "a"}}, headers=alice, status=201)
    body = response.json
    assert len(body["data"]["id"]) == 8
    assert body["data"]["title"] == "a"
    user_id = toy_app.get("/v1/", headers=alice).json["user"]["id"]
    assert body["permissions"] == {"write": [user_id]}
    assert response.headers["ETag"] == f'"{body["data"]["last_modified"]}"'


def test_post_without_body_creates_an_empty_object(toy_app, alice):
    body = toy_app.post("/v1/toys", headers=alice, status=201).json
    assert set(body["data"]) == {"id", "last_modified"}


def test_post_with_permissions(toy_app, alice):
    body = toy_app.post_json(
        "/v1/toys",
        {"permissions": {"read": ["system.Everyone", "system.Everyone"]}},
        headers=alice,
    ).json
    assert body["permissions"]["read"] == ["system.Everyone"]


def test_post_with_unknown_permission_is_400(toy_app, alice):
    toy_app.post_json(
        "/v1/toys", {"permissions": {"record:create": ["a"]}}, headers=alice, status=400
    )
    toy_app.post_json("/v1/toys", {"permissions": {"read": "a"}}, headers=alice, status=400)


def test_post_existing_id_returns_it_unchanged(toy_app, alice, three):
    response = toy_app.post_json(
        "/v1/toys", {"data": {"id": "t1", "rank": 99}}, headers=alice, status=200
    )
    assert response.json["data"] == three[0]


def test_post_existing_id_requires_read(toy_app, alice, bob, three):
    toy_app.post_json("/v1/toys", {"data": {"id": "t1"}}, headers=bob, status=403)


def test_post_preconditions(toy_app, alice, three):
    response = toy_app.post_json(
        "/v1/toys", {"data": {"id": "t1"}}, headers={**alice, "If-None-Match": "*"}, status=412
    )
    assert response.json["details"]["existing"] == three[0]
    toy_app.post_json(
        "/v1/toys", {"data": {"id": "new"}}, headers={**alice, "If-None-Match": "*"}, status=201
    )
    for value in ('"123"', "*"):
        toy_app.post_json(
            "/v1/toys", {"data": {}}, headers={**alice, "If-Match": value}, status=412
        )
    etag = f'"{three[0]["last_modified"]}"'
    toy_app.post_json(
        "/v1/toys", {"data": {"id": "t1"}}, headers={**alice, "If-Match": etag}, status=200
    )
    toy_app.post_json(
        "/v1/toys", {"data": {"id": "t1"}}, headers={**alice, "If-Match": '"1"'}, status=412
    )


@pytest.mark.parametrize("object_id", ["a b", "-a", "é", 12, "a/b", ""])
def test_post_invalid_id_is_400(toy_app, alice, object_id):
    response = toy_app.post_json(
        "/v1/toys", {"data": {"id": object_id}}, headers=alice, status=400
    )
    assert response.json["errno"] == 107


def test_post_invalid_id_is_checked_before_authorization(toy_app):
    response = toy_app.post_json("/v1/toys", {"data": {"id": "a b"}}, status=400)
    assert response.json["message"] == "path: Invalid object id"
    assert response.json["details"] == [{"location": "path", "description": "Invalid object id"}]


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        "string",
        {"data": [1]},
        {"data": "a"},
        {"data": {}, "other": 1},
        {"permissions": []},
    ],
)
def test_post_invalid_envelopes_are_400(toy_app, alice, body):
    response = toy_app.post_json("/v1/toys", body, headers=alice, status=400)
    assert response.json["errno"] == 107
    assert response.json["error"] == "Invalid parameters"


def test_post_invalid_json_is_400(toy_app, alice):
    response = toy_app.post(
        "/v1/toys", "{bad", headers={**alice, "Content-Type": "application/json"}, status=400
    )
    assert response.json["message"].startswith("Invalid JSON")


def test_post_honours_integer_last_modified(toy_app, alice):
    data = create(toy_app, alice, id="r", last_modified=1234)
    assert data["last_modified"] == 1234
    data = create(toy_app, alice, id="s", last_modified="abc")
    assert data["last_modified"] > 1234


def test_post_without_explicit_permissions_adds_no_owner(make_toy_app, alice):
    app = make_toy_app(explicit_permissions=False, toy_read_principals="system.Authenticated")
    body = app.post_json("/v1/toys", {"data": {}}, headers=alice).json
    assert body["permissions"] == {}


def test_post_needs_create_permission(make_toy_app, alice):
    app = make_toy_app(toy_create_principals="")
    app.post_json("/v1/toys", {"data": {}}, headers=alice, status=403)
    app.post_json("/v1/toys", {"data": {}}, status=401)


def test_post_notifies_create(toy_app, alice):
    toy_app.events.clear()
    data = create(toy_app, alice, id="e")
    (event,) = toy_app.events
    assert isinstance(event, events.ResourceChanged)
    assert event.payload["action"] == "create"
    assert event.payload["resource_name"] == "toy"
    assert event.payload["timestamp"] == data["last_modified"]
    assert event.impacted_objects == [{"new": data}]


# DELETE


def test_delete_list_returns_tombstones(toy_app, alice, three):
    response = toy_app.delete("/v1/toys?kind=odd", headers=alice)
    data = response.json["data"]
    assert {obj["id"] for obj in data} == {"t1", "t3"}
    assert all(obj["deleted"] is True for obj in data)
    assert response.headers["ETag"] == f'"{max(obj["last_modified"] for obj in data)}"'
    remaining = toy_app.get("/v1/toys", headers=alice).json["data"]
    assert [obj["id"] for obj in remaining] == ["t2"]


def test_delete_nothing_returns_list_timestamp(toy_app, alice, three):
    etag = toy_app.get("/v1/toys", headers=alice).headers["ETag"]
    response = toy_app.delete("/v1/toys?kind=none", headers=alice)
    assert response.json == {"data": []}
    assert response.headers["ETag"] == etag


def test_delete_list_paginates_with_single_use_tokens(toy_app, alice, three):
    response = toy_app.delete("/v1/toys?_limit=2", headers=alice)
    assert len(response.json["data"]) == 2
    next_page = response.headers["Next-Page"]
    response = toy_app.delete(next_page, headers=alice)
    assert [obj["id"] for obj in response.json["data"]] == ["t1"]
    assert "Next-Page" not in response.headers
    response = toy_app.delete(next_page, headers=alice, status=400)
    assert response.json["message"] == "querystring: _token was already used or has expired."


def test_delete_list_rejects_get_tokens(toy_app, alice, three):
    next_page = toy_app.get("/v1/toys?_limit=1", headers=alice).headers["Next-Page"]
    toy_app.delete(next_page, headers=alice, status=400)


def test_delete_list_removes_acls(toy_app, alice, bob, three):
    bob_id = toy_app.get("/v1/", headers=bob).json["user"]["id"]
    toy_app.patch_json("/v1/toys/t1", {"permissions": {"read": [bob_id]}}, headers=alice)
    toy_app.delete("/v1/toys", headers=alice)
    create(toy_app, alice, id="t1")
    assert toy_app.get("/v1/toys", headers=bob).json["data"] == []


def test_delete_list_only_deletes_writable_objects(toy_app, alice, bob, three):
    create(toy_app, bob, id="b1")
    data = toy_app.delete("/v1/toys", headers=bob).json["data"]
    assert [obj["id"] for obj in data] == ["b1"]
    assert len(toy_app.get("/v1/toys", headers=alice).json["data"]) == 3


def test_delete_list_preconditions(toy_app, alice, three):
    toy_app.delete("/v1/toys", headers={**alice, "If-Match": '"1"'}, status=412)
    toy_app.delete("/v1/toys", headers={**alice, "If-None-Match": "*"}, status=412)
    etag = toy_app.get("/v1/toys", headers=alice).headers["ETag"]
    toy_app.delete("/v1/toys", headers={**alice, "If-None-Match": etag}, status=200)


def test_delete_list_notifies_old_and_new(toy_app, alice, three):
    toy_app.events.clear()
    toy_app.delete("/v1/toys?id=t1", headers=alice)
    (event,) = toy_app.events
    assert event.payload["action"] == "delete"
    (change,) = event.impacted_objects
    assert change["old"] == three[0]
    assert change["new"]["deleted"] is True


def test_delete_list_without_access_nor_creation(make_toy_app, alice):
    app = make_toy_app(toy_create_principals="")
    app.delete("/v1/toys", headers=alice, status=403)
    app.delete("/v1/toys", status=401)


class TestListReaders:
    """The guess of who may read a whole list, deciding what is read ahead."""

    def test_a_user_never_seen_may_read(self):
        assert ListReaders().may_read("alice", "/buckets/b/collections/c/records")

    def test_the_last_answer_is_remembered_per_user_and_list(self):
        readers = ListReaders()
        readers.remember("bob", "/l", False)
        assert not readers.may_read("bob", "/l")
        assert readers.may_read("bob", "/other")
        assert readers.may_read(None, "/l")
        readers.remember("bob", "/l", True)
        assert readers.may_read("bob", "/l")

    def test_everything_is_forgotten_when_full(self):
        readers = ListReaders(size=2)
        readers.remember("a", "/l", False)
        readers.remember("b", "/l", False)
        readers.remember("c", "/l", False)
        assert readers.may_read("a", "/l")
        assert not readers.may_read("c", "/l")

    def test_one_per_application(self):
        registry = type("Registry", (), {})()
        assert ListReaders.of(registry) is ListReaders.of(registry)
