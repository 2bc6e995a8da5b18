import pytest
from pyramid import httpexceptions

from kinto.core import jsonutil
from kinto.core.resource import schema

PERMISSIONS = ("read", "write")


def error_of(body, **kwargs):
    with pytest.raises(httpexceptions.HTTPBadRequest) as excinfo:
        schema.parse_envelope(body, PERMISSIONS, **kwargs)
    return jsonutil.loads(excinfo.value.body)


def test_envelope_parts_are_optional():
    assert schema.parse_envelope({}, PERMISSIONS) == schema.Envelope(None, None)


def test_envelope_is_validated():
    data = {"a": 1}
    envelope = schema.parse_envelope(
        {"data": data, "permissions": {"read": ["x", "y", "x"]}}, PERMISSIONS
    )
    assert envelope.data == data
    assert envelope.permissions == {"read": ["x", "y"]}


@pytest.mark.parametrize("body", [[], "a", 1, None])
def test_body_must_be_an_object(body):
    assert error_of(body)["errno"] == 107


def test_unknown_keys_are_rejected():
    assert error_of({"data": {}, "extra": 1})["details"][0]["name"] == "extra"


def test_data_must_be_an_object():
    body = error_of({"data": [1]})
    assert "data" in body["message"]


def test_unknown_permission_names_are_rejected():
    body = error_of({"permissions": {"record:create": []}})
    assert body["details"][0]["name"] == "permissions.record:create"


def test_principals_must_be_strings():
    assert error_of({"permissions": {"read": [1]}})["details"][0]["name"] == "permissions.read"
    assert error_of({"permissions": {"read": "x"}})["details"][0]["name"] == "permissions.read"
    assert error_of({"permissions": []})["details"][0]["name"] == "permissions"


def test_null_permissions_only_when_nullable():
    error_of({"permissions": {"read": None}})
    envelope = schema.parse_envelope({"permissions": {"read": None}}, PERMISSIONS, nullable=True)
    assert envelope.permissions == {"read": None}


@pytest.mark.parametrize("value", ["1", 1.5, True, None, -1, 2**63])
def test_invalid_client_timestamps_are_dropped(value):
    assert schema.clean_last_modified({"id": "a", "last_modified": value}) == {"id": "a"}


def test_integer_client_timestamps_are_kept():
    data = {"last_modified": 123}
    assert schema.clean_last_modified(data) is data
