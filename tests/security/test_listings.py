"""``/permissions``, history and snapshots only show what the caller may
see; the default bucket of a user is out of reach of every other user."""

from __future__ import annotations

import base64

import pytest

from kinto.core import jsonutil
from kinto.plugins.default_bucket.ids import default_bucket_id
from tests.security.conftest import PRIVATE, create_private_bucket


def user_id(app, headers) -> str:
    return app.get("/v1/", headers=headers).json["user"]["id"]


# /permissions ------------------------------------------------------------------------


@pytest.fixture
def permissions_app(make_app, alice, mallory):
    app = make_app(experimental_permissions_endpoint="true")
    create_private_bucket(app, alice)
    app.put_json("/v1/buckets/mallory", {}, headers=mallory)
    return app


def test_permissions_lists_only_the_callers_entries(permissions_app, mallory):
    entries = permissions_app.get("/v1/permissions", headers=mallory).json["data"]
    assert [e["uri"] for e in entries if e["uri"] != "/"] == ["/buckets/mallory"]


def test_permissions_lists_nothing_of_others_to_anonymous(permissions_app):
    entries = permissions_app.get("/v1/permissions").json["data"]
    assert entries == []


@pytest.mark.parametrize(
    "query",
    [
        "uri=/buckets/private",
        "in_resource_name=bucket,collection,record",
        "_sort=bucket_id,uri",
        "has_record_id=true",
    ],
)
def test_permissions_filters_do_not_reach_others_entries(permissions_app, mallory, query):
    entries = permissions_app.get(f"/v1/permissions?{query}", headers=mallory).json["data"]
    assert all("private" not in e["uri"] for e in entries)


@pytest.mark.parametrize(
    "last_object",
    [{}, {"uri": "~"}, {"uri": {"a": 1}}, {"uri": [1]}, {"uri": None}, {"bucket_id": 3}],
)
def test_permissions_crafted_token_reveals_nothing_nor_fails(
    permissions_app, mallory, last_object
):
    raw = jsonutil.dumps({"last_object": last_object, "offset": 0})
    token = base64.b64encode(raw).decode("ascii")
    response = permissions_app.get(
        "/v1/permissions", params={"_token": token}, headers=mallory, status="*"
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert all("private" not in e["uri"] for e in response.json["data"])


def test_permissions_endpoint_refuses_writes(permissions_app, mallory):
    for method in ("post_json", "put_json", "patch_json", "delete"):
        response = getattr(permissions_app, method)("/v1/permissions", headers=mallory, status="*")
        assert response.status_code == 405


def test_permissions_read_principals_restricts_the_endpoint(make_app, mallory):
    app = make_app(experimental_permissions_endpoint="true", permissions_read_principals="nobody")
    app.get("/v1/permissions", headers=mallory, status=403)
    app.get("/v1/permissions", status=401)


# History and snapshots ---------------------------------------------------------------


@pytest.fixture
def history_app(make_app, alice, mallory):
    app = make_app(includes="kinto.plugins.history")
    create_private_bucket(app, alice)
    app.put_json(
        "/v1/buckets/shared",
        {"permissions": {"collection:create": ["system.Authenticated"]}},
        headers=alice,
    )
    app.put_json("/v1/buckets/shared/collections/secret", {}, headers=alice)
    app.put_json(
        "/v1/buckets/shared/collections/secret/records/s", {"data": {"pin": 1234}}, headers=alice
    )
    app.put_json("/v1/buckets/shared/collections/mine", {}, headers=mallory)
    return app


def test_history_of_a_private_bucket_is_forbidden(history_app, mallory):
    history_app.get(f"{PRIVATE}/history", headers=mallory, status=403)
    history_app.get(f"{PRIVATE}/history", status=401)


def test_history_lists_only_entries_the_caller_may_read(history_app, mallory):
    entries = history_app.get("/v1/buckets/shared/history", headers=mallory).json["data"]
    uris = {e["uri"] for e in entries}
    assert uris == {"/buckets/shared/collections/mine"}


@pytest.mark.parametrize(
    "query",
    [
        "collection_id=secret",
        "target.data.pin=1234",
        "has_target.data.pin=true",
        "_since=0",
        "resource_name=record",
        "_sort=target.data.pin",
    ],
)
def test_history_filters_never_widen_the_listing(history_app, mallory, query):
    entries = history_app.get(f"/v1/buckets/shared/history?{query}", headers=mallory).json["data"]
    assert all("secret" not in e["uri"] for e in entries)


def test_history_cannot_be_deleted_without_bucket_write(history_app, alice, mallory):
    history_app.delete("/v1/buckets/shared/history", headers=mallory, status="*")
    entries = history_app.get("/v1/buckets/shared/history", headers=alice).json["data"]
    assert any("secret" in e["uri"] for e in entries)


def test_history_is_not_listed_in_permissions(make_app, alice):
    app = make_app(includes="kinto.plugins.history", experimental_permissions_endpoint="true")
    create_private_bucket(app, alice)
    entries = app.get("/v1/permissions", headers=alice).json["data"]
    assert all(e["resource_name"] != "history" for e in entries)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/buckets/private/snapshot/collections/c@9999999999999",
        "/v1/buckets/shared/snapshot/collections/secret@9999999999999",
    ],
)
def test_snapshot_needs_read_on_the_bucket_or_collection(history_app, mallory, path):
    history_app.get(path, headers=mallory, status=403)
    history_app.get(path, status=401)


def test_snapshot_of_a_collection_one_may_create_records_in_is_forbidden(
    history_app, alice, mallory
):
    history_app.patch_json(
        "/v1/buckets/shared/collections/secret",
        {"permissions": {"record:create": ["system.Authenticated"]}},
        headers=alice,
    )
    path = "/v1/buckets/shared/snapshot/collections/secret@9999999999999"
    history_app.get(path, headers=mallory, status=403)


@pytest.mark.parametrize("stamp", ["-1", "1e3", "%00", "abc", "%D9%A3"])
def test_snapshot_bad_timestamps_are_client_errors(history_app, alice, stamp):
    path = f"/v1/buckets/private/snapshot/collections/c@{stamp}"
    history_app.get(path, headers=alice, status=400)


def test_snapshot_huge_timestamp_is_not_a_server_error(history_app, alice):
    path = "/v1/buckets/private/snapshot/collections/c@" + "9" * 30
    response = history_app.get(path, headers=alice, status="*")
    assert response.status_code < 500


# Default bucket ----------------------------------------------------------------------


@pytest.fixture
def default_bucket_app(make_app):
    return make_app(includes="kinto.plugins.default_bucket")


def test_default_bucket_of_each_user_is_their_own(default_bucket_app, alice, mallory):
    app = default_bucket_app
    app.put_json("/v1/buckets/default/collections/c/records/r", {"data": {"x": 1}}, headers=alice)
    alice_bucket = app.get("/v1/buckets/default", headers=alice).json["data"]["id"]
    mallory_bucket = app.get("/v1/buckets/default", headers=mallory).json["data"]["id"]
    assert alice_bucket != mallory_bucket
    app.get("/v1/buckets/default/collections/c/records/r", headers=mallory, status=404)
    app.get(f"/v1/buckets/{alice_bucket}/collections/c/records/r", headers=mallory, status=403)


@pytest.mark.parametrize(
    "subpath",
    [
        "/../{bid}/collections/c/records/r",
        "/..%2F{bid}/collections/c/records/r",
        "%2F..%2F{bid}/collections/c/records/r",
        "/collections/../../{bid}/collections/c/records/r",
    ],
)
def test_default_bucket_path_tricks_do_not_reach_another_bucket(
    default_bucket_app, alice, mallory, subpath
):
    app = default_bucket_app
    app.put_json("/v1/buckets/default/collections/c/records/r", {"data": {"x": 1}}, headers=alice)
    alice_bucket = app.get("/v1/buckets/default", headers=alice).json["data"]["id"]
    path = "/v1/buckets/default" + subpath.format(bid=alice_bucket)
    response = app.get(path, headers=mallory, status="*")
    assert response.status_code != 200
    assert response.status_code < 500


def test_default_bucket_id_depends_on_the_secret(make_app, alice):
    app = make_app(
        includes="kinto.plugins.default_bucket", default_bucket_hmac_secret="a real secret"
    )
    alice_id = user_id(app, alice)
    bucket_id = app.get("/v1/buckets/default", headers=alice).json["data"]["id"]
    assert bucket_id == default_bucket_id("a real secret", alice_id)
    assert bucket_id != default_bucket_id("", alice_id)


def test_default_bucket_is_refused_to_anonymous(default_bucket_app):
    default_bucket_app.get("/v1/buckets/default", status=401)
    default_bucket_app.get("/v1/buckets/default/collections/c/records", status=401)
