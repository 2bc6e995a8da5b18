"""Conformance to ``errors.md``: the error envelope, the errno of each
condition, the validation error format and the ``Retry-After``/``Backoff``/
``Alert`` headers, checked through Kinto's resources."""

from __future__ import annotations

import datetime
import json

import pytest

from tests.views.conftest import BUCKET, COLLECTION, RECORD, RECORDS


def assert_envelope(body, code, errno, error):
    assert body["code"] == code
    assert body["errno"] == errno
    assert body["error"] == error
    assert set(body) <= {"code", "errno", "error", "message", "details", "info"}


# §1 Envelope


def test_not_found_object_has_details_and_no_message(app, alice, collection):
    body = app.get(f"{RECORDS}/nope", headers=alice, status=404).json
    assert body == {
        "code": 404,
        "errno": 110,
        "error": "Not Found",
        "details": {"id": "nope", "resource_name": "record"},
    }


def test_errors_are_json(app, collection):
    response = app.get(RECORDS, status=401)
    assert response.content_type == "application/json"


# §4 Condition -> status/errno


def test_anonymous_denied_is_401_errno_104_with_a_challenge(app, collection):
    response = app.get(RECORDS, status=401)
    assert_envelope(response.json, 401, 104, "Unauthorized")
    assert response.json["message"] == "Please authenticate yourself to use this endpoint."
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Realm"'


def test_authenticated_denied_is_403_errno_121(app, bob, collection):
    body = app.get(RECORDS, headers=bob, status=403).json
    assert_envelope(body, 403, 121, "Forbidden")
    assert body["message"] == "This user cannot access this resource."


def test_missing_parent_collection_is_404_errno_111(app, alice, bucket):
    body = app.get(RECORDS, headers=alice, status=404).json
    assert_envelope(body, 404, 111, "Not Found")
    assert body["details"] == {"id": "c", "resource_name": "collection"}


def test_unknown_url_is_404_errno_111(app):
    body = app.get("/v1/nowhere", status=404).json
    assert_envelope(body, 404, 111, "Not Found")
    assert body["message"] == "The resource you are looking for could not be found."


def test_method_not_allowed_is_405_errno_115(app, alice, collection):
    response = app.put_json(RECORDS, {}, headers=alice, status=405)
    assert_envelope(response.json, 405, 115, "Method Not Allowed")
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET", "POST", "DELETE"}


def test_precondition_failed_is_412_errno_114(app, alice, record):
    body = app.get(RECORD, headers={**alice, "If-Match": '"1"'}, status=412).json
    assert_envelope(body, 412, 114, "Precondition Failed")


def test_not_acceptable_and_unsupported_media_type_are_validation_errors(app, alice, record):
    body = app.get(RECORD, headers={**alice, "Accept": "text/html"}, status=406).json
    assert_envelope(body, 406, 107, "Invalid parameters")
    body = app.request(
        RECORD, method="PUT", body=b"{}", headers={**alice, "Content-Type": "text/xml"}, status=415
    ).json
    assert_envelope(body, 415, 107, "Invalid parameters")


def test_integrity_conflict_is_409_errno_122_with_retry_after(app, alice, collection):
    taken = app.put_json(f"{RECORDS}/a", {}, headers=alice).json["data"]["last_modified"]
    app.put_json(f"{RECORDS}/b", {}, headers=alice)
    response = app.put_json(
        f"{RECORDS}/c", {"data": {"last_modified": taken}}, headers=alice, status=409
    )
    assert_envelope(response.json, 409, 122, "Conflict")
    assert response.json["message"] == "Integrity constraint violated, please retry."
    assert response.headers["Retry-After"] == "3"


def test_backend_unavailable_is_503_errno_201_with_retry_after(make_app, alice):
    # A read-only instance cannot initialise the timestamp of a new list.
    app = make_app(readonly=True)
    response = app.get("/v1/buckets", headers=alice, status=503)
    assert_envelope(response.json, 503, 201, "Service Unavailable")
    assert response.headers["Retry-After"] == "3"


def test_retry_after_follows_its_setting(make_app, alice):
    response = make_app(readonly=True, retry_after_seconds=7).get(
        "/v1/buckets", headers=alice, status=503
    )
    assert response.headers["Retry-After"] == "7"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 412])
def test_client_errors_have_no_retry_after(app, alice, record, status):
    requests = {
        400: lambda: app.get(f"{RECORDS}?_limit=x", headers=alice, status=400),
        401: lambda: app.get(RECORDS, status=401),
        403: lambda: app.get(RECORDS, headers={"Authorization": "Basic Ym9iOng="}, status=403),
        404: lambda: app.get(f"{RECORDS}/nope", headers=alice, status=404),
        412: lambda: app.get(RECORD, headers={**alice, "If-Match": '"1"'}, status=412),
    }
    assert "Retry-After" not in requests[status]().headers


def test_end_of_service_passed_is_410_errno_202_with_hard_eol(make_app, alice):
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    response = make_app(eos=yesterday).get(BUCKET, headers=alice, status=410)
    assert_envelope(response.json, 410, 202, "Gone")
    assert json.loads(response.headers["Alert"])["code"] == "hard-eol"


def test_end_of_service_ahead_sends_a_soft_eol_alert(make_app, alice):
    tomorrow = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
    app = make_app(eos=tomorrow, eos_message="Bye", eos_url="http://eos")
    response = app.put_json(BUCKET, {}, headers=alice)
    assert json.loads(response.headers["Alert"]) == {
        "code": "soft-eol",
        "message": "Bye",
        "url": "http://eos",
    }


# §3 Validation error format


def test_validation_message_is_name_in_location_description(app, alice, bucket):
    body = app.put_json(
        COLLECTION, {"data": {"cache_expires": "x"}}, headers=alice, status=400
    ).json
    assert body["message"] == "data.cache_expires in body: cache_expires should be an integer"
    assert body["details"] == [
        {
            "location": "body",
            "name": "data.cache_expires",
            "description": "cache_expires should be an integer",
        }
    ]


def test_validation_message_is_the_description_when_it_names_the_field(app, alice, collection):
    body = app.get(f"{RECORDS}?_since=x", headers=alice, status=400).json
    assert body["message"] == "Invalid value for _since"


def test_validation_message_without_name_has_the_location(app, alice, collection):
    body = app.get(f"{RECORDS}?_token=x", headers=alice, status=400).json
    assert body["message"] == "querystring: _token has invalid content"
    assert body["details"][0]["name"] is None


# §5 Backoff


def test_backoff_is_on_every_response(make_app, alice):
    app = make_app(backoff=10)
    created = app.put_json(BUCKET, {}, headers=alice)
    assert created.headers["Backoff"] == "10"
    etag = created.headers["ETag"]
    assert (
        app.get(BUCKET, headers={**alice, "If-None-Match": etag}, status=304).headers["Backoff"]
        == "10"
    )
    assert app.get(f"{BUCKET}/nope", status=404).headers["Backoff"] == "10"
