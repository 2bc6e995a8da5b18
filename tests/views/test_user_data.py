"""``DELETE /__user_data__/{principal}`` (plugins.md §11)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import webtest
from pyramid.config import Configurator

import kinto
from kinto.core import utils
from kinto.core.events import ResourceChanged
from kinto.core.storage import ObjectNotFoundError
from tests.conftest import BASE_SETTINGS, basic_auth_headers

SECRET = BASE_SETTINGS["userid_hmac_secret"]
OPERATOR = basic_auth_headers("operator")
DOOMED = basic_auth_headers("doomed")
OPERATOR_ID = "basicauth:" + utils.hmac_digest(SECRET, "operator:secret")
DOOMED_ID = "basicauth:" + utils.hmac_digest(SECRET, "doomed:secret")
SETTINGS = {"user-data_delete_principals": OPERATOR_ID}


@pytest.fixture
def changes():
    return []


@pytest.fixture
def app(changes):
    config = Configurator(settings={**BASE_SETTINGS, **SETTINGS})
    config.add_subscriber(changes.append, ResourceChanged)
    return webtest.TestApp(kinto.main({}, config=config))


def put(app, path, headers, data=None, permissions=None):
    body = {"data": data or {}}
    if permissions is not None:
        body["permissions"] = permissions
    app.put_json(f"/v1{path}", body, headers=headers)


@pytest.fixture
def world(app, changes):
    """Objects of the doomed user, of the operator, and shared ones."""
    # The doomed user's bucket, with a collection of someone else in it.
    put(app, "/buckets/doomed", DOOMED, permissions={"write": [DOOMED_ID, OPERATOR_ID]})
    put(app, "/buckets/doomed/collections/own", DOOMED)
    put(app, "/buckets/doomed/collections/theirs", OPERATOR)
    put(app, "/buckets/doomed", DOOMED, permissions={"write": [DOOMED_ID]})
    # The operator's bucket, where the doomed user may write.
    put(app, "/buckets/safe", OPERATOR, permissions={"write": [DOOMED_ID]})
    put(app, "/buckets/safe/collections/theirs", DOOMED)
    put(app, "/buckets/safe/collections/kept", OPERATOR)
    put(app, "/buckets/safe/collections/kept/records/theirs", DOOMED)
    put(
        app,
        "/buckets/safe/collections/kept/records/kept",
        OPERATOR,
        permissions={"read": [DOOMED_ID]},
    )
    put(app, "/buckets/safe/groups/friends", OPERATOR, data={"members": [DOOMED_ID, "x"]})
    # Written by both.
    put(app, "/buckets/shared", DOOMED, permissions={"write": [DOOMED_ID, OPERATOR_ID]})
    changes.clear()


def exists(app, resource, parent, object_id):
    try:
        app.app.registry.storage.get(resource, parent, object_id)
    except ObjectNotFoundError:
        return False
    return True


def acl(app, uri):
    return app.app.registry.permission.get_object_permissions(uri)


def deletions(changes, resource_name):
    return [
        e
        for e in changes
        if e.payload["action"] == "delete" and e.payload["resource_name"] == resource_name
    ]


@pytest.fixture
def deleted(app, world):
    return app.delete(f"/v1/__user_data__/{DOOMED_ID}", headers=OPERATOR)


def test_answer_names_the_principal(deleted):
    assert deleted.status_code == 200
    assert deleted.json == {"data": {"principal": DOOMED_ID}}


def test_objects_written_only_by_the_principal_are_deleted_with_their_children(app, deleted):
    assert not exists(app, "bucket", "", "doomed")
    assert not exists(app, "collection", "/buckets/doomed", "own")
    assert not exists(app, "collection", "/buckets/doomed", "theirs")
    assert not exists(app, "collection", "/buckets/safe", "theirs")
    assert not exists(app, "record", "/buckets/safe/collections/kept", "theirs")
    assert acl(app, "/buckets/doomed") == {}
    assert acl(app, "/buckets/doomed/collections/theirs") == {}
    assert acl(app, "/buckets/safe/collections/theirs") == {}


def test_objects_of_others_stay_without_the_principal(app, deleted):
    assert exists(app, "bucket", "", "safe")
    assert exists(app, "collection", "/buckets/safe", "kept")
    assert exists(app, "record", "/buckets/safe/collections/kept", "kept")
    assert acl(app, "/buckets/safe") == {"write": {OPERATOR_ID}}
    assert acl(app, "/buckets/safe/collections/kept/records/kept") == {"write": {OPERATOR_ID}}


def test_shared_objects_stay_with_the_other_writers(app, deleted):
    assert exists(app, "bucket", "", "shared")
    assert acl(app, "/buckets/shared") == {"write": {OPERATOR_ID}}


def test_principal_leaves_its_groups(app, deleted):
    group = app.get("/v1/buckets/safe/groups/friends", headers=OPERATOR).json["data"]

    assert group["members"] == ["x"]
    assert app.app.registry.permission.get_user_principals(DOOMED_ID) == set()


def test_deleted_objects_emit_delete_events_but_not_their_children(changes, deleted):
    buckets = deletions(changes, "bucket")
    assert [[c["old"]["id"] for c in e.impacted_objects] for e in buckets] == [["doomed"]]
    collections = deletions(changes, "collection")
    assert len(collections) == 1
    assert collections[0].payload["bucket_id"] == "safe"
    assert [c["old"]["id"] for c in collections[0].impacted_objects] == ["theirs"]
    records = deletions(changes, "record")
    assert len(records) == 1
    assert records[0].payload["collection_id"] == "kept"
    assert [c["old"]["id"] for c in records[0].impacted_objects] == ["theirs"]


def test_group_membership_removal_emits_an_update_event(changes, deleted):
    updates = [e for e in changes if e.payload["action"] == "update"]

    assert len(updates) == 1
    event = updates[0]
    assert event.payload["resource_name"] == "group"
    assert event.payload["uri"] == "/buckets/safe/groups/friends"
    assert event.payload["group_id"] == "friends"
    (change,) = event.impacted_objects
    assert DOOMED_ID in change["old"]["members"]
    assert change["new"]["members"] == ["x"]


def test_deleting_twice_is_fine(app, deleted):
    resp = app.delete(f"/v1/__user_data__/{DOOMED_ID}", headers=OPERATOR)

    assert resp.json == {"data": {"principal": DOOMED_ID}}


def test_callers_outside_the_setting_are_refused(app, world):
    app.delete(f"/v1/__user_data__/{DOOMED_ID}", headers=DOOMED, status=403)
    app.delete(f"/v1/__user_data__/{DOOMED_ID}", status=401)

    assert exists(app, "bucket", "", "doomed")


def test_nobody_may_delete_user_data_by_default(make_app):
    app = make_app()

    app.delete(f"/v1/__user_data__/{DOOMED_ID}", headers=OPERATOR, status=403)


def test_group_principals_may_be_forgotten(app, world):
    group = "/buckets/safe/groups/friends"
    put(app, "/buckets/safe/collections/kept", OPERATOR, permissions={"read": [group]})

    resp = app.delete(f"/v1/__user_data__/{quote(group, safe='')}", headers=OPERATOR)

    assert resp.json["data"]["principal"] == group
    assert acl(app, "/buckets/safe/collections/kept") == {"write": {OPERATOR_ID}}


def test_accounts_of_the_principal_are_deleted(make_app, monkeypatch):
    from kinto.plugins.accounts import hashing

    monkeypatch.setattr(hashing, "ROUNDS", 4)
    app = make_app(
        includes="kinto.plugins.accounts",
        **{
            "multiauth.policies": "account basicauth",
            "multiauth.policy.account.use": "kinto.plugins.accounts.AccountsPolicy",
            "account_create_principals": "system.Everyone",
            **SETTINGS,
        },
    )
    app.put_json("/v1/accounts/bob", {"data": {"password": "pw"}})
    bob = basic_auth_headers("bob", "pw")
    app.put_json("/v1/buckets/bobs", {}, headers=bob)

    app.delete("/v1/__user_data__/account:bob", headers=OPERATOR)

    assert not exists(app, "account", "bob", "bob")
    assert not exists(app, "bucket", "", "bobs")
    assert app.get("/v1/", headers=bob).json["user"]["id"].startswith("basicauth:")


def test_dangling_acls_of_the_principal_are_removed(app):
    permission = app.app.registry.permission
    permission.add_principal_to_ace("/buckets/ghost", "write", DOOMED_ID)
    permission.add_principal_to_ace("/nowhere/at/all", "write", DOOMED_ID)

    app.delete(f"/v1/__user_data__/{DOOMED_ID}", headers=OPERATOR)

    assert acl(app, "/buckets/ghost") == {}
    assert acl(app, "/nowhere/at/all") == {}
