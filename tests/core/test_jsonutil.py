"""The project's JSON codec."""

import pytest

from kinto.core import jsonutil


def test_round_trips_integers_beyond_64_bits_exactly():
    raw = b'{"a": 99999999999999999999999, "b": [-123456789012345678901234]}'
    value = jsonutil.loads(raw)
    assert value == {"a": 99999999999999999999999, "b": [-123456789012345678901234]}
    assert jsonutil.loads(jsonutil.dumps(value)) == value


def test_long_digit_strings_do_not_change_the_result():
    assert jsonutil.loads(b'{"phone": "123456789012345678901"}') == {
        "phone": "123456789012345678901"
    }


def test_slashes_are_not_escaped():
    assert jsonutil.dumps({"uri": "/buckets/a"}) == b'{"uri":"/buckets/a"}'


def test_invalid_json_raises_value_error():
    with pytest.raises(ValueError):
        jsonutil.loads(b"{nope")


def test_unserialisable_values_still_raise():
    with pytest.raises(TypeError):
        jsonutil.dumps({"a": object()})


def test_big_integer_is_stored_and_returned_exactly(app, auth_headers):
    headers = {**auth_headers("alice"), "Content-Type": "application/json"}
    app.put("/v1/buckets/b", "{}", headers=headers)
    app.put("/v1/buckets/b/collections/c", "{}", headers=headers)
    body = '{"data": {"n": 99999999999999999999999}}'
    app.put("/v1/buckets/b/collections/c/records/r", body, headers=headers)
    response = app.get("/v1/buckets/b/collections/c/records/r", headers=headers)
    assert b'"n":99999999999999999999999' in response.body


def test_documents_nested_deeper_than_the_limit_are_refused():
    deep = b"[" * (jsonutil.MAX_DEPTH + 1) + b"]" * (jsonutil.MAX_DEPTH + 1)
    with pytest.raises(ValueError, match="nested deeper"):
        jsonutil.loads_document(deep)


def test_documents_at_the_depth_limit_are_accepted():
    deep = b"[" * jsonutil.MAX_DEPTH + b"]" * jsonutil.MAX_DEPTH
    assert jsonutil.loads_document(deep) is not None


def test_many_brackets_side_by_side_are_not_depth():
    flat = b"[" + b",".join([b"[]"] * 500) + b"]"
    assert len(jsonutil.loads_document(flat)) == 500
