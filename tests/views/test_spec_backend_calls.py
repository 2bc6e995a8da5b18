"""Backend round trips per request on the hot paths (a performance budget).

Each test counts the storage and permission calls one request makes (the
real memory backends behind a counting proxy) and asserts an upper bound,
so that a redundant fetch shows up as a failure. One call of every
authenticated request is the principals lookup (the groups of the user and
of ``system.Authenticated``), made together with the first ACE read when
the request has one (``get_principals_and_permissions``).
"""

from __future__ import annotations

import pytest

from tests.views.conftest import RECORD, RECORDS


@pytest.fixture
def records(app, alice, collection):
    for i in range(20):
        app.put_json(f"{RECORDS}/r{i}", {"data": {"n": i}}, headers=alice)


def acl_reads(calls):
    """Reads of ACEs (alone, or with the caller's groups in the same call)."""
    return calls.count("permission.get_objects_permissions") + calls.count(
        "permission.get_principals_and_permissions"
    )


def measure(backend_calls, request, *args, **kwargs):
    backend_calls.clear()
    request(*args, **kwargs)
    # ``read_along`` and ``page_along`` only build a statement for another
    # call to carry.
    carried = ("storage.read_along", "storage.page_along")
    return [call for call in backend_calls if call not in carried]


def test_reading_a_record_fetches_it_once_and_not_its_collection(
    app, alice, record, backend_calls
):
    calls = measure(backend_calls, app.get, RECORD, headers=alice)
    # On SQL backends the record is read in the permission call's statement.
    assert calls.count("storage.get") <= 1, calls
    assert [call for call in calls if call.startswith("storage.")] in ([], ["storage.get"])
    assert len(calls) <= 2, calls


def test_reading_a_record_reads_the_acls_of_its_lineage_once(app, alice, record, backend_calls):
    """The authorization and the permissions shown come from one read of
    the ACEs of the record and of its parents."""
    calls = measure(backend_calls, app.get, RECORD, headers=alice)
    assert acl_reads(calls) == 1, calls
    assert "permission.check_permission" not in calls
    assert "permission.get_object_permissions" not in calls


def test_listing_a_page_of_records(app, alice, records, backend_calls):
    calls = measure(backend_calls, app.get, f"{RECORDS}?_limit=10", headers=alice)
    # One listing, as JSON text where the backend holds it so (else the
    # JSON listing answers None at once and the objects are listed), read
    # with the collection on backends that do both at once; on the SQL
    # backends, none: it travels with the permission call (page_along).
    listings = calls.count("storage.list_all_json") + calls.count("storage.get_with_list_page")
    assert listings <= 1, calls
    assert calls.count("storage.list_all") <= 1, calls
    assert len(calls) <= 5, calls


def test_counting_records(app, alice, records, backend_calls):
    calls = measure(backend_calls, app.head, RECORDS, headers=alice)
    assert "storage.list_all" not in calls
    assert len(calls) <= 5, calls


def test_listing_with_object_level_access(app, alice, bob, bob_id, records, backend_calls):
    app.patch_json(f"{RECORDS}/r3", {"permissions": {"read": [bob_id]}}, headers=alice)
    calls = measure(backend_calls, app.get, RECORDS, headers=bob)
    assert len(calls) <= 6, calls


def test_creating_a_record_does_not_read_back_its_permissions(
    app, alice, collection, backend_calls
):
    calls = measure(backend_calls, app.post_json, RECORDS, {"data": {"x": 1}}, headers=alice)
    assert "permission.get_object_permissions" not in calls
    assert len(calls) <= 5, calls


def test_creating_a_record_writes_its_acl_before_the_record(app, alice, collection, backend_calls):
    """A write of a list holds the list's lock until the transaction ends:
    the record comes last, its ACL (writer only) in one call before it."""
    calls = measure(backend_calls, app.post_json, RECORDS, {"data": {"x": 1}}, headers=alice)
    assert calls[-2:] == ["permission.add_principal_to_ace", "storage.create"], calls


def test_creating_a_record_with_put(app, alice, collection, backend_calls):
    calls = measure(backend_calls, app.put_json, f"{RECORDS}/new", {}, headers=alice)
    assert "permission.get_object_permissions" not in calls
    assert len(calls) <= 6, calls


def test_patching_a_record_with_if_match(app, alice, record, backend_calls):
    headers = {**alice, "If-Match": f'"{record["last_modified"]}"'}
    calls = measure(backend_calls, app.patch_json, RECORD, {"data": {"x": 2}}, headers=headers)
    assert calls.count("storage.get") == 1, calls
    assert acl_reads(calls) == 1, calls
    assert "permission.check_permission" not in calls
    assert len(calls) <= 4, calls


def test_json_patch_reads_the_acl_once(app, alice, bob_id, record, backend_calls):
    operations = f'[{{"op": "add", "path": "/permissions/read/{bob_id}"}}]'
    headers = {**alice, "Content-Type": "application/json-patch+json"}
    calls = measure(backend_calls, app.patch, RECORD, operations, headers=headers)
    assert acl_reads(calls) == 1, calls
    assert calls[-1] == "storage.update", calls
    assert len(calls) <= 5, calls


def test_replacing_a_record_with_put(app, alice, record, backend_calls):
    calls = measure(backend_calls, app.put_json, RECORD, {"data": {"x": 3}}, headers=alice)
    assert calls.count("storage.get") == 1, calls
    assert len(calls) <= 5, calls


def test_deleting_a_record(app, alice, record, backend_calls):
    calls = measure(backend_calls, app.delete, RECORD, headers=alice)
    assert calls.count("storage.get") == 1, calls
    assert len(calls) <= 5, calls
